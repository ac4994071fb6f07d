#!/usr/bin/env python3
"""Issue 32's LayerPipe2 table: one markdown row per (stages, policy) group of a `lpsim sweep`
over configs/layerpipe2_resnet18_grid.json, from DIR/sweep.json: the seeds it is over, the
final test accuracy, the last epoch's train accuracy (measured in the pipeline: the stale
forward weights and batch statistics), the last epoch's train loss and the final test loss as
mean ± sd (n-1) across the seeds, and the hardware's figures per minibatch (cycles, energy, the weight versions'
memory = stash + EMA, the whole memory peak). The hardware figures do not depend on the seed;
the script checks that they are the same in every seed of a group rather than averaging them.

A second table pairs each pipelined policy with `stash` at the same stages, seed by seed (the
same seed gives the same initial weights and minibatch order, so the difference of the pair
cancels what the seed alone does): the mean ± sd of the test-accuracy differences, the paired
t statistic and its two-sided p (Student's t with n-1 degrees of freedom).

Usage: scripts/layerpipe2_table.py DIR"""

import json
import math
import os
import statistics
import sys


def stages_name(stages):
    if stages == "per_layer":
        return "per layer"
    return f"{len(stages)}: {stages}"


def mean_sd(figure, scale=1.0, digits=2, unit=""):
    if figure["count"] == 0:
        return "n/a"
    text = f"{scale * figure['mean']:.{digits}f}"
    if figure["sd"] is not None:
        text += f" ± {scale * figure['sd']:.{digits}f}"
    return text + unit


def figure_of(values):
    """A figure as sweep.json's groups give it (count, mean, sample sd), of values read from
    the points' reports."""
    return {"count": len(values), "mean": statistics.mean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None}


def train_accuracy(directory, point):
    report = json.load(open(os.path.join(directory, "points", point["hash"], "report.json")))
    return report["training"]["epochs"][-1]["train_accuracy"]


def one_value(points, key):
    """The figure `key` of a group's complete points, which must be the same in each seed."""
    values = {json.dumps(key(p["summary"])) for p in points}
    if len(values) != 1:
        sys.exit(f"layerpipe2_table: the seeds of a group differ in a hardware figure: {values}")
    return key(points[0]["summary"])


def two_sided_p(t, dof):
    """P(|T| >= |t|) for Student's t with `dof` degrees of freedom (Simpson's rule on the
    density from 0 to |t|)."""
    c = math.gamma((dof + 1) / 2) / (math.sqrt(dof * math.pi) * math.gamma(dof / 2))
    density = lambda x: c * (1 + x * x / dof) ** (-(dof + 1) / 2)  # noqa: E731
    steps, top = 2000, abs(t)
    h = top / steps
    area = density(0) + density(top)
    area += sum((4 if k % 2 else 2) * density(k * h) for k in range(1, steps))
    return max(0.0, 1 - 2 * area * h / 3)


def accuracy_by_seed(sweep, group):
    return {sweep["points"][i]["values"]["/run/seed"]: sweep["points"][i]["final_test_accuracy"]
            for i in group["points"] if sweep["points"][i]["status"] == "ok"}


def paired_table(sweep):
    print()
    print("| stages | policy | seeds | test accuracy − `stash` (points) | paired t | p |")
    print("|---|---|---|---|---|---|")
    by_key = {(json.dumps(g["values"]["/pipeline/stages"]), g["values"]["/pipeline/policy"]): g
              for g in sweep["groups"]}
    for (stages, policy), group in by_key.items():
        base = by_key.get((stages, "stash"))
        if policy == "stash" or base is None:
            continue
        mine, theirs = accuracy_by_seed(sweep, group), accuracy_by_seed(sweep, base)
        seeds = sorted(set(mine) & set(theirs))
        head = f"| {stages_name(json.loads(stages))} | `{policy}` | {len(seeds)} | "
        if len(seeds) < 2:
            print(head + "n/a | | |")
            continue
        diffs = [100 * (mine[k] - theirs[k]) for k in seeds]
        mean, sd = statistics.mean(diffs), statistics.stdev(diffs)
        t = mean / (sd / math.sqrt(len(diffs))) if sd > 0 else math.inf
        p = two_sided_p(t, len(diffs) - 1) if math.isfinite(t) else 0.0
        print(head + f"{mean:+.2f} ± {sd:.2f} | {t:.2f} | {p:.2f} |")


def main(directory):
    sweep = json.load(open(os.path.join(directory, "sweep.json")))
    print("| stages | policy | seeds | test accuracy (%) | train accuracy (%, last epoch) | "
          "train loss (last epoch) | test loss | cycles / minibatch | energy / minibatch (mJ) | "
          "weight versions (MB) | memory peak (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for group in sweep["groups"]:
        values, figures = group["values"], group["figures"]
        done = [sweep["points"][i] for i in group["points"] if sweep["points"][i]["status"] == "ok"]
        head = f"| {stages_name(values['/pipeline/stages'])} | `{values['/pipeline/policy']}` | "
        if not done:
            print(head + "0 | not run | | | | | | | |")
            continue
        seeds = ", ".join(str(s) for s in group["seeds"])
        peak = lambda s: s["memory_peak_bytes"]  # noqa: E731
        versions = one_value(done, lambda s: peak(s)["stash"] + peak(s)["ema"])
        print(head + f"{group['n']} ({seeds}) | "
              f"{mean_sd(figures['final_test_accuracy'], 100)} | "
              f"{mean_sd(figure_of([train_accuracy(directory, p) for p in done]), 100)} | "
              f"{mean_sd(figures['final_train_loss'], digits=3)} | "
              f"{mean_sd(figures['final_test_loss'], digits=3)} | "
              f"{one_value(done, lambda s: s['cycles_per_minibatch']):,.0f} | "
              f"{one_value(done, lambda s: s['energy_per_minibatch_pj']) / 1e9:,.1f} | "
              f"{versions / 1e6:,.1f} | "
              f"{one_value(done, lambda s: peak(s)['total']) / 1e6:,.0f} |")
    paired_table(sweep)


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Issue 32's LayerPipe2 table: one markdown row per (stages, policy) group of a `lpsim sweep`
over configs/layerpipe2_resnet18_grid.json, from DIR/sweep.json: the seeds it is over, the
final test accuracy, the last epoch's train accuracy (measured in the pipeline: the stale
forward weights and batch statistics), the last epoch's train loss and the final test loss as
mean ± sd (n-1) across the seeds, and the hardware's figures per minibatch (cycles, energy, the weight versions'
memory = stash + EMA, the whole memory peak). The hardware figures do not depend on the seed;
the script checks that they are the same in every seed of a group rather than averaging them.

Usage: scripts/layerpipe2_table.py DIR"""

import json
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


if __name__ == "__main__":
    main(sys.argv[1])

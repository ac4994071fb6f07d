#!/usr/bin/python3
"""Cycles and energy per minibatch against SRAM capacity, one line per (model, policy).

    capacity_plot.py DIR --out FILE.png

DIR holds run directories with report.json and config.json (bench/sram_capacity_sweep.sh
writes them); the capacity is the config's hw.sram.capacity_bytes. Needs python3-matplotlib.
"""
import argparse
import collections
import json
import pathlib
import sys


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    series = collections.defaultdict(list)
    for path in sorted(pathlib.Path(args.dir).glob("*/report.json")):
        report = json.loads(path.read_text())
        config = json.loads((path.parent / "config.json").read_text())
        summary = report["summary"]
        if summary.get("energy_per_minibatch_pj") is None:
            continue
        key = (report["network"]["name"], report["policy"])
        series[key].append((config["hw"]["sram"]["capacity_bytes"] / 2**20,
                            summary["cycles_per_minibatch"], summary["energy_per_minibatch_pj"] / 1e6))
    if not series:
        print(f"capacity_plot: no hardware report under {args.dir}", file=sys.stderr)
        return 2
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = sorted({m for m, _ in series})
    fig, axes = plt.subplots(len(models), 2, figsize=(10, 3.6 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        for (m, policy), points in sorted(series.items()):
            if m != model:
                continue
            points.sort()
            x = [p[0] for p in points]
            axes[row][0].plot(x, [p[1] for p in points], marker="o", label=policy)
            axes[row][1].plot(x, [p[2] for p in points], marker="o", label=policy)
        for col, label in enumerate(["cycles per minibatch", "energy per minibatch (uJ)"]):
            ax = axes[row][col]
            ax.set_xscale("log", base=2)
            ax.set_xlabel("SRAM per PE (MiB)")
            ax.set_ylabel(label)
            ax.set_title(model, fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"capacity_plot: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Issue 33's ResNet-18 accuracy row per format: the points of a `lpsim sweep` over
configs/formats_resnet18_grid.json (base configs/layerpipe2_resnet18.json: 4 stages, stash,
seed 1), one markdown row each: formats, final test accuracy, the last epoch's train loss,
cycles, energy and memory peak per minibatch.

Usage: scripts/formats_resnet18_table.py DIR"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formats_table import recipe  # noqa: E402  (one naming of a recipe, shared)

GRID = os.path.join(os.path.dirname(__file__), "..", "configs", "formats_resnet18_grid.json")


def main(directory):
    sweep = json.load(open(os.path.join(directory, "sweep.json")))
    wanted = [p["/hw/numerics"] for p in json.load(open(GRID))["points"]]
    print("| formats | seeds | test accuracy | train loss (last epoch) | cycles / minibatch | "
          "energy / minibatch (mJ) | memory peak (MB) |")
    print("|---|---|---|---|---|---|---|")
    for numerics in wanted:
        point = next((p for p in sweep["points"] if p["values"].get("/hw/numerics") == numerics),
                     None)
        if point is None or point["status"] != "ok":
            print(f"| {recipe(json.dumps(numerics))} | 0 | not run | | | | |")
            continue
        report = json.load(open(os.path.join(directory, "points", point["hash"], "report.json")))
        s, t = report["summary"], report["training"]
        print(f"| {recipe(json.dumps(numerics))} | 1 | {100 * t['final_test_accuracy']:.2f}% | "
              f"{t['epochs'][-1]['train_loss']:.3f} | {s['cycles_per_minibatch']:,.0f} | "
              f"{s['energy_per_minibatch_pj'] / 1e9:,.1f} | "
              f"{s['memory_peak_bytes']['total'] / 1e6:,.0f} |")


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Issue 33's accuracy table: a markdown row per (format recipe, policy) group of a
`lpsim sweep` over configs/formats_grid.json, from DIR/sweep_groups.csv: the recipe (the
hw.numerics classes that are not fp32), the policy, the test accuracy mean ± sd over the seeds,
the memory peak and the energy per minibatch (the same for every seed).

Usage: scripts/formats_table.py DIR"""

import csv
import json
import sys


def recipe(numerics):
    formats = json.loads(numerics.replace(";", ","))
    narrow = {k: v for k, v in formats.items() if v != "fp32" and k != "rounding"}
    if not narrow:
        return "fp32"
    groups = {}
    for k, v in narrow.items():
        groups.setdefault(v, []).append(k)
    return "; ".join(f"{v}: {', '.join(sorted(ks))}" for v, ks in groups.items())


def main(directory):
    print("| formats | policy | seeds | test accuracy | memory peak (MB) | energy / minibatch (µJ) |")
    print("|---|---|---|---|---|---|")
    with open(directory + "/sweep_groups.csv") as f:
        for row in csv.DictReader(f):
            acc = float(row["final_test_accuracy_mean"]) * 100
            sd = float(row["final_test_accuracy_sd"]) * 100
            print(f"| {recipe(row['/hw/numerics'])} | `{row['/pipeline/policy']}` | {row['n']} | "
                  f"{acc:.2f} ± {sd:.2f}% | {float(row['memory_total_bytes_mean']) / 1e6:.2f} | "
                  f"{float(row['energy_per_minibatch_pj_mean']) / 1e6:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Prints a markdown table comparing lpsim reports (one per weight policy).

usage: scripts/policy_table.py out/mlp6_sync/report.json out/mlp6_none/report.json ...
Standard library only.
"""
import json
import sys


def main(paths):
    reports = [json.load(open(p)) for p in paths]
    delayed = [l["name"] for l in reports[-1]["layers"] if l["reconstruction_error"] is not None]
    head = ["policy", "test acc.", "total cycles", "cycles/minibatch", "stash MB", "EMA MB"]
    head += [f"recon. err. {n}" for n in delayed]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in reports:
        s = r["summary"]
        mem = s["memory_peak_bytes"]
        errors = {l["name"]: l["reconstruction_error"] for l in r["layers"]}
        row = [
            r["policy"],
            f"{100 * r['training']['final_test_accuracy']:.2f}%",
            f"{s['total_cycles']:,}",
            f"{s['cycles_per_minibatch']:,.0f}",
            f"{mem['stash'] / 1e6:.3f}",
            f"{mem['ema'] / 1e6:.3f}",
        ]
        row += ["-" if errors.get(n) is None else f"{errors[n]:.3f}" for n in delayed]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Prints markdown tables comparing lpsim reports (one per weight policy).

usage: scripts/policy_table.py out/mlp6_sync/report.json out/mlp6_none/report.json ...
       scripts/policy_table.py out/policies      (the runs of scripts/policy_runs.sh)
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


def load(path):
    try:
        return json.load(open(path))
    except OSError:
        return None


def acc(r):
    return None if r is None else 100 * r["training"]["final_test_accuracy"]


def pct(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{vals[0]:.2f}%"
    return f"{sum(vals) / len(vals):.2f}% ({' / '.join(f'{v:.2f}' for v in vals)})"


def runs_table(out):
    import os
    import subprocess
    names = subprocess.run(["build/release/lpsim", "policies", "--names"], check=True,
                           capture_output=True, text=True).stdout.split()
    cases = [(p, s) for p in names for s in (False, True) if not (p == "sync" and s)]
    for model in ("mlp6", "cnn3"):
        rows = []
        delayed = None
        for p, spike in cases:
            tag = f"{p}_spike{'true' if spike else 'false'}"
            hw = load(os.path.join(out, f"{model}_{tag}_hw", "report.json"))
            if model == "mlp6":
                a1 = [acc(load(os.path.join(out, f"mlp6_{tag}_lr0.01_seed{k}", "report.json"))) for k in (1, 2)]
                a5 = [acc(load(os.path.join(out, f"mlp6_{tag}_lr0.005_seed{k}", "report.json"))) for k in (1, 2)]
                ref = load(os.path.join(out, f"mlp6_{tag}_lr0.01_seed1", "report.json"))
                accs = [pct(a1), pct(a5)]
            else:
                ref = load(os.path.join(out, f"cnn3_{tag}_ref", "report.json"))
                accs = [pct([acc(ref)])]
            if ref is None or hw is None:
                continue
            if delayed is None:
                delayed = [l["name"] for l in ref["layers"] if l["reconstruction_error"] is not None]
            err = {l["name"]: l["reconstruction_error"] for l in ref["layers"]}
            mem = hw["summary"]["memory_peak_bytes"]
            st = ref["stability"]
            bound = st.get("max_stable_lr") if st.get("computed") else None
            rows.append([p, "on" if spike else "", *accs,
                         f"{hw['summary']['cycles_per_minibatch']:,.0f}",
                         f"{mem['stash'] / 1e6:.3f}", f"{mem['ema'] / 1e6:.3f}",
                         "-" if bound is None else f"{bound:.4f}"] +
                        ["-" if err.get(n) is None else f"{err[n]:.3f}" for n in delayed or []])
        head = ["policy", "spike comp."]
        head += ["test acc. lr 0.01 (seed 1 / 2)", "lr 0.005"] if model == "mlp6" else ["test acc."]
        head += ["cycles/minibatch", "stash MB", "unit MB", "stable lr bound"]
        head += [f"consistency {n}" for n in delayed or []]
        print(f"\n{model}\n")
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if len(sys.argv) == 2 and not sys.argv[1].endswith(".json"):
        runs_table(sys.argv[1])
    else:
        main(sys.argv[1:])

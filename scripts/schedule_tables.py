#!/usr/bin/env python3
"""README "LayerPipe scheduling" and "SpikePipe-style comparison": the `lpsim schedule` outputs
as printed, the PipeDream tables and every average, range and peak the text quotes, from
build/release/lpsim (or LPSIM). Run from the repository root; takes about a minute.

Usage: scripts/schedule_tables.py"""

import json
import os
import subprocess
import sys

LPSIM = os.environ.get("LPSIM", "build/release/lpsim")
CNN = [("VGG-16", ["--config", "configs/vgg16_cifar_schedule.json"]),
       ("ResNet-18", ["--config", "configs/resnet18_cifar_schedule.json"])]
SNN = [("snn3", ["--set", "/workload/model=snn3", "--procs", "1-16"]),
       ("sconv3", ["--set", "/workload/model=sconv3", "--procs", "1-16"])]


def schedule(args, as_json):
    out = subprocess.run([LPSIM, "schedule", *args, *(["--json"] if as_json else [])],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out) if as_json else out


def rows(doc):
    """{P: {mode: row}}."""
    by = {}
    for r in doc["schedules"]:
        by.setdefault(r["processors"], {})[r["mode"]] = r
    return by


def print_blocks(runs):
    """The commands and what they print, as the README shows them."""
    print("```")
    for _, args in runs:
        print(f"$ build/release/lpsim schedule {' '.join(args)}")
        print(schedule(args, False), end="")
    print("```\n")


def speedups(by, mode, against):
    """{P: the period of `against` over `mode`'s}, as lpsim schedule reports it
    (speedup_vs_fused, speedup_vs_pipedream)."""
    return {p: by[p][mode][f"speedup_vs_{against}"] for p in by}


def mean(xs):
    return sum(xs) / len(xs)


def span(xs, unit="x"):
    return f"{min(xs):.2f}-{max(xs):.2f}{unit}"


def main():
    print_blocks(CNN)
    for name, args in CNN:
        by = rows(schedule(args, True))
        ps = sorted(by)
        period = {p: {m: by[p][m]["period"] for m in by[p]} for p in ps}
        split = speedups(by, "intra+inter", "fused")
        intra = speedups(by, "intra", "fused")
        lp = speedups(by, "intra+inter", "pipedream")
        fused_pd = speedups(by, "fused", "pipedream")
        many = [p for p in ps if p >= 2]
        mid = [p for p in ps if 7 <= p <= 9]
        late = [p for p in ps if p >= 7]
        print(f"{name}: over P = 2..16 split over fused {mean([split[p] for p in many]):.2f}x "
              f"(intra alone {mean([intra[p] for p in many]):.2f}x); at 7-9 "
              f"{span([split[p] for p in mid])}; at most {max(split.values()):.2f}x at P = "
              f"{[p for p in ps if split[p] == max(split.values())]}; split > 1.005 at P = "
              f"{[p for p in ps if split[p] > 1.005]}")
        print(f"{name}: LayerPipe over PipeDream on average over 2..16 "
              f"+{100 * (mean([lp[p] for p in many]) - 1):.0f}%, at 7-9 "
              f"+{100 * (min(lp[p] for p in mid) - 1):.0f}% to +{100 * (max(lp[p] for p in mid) - 1):.0f}%, "
              f"at most +{100 * (max(lp.values()) - 1):.0f}%; fused over PipeDream at P >= 7 "
              f"{span([fused_pd[p] for p in late])}")
        print(f"\n| P | fused | intra+inter | PipeDream | its stages | fused over PipeDream | "
              f"**LayerPipe over PipeDream** |\n|---:|---:|---:|---:|---:|---:|---:|")
        for p in ps:
            print(f"| {p} | {period[p]['fused']:,.0f} | {period[p]['intra+inter']:,.0f} | "
                  f"{period[p]['pipedream']:,.0f} | {by[p]['pipedream']['stages']} | "
                  f"{fused_pd[p]:.2f}x | {lp[p]:.2f}x |")
        print()
    print_blocks(SNN)
    for name, args in SNN:
        by = rows(schedule(args, True))
        ps = sorted(by)
        vs_pd = speedups(by, "intra+inter", "pipedream")
        vs_fused = speedups(by, "intra+inter", "fused")
        print(f"{name}: split over contiguous stages on average over 2..16 "
              f"{mean([vs_pd[p] for p in ps if p >= 2]):.2f}x ({vs_pd[3]:.2f}x from 3 on: "
              f"{span([vs_pd[p] for p in ps if p >= 3])}); over fused at 16 {vs_fused[16]:.2f}x; "
              f"link % {span([100 * by[p]['intra+inter']['link_bytes_fraction'] for p in ps if p >= 2], '%')}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A random search for crashes, hangs and broken invariants beyond the config parser: it draws
valid-looking jobs (a model, its data, a policy, stages or scheduled processors, activations,
SRAM, number formats, PE size, link bandwidth, optimizer) and runs each with `lpsim run`
(timing only, or with the math on the small models). The config fuzzer (`scripts/fuzz`) feeds
malformed text to the parser; this feeds well-formed combinations to the whole simulator. Not
part of CI: every draw is new. Modes:

  crash      (default) every run whose exit status is neither 0 (ran), 2 (refused with a
             message) nor 4 (refused for memory), and every run that outlives the timeout
  resume     a run with --checkpoint-every k, resumed from its last checkpoint: the resumed
             report must equal the whole run's (apart from `meta`)
  reference  a run with the math, and the same job with --reference: every saved weight
             file must be the same bit for bit (the hardware trains as the reference does)

Each finding is printed with its command line. Found so far: the stash unit losing a version
when Ba waited for DRAM, and a scheduled run shorter than a delay letting U(0) overtake F(1)
(both session 16, crash mode).

Usage: scripts/run_search.py [--mode crash|resume|reference] [--seed N] [--seconds S]
                             [--lpsim PATH] [--timeout S]
Exits 1 when it found something, 0 otherwise."""

import argparse
import filecmp
import json
import os
import random
import subprocess
import sys
import tempfile
import time

MODELS = ["mlp3", "mlp6", "cnn3", "snn3", "sconv3", "gpt_tiny", "resnet18"]
POLICIES = ["sync", "none", "stash", "ema_grad", "ema_weight", "lwp", "ema_lwp"]
FORMATS = ["bf16", "fp16", "fp8_e4m3", "fp8_e5m2"]


def draw(rng):
    """One job: its --set overrides and whether the math runs."""
    model = rng.choice(MODELS)
    sets = [f"/workload/model={model}"]
    if model == "gpt_tiny":
        data = {"context": 64, "vocab": 256, "train_samples": rng.choice([64, 128, 256]),
                "test_samples": 16}
        sets += ["/workload/dataset/kind=synthetic_tokens",
                 "/workload/dataset/synthetic_tokens=" + json.dumps(data)]
    else:
        shape = [3, 32, 32] if model == "resnet18" else [1, 28, 28]
        data = {"shape": shape, "train_samples": rng.choice([32, 64, 256, 512]),
                "test_samples": 16}
        sets += ["/workload/dataset/kind=synthetic",
                 "/workload/dataset/synthetic=" + json.dumps(data)]
    sets.append(f'/pipeline/policy="{rng.choice(POLICIES)}"')
    sets.append(f"/workload/batch_size={rng.choice([1, 4, 16, 32])}")
    if rng.random() < 0.4:
        sets.append(f"/pipeline/processors={rng.randint(1, 8)}")
        sets.append(f'/pipeline/backward_split="{rng.choice(["fused", "intra", "intra+inter"])}"')
        if rng.random() < 0.2:
            sets.append('/pipeline/scheduler="pipedream"')
    elif rng.random() < 0.5:
        sets.append(f'/pipeline/activations="{rng.choice(["keep", "recompute", "offload"])}"')
    if rng.random() < 0.4:
        sets.append(f"/hw/sram/capacity_bytes={rng.choice([65536, 262144, 1048576, 8388608])}")
    if rng.random() < 0.3:
        f = rng.choice(FORMATS)
        numerics = {"weights": f, "activations": f,
                    "activation_gradients": rng.choice(["bf16", "fp8_e5m2"])}
        if rng.random() < 0.3:
            numerics["accumulate"] = "bf16"
        elif rng.random() < 0.3:
            numerics["rounding"] = "stochastic"
        sets.append("/hw/numerics=" + json.dumps(numerics))
    if rng.random() < 0.3:
        sets.append(f"/hw/pe/rows={rng.choice([4, 8, 16, 64])}")
    if rng.random() < 0.2:
        sets.append(f"/hw/link/bytes_per_cycle={rng.choice([1, 4, 64])}")
    if rng.random() < 0.3:
        sets.append('/workload/optimizer/kind="adamw"')
    math = model != "resnet18" and rng.random() < 0.3
    return sets, math


def show(cmd):
    return " ".join(f"'{c}'" if any(x in c for x in "\"{} ") else c for c in cmd)


def report_without_meta(path):
    report = json.load(open(path))
    report.pop("meta", None)
    return json.dumps(report, sort_keys=True)


def crash(cmd, out, args, rng):
    """A finding's text, or None."""
    del rng
    try:
        r = subprocess.run(cmd + ["--out", out], capture_output=True, text=True,
                           timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return f"TIMEOUT after {args.timeout:.0f} s: {show(cmd)}"
    if r.returncode in (0, 2, 4):
        return None
    last = [line for line in r.stderr.splitlines() if "error" in line] or [""]
    return f"EXIT {r.returncode}: {show(cmd)}\n    {last[-1][:400]}"


def resume(cmd, out, args, rng):
    k = str(rng.choice([1, 2, 3, 5]))
    whole = cmd + ["--out", out + "/whole", "--checkpoint-every", k]
    r = subprocess.run(whole, capture_output=True, text=True, timeout=args.timeout)
    if r.returncode != 0 or not os.path.isdir(out + "/whole/checkpoint"):
        return None  # refused, or too short for a checkpoint
    again = cmd + ["--out", out + "/resumed", "--resume", out + "/whole/checkpoint"]
    r = subprocess.run(again, capture_output=True, text=True, timeout=args.timeout)
    if r.returncode != 0:
        return f"RESUME EXIT {r.returncode}: {show(whole)} then {show(again)}"
    if report_without_meta(out + "/whole/report.json") != report_without_meta(
            out + "/resumed/report.json"):
        return f"RESUMED REPORT DIFFERS: {show(whole)} then {show(again)}"
    return None


def reference(cmd, out, args, rng):
    del rng
    if "--no-math" in cmd:
        return None
    hw = cmd + ["--out", out + "/hw", "--save-weights", out + "/whw"]
    if subprocess.run(hw, capture_output=True, text=True, timeout=args.timeout).returncode != 0:
        return None
    ref = cmd + ["--reference", "--out", out + "/ref", "--save-weights", out + "/wref"]
    r = subprocess.run(ref, capture_output=True, text=True, timeout=args.timeout)
    if r.returncode != 0:
        return f"REFERENCE EXIT {r.returncode}: {show(ref)}"
    files = sorted(f for f in os.listdir(out + "/whw") if f.endswith(".npy"))
    differ = [f for f in files if not os.path.exists(f"{out}/wref/{f}")
              or not filecmp.cmp(f"{out}/whw/{f}", f"{out}/wref/{f}", shallow=False)]
    if differ:
        return f"WEIGHTS DIFFER ({', '.join(differ[:4])}): {show(hw)}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["crash", "resume", "reference"], default="crash")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--lpsim", default="build/release/lpsim")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    check = {"crash": crash, "resume": resume, "reference": reference}[args.mode]
    print(f"run_search: {args.mode}, seed {args.seed}, {args.seconds:.0f} s", flush=True)
    found = runs = 0
    end = time.time() + args.seconds
    with tempfile.TemporaryDirectory() as scratch:
        while time.time() < end:
            sets, math = draw(rng)
            if args.mode == "reference" and (sets[0].endswith("resnet18") or not math):
                continue  # the math on the small models only
            cmd = [args.lpsim, "run", "-q", "--threads", "1"] + ([] if math else ["--no-math"])
            for s in sets:
                cmd += ["--set", s]
            out = os.path.join(scratch, str(runs))
            runs += 1
            finding = check(cmd, out, args, rng)
            if finding:
                found += 1
                print(finding, flush=True)
            subprocess.run(["rm", "-rf", out], check=False)
    print(f"run_search: {runs} jobs, {found} found", flush=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

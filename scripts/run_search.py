#!/usr/bin/env python3
"""A random search for crashes and hangs beyond the config parser: it draws valid-looking
jobs (a model, its data, a policy, stages or scheduled processors, activations, SRAM, number
formats, PE size, link bandwidth, optimizer), runs each with `lpsim run` (timing only, or
with the math on the small models) and reports every run whose exit status is neither 0
(ran) nor 2 (refused with a message), and every run that outlives the timeout, with its
command line. The config fuzzer (`scripts/fuzz`) feeds malformed text to the parser; this
feeds well-formed combinations to the whole simulator. Not part of CI: every draw is new.

Found so far: the stash unit losing a version when Ba waited for DRAM (session 16) and a
scheduled run shorter than a delay letting U(0) overtake F(1) (session 16).

Usage: scripts/run_search.py [--seed N] [--seconds S] [--lpsim PATH] [--timeout S]
Exits 1 when it found something, 0 otherwise."""

import argparse
import json
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--lpsim", default="build/release/lpsim")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"run_search: seed {args.seed}, {args.seconds:.0f} s", flush=True)
    found = runs = 0
    end = time.time() + args.seconds
    with tempfile.TemporaryDirectory() as out:
        while time.time() < end:
            sets, math = draw(rng)
            cmd = [args.lpsim, "run", "-q", "--threads", "1", "--out", out]
            cmd += [] if math else ["--no-math"]
            for s in sets:
                cmd += ["--set", s]
            shown = " ".join(f"'{c}'" if any(x in c for x in "\"{} ") else c for c in cmd)
            runs += 1
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                found += 1
                print(f"TIMEOUT after {args.timeout:.0f} s: {shown}", flush=True)
                continue
            if r.returncode not in (0, 2):
                found += 1
                last = [line for line in r.stderr.splitlines() if "error" in line] or [""]
                print(f"EXIT {r.returncode}: {shown}\n    {last[-1][:400]}", flush=True)
    print(f"run_search: {runs} runs, {found} found", flush=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

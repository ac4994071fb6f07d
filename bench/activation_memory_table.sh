#!/usr/bin/env bash
# Issue 31's table (ARCHITECTURE.md §4c): ResNet-18 (CIFAR shape) in 8 stages
# [6,4,6,4,6,4,6,5] and gpt_small in 8 stages [2,6,6,6,6,6,6,2], timing only (--no-math), under
# stash, ema_grad and ema_weight, each with pipeline.activations keep, recompute and offload
# (every stage), at 8 MiB and 64 MiB of SRAM per PE and batch 8 and 32 (80 minibatches, SGD,
# default hardware otherwise). Prints one markdown row per run: the measured peaks by kind in
# MB (weights with optimizer state and gradient register; the weight versions: stash or EMA;
# activations held for the backward; everything in flight; total), GPipe's figure for the
# activations of the same partition (the stage input of every minibatch in flight plus one
# minibatch's layer inputs per stage: the report's analytic figure under recompute), DRAM
# bytes, cycles and energy per minibatch, and the largest resident kind.
#   bench/activation_memory_table.sh [resnet18|gpt_small ...]   (default: both)
#   Environment: LPSIM (default build/release/lpsim)
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet18 gpt_small)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| model | policy | activations | SRAM (MiB) | batch | weights + optimizer + gradients | stash or EMA | activations | GPipe's activations | in flight | total | DRAM / minibatch | cycles / minibatch | energy / minibatch (mJ) | largest resident |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for model in "${models[@]}"; do
  for policy in stash ema_grad ema_weight; do
    for activations in keep recompute offload; do
      for sram in 8 64; do
        for batch in 8 32; do
          if [ "$model" = resnet18 ]; then
            data=(--set /workload/dataset/kind=synthetic
                  --set "/workload/dataset/synthetic={\"shape\":[3,32,32],\"classes\":10,\"train_samples\":$((batch * 80)),\"test_samples\":16}"
                  --set "/pipeline/stages=[6,4,6,4,6,4,6,5]")
          else
            data=(--set /workload/dataset/kind=synthetic_tokens
                  --set "/workload/dataset/synthetic_tokens={\"context\":128,\"vocab\":256,\"train_samples\":$((batch * 80)),\"test_samples\":16}"
                  --set "/pipeline/stages=[2,6,6,6,6,6,6,2]")
          fi
          "$LPSIM" run -q --no-math --set /workload/model=$model "${data[@]}" \
            --set /workload/batch_size=$batch --set /workload/epochs=1 \
            --set /pipeline/policy=$policy --set "/pipeline/activations=\"$activations\"" \
            --set /hw/sram/capacity_bytes=$((sram * 1048576)) \
            --set /pipeline/stability_check=false --out "$work/out" > /dev/null
          python3 - "$work/out/report.json" "$model" "$policy" "$activations" "$sram" "$batch" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
m = s["memory_peak_bytes"]
mb = lambda b: f"{b / 1e6:,.1f}"
gpipe = sum(st["analytic"]["activations"] for st in r["memory_by_stage"])
params = m["weights"] + m["optimizer"] + m["gradients"]
versions = m["stash"] + m["ema"]
kinds = {"weights+optimizer+gradients": params, "stash or EMA": versions,
         "activations": m["activations"], "in flight": m["in_flight"]}
largest = max(kinds, key=kinds.get)
dram = s["dram_bytes"] / max(1, s["minibatches"])
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {sys.argv[5]} | {sys.argv[6]} | "
      f"{mb(params)} | {mb(versions)} | {mb(m['activations'])} | "
      f"{mb(gpipe) if sys.argv[4] == 'recompute' else '-'} | {mb(m['in_flight'])} | "
      f"{mb(m['total'])} | {mb(dram)} | {s['cycles_per_minibatch']:,.0f} | "
      f"{s['energy_per_minibatch_pj'] / 1e9:,.1f} | {largest} |")
PY
        done
      done
    done
  done
done

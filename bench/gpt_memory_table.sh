#!/usr/bin/env bash
# Issue 30's memory table: gpt_small timing only (--no-math) in 4 stages [8,12,12,8] and 8
# stages [2,6,6,6,6,6,6,2], under stash, ema_grad, ema_weight and lwp, with SGD and AdamW, at
# batch 1, 4, 16 and 64 (200 minibatches of 128-token windows, default hardware). Prints one
# markdown row per run: the measured peaks by kind (weights, optimizer state, the weight
# versions: stash or EMA, activations held for the backward, everything in flight, total) in
# MB, cycles and energy per minibatch, and whether the weight-version state exceeds the
# activations.
#   bench/gpt_memory_table.sh        Environment: LPSIM (default build/release/lpsim)
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| stages | optimizer | policy | batch | weights | optimizer state | stash or EMA | activations | in flight | total | cycles / minibatch | energy / minibatch (mJ) | versions > activations |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for stages in "[8,12,12,8]" "[2,6,6,6,6,6,6,2]"; do
  for opt in sgd adamw; do
    for policy in stash ema_grad ema_weight lwp; do
      for batch in 1 4 16 64; do
        "$LPSIM" run -q --no-math --set /workload/model=gpt_small \
          --set /workload/dataset/kind=synthetic_tokens \
          --set "/workload/dataset/synthetic_tokens={\"context\":128,\"vocab\":256,\"train_samples\":$((batch * 200)),\"test_samples\":16}" \
          --set /workload/batch_size=$batch --set /workload/epochs=1 \
          --set "/pipeline/stages=$stages" --set /pipeline/policy=$policy \
          --set /workload/optimizer/kind=$opt --set /pipeline/stability_check=false \
          --out "$work/out" > /dev/null
        python3 - "$work/out/report.json" "$stages" "$opt" "$policy" "$batch" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
m = s["memory_peak_bytes"]
mb = lambda b: f"{b / 1e6:,.1f}"
versions = m["stash"] + m["ema"]
print(f"| {len(json.loads(sys.argv[2]))} | {sys.argv[3]} | {sys.argv[4]} | {sys.argv[5]} | "
      f"{mb(m['weights'])} | {mb(m['optimizer'])} | {mb(versions)} | {mb(m['activations'])} | "
      f"{mb(m['in_flight'])} | {mb(m['total'])} | {s['cycles_per_minibatch']:,.0f} | "
      f"{s['energy_per_minibatch_pj'] / 1e9:,.3f} | {'yes' if versions > m['activations'] else 'no'} |")
PY
      done
    done
  done
done

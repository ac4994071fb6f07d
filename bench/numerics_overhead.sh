#!/usr/bin/env bash
# Issue 33: what emulating the number formats costs in wall time. Each model trains the same
# job with every class fp32 and under bf16 (weights, activations, both gradients; fp32 master)
# in the reference trainer, 1 thread, and the ratio of the bf16 run's wall time to the fp32
# run's is printed (target: at most 1.3). Median of 3 runs each. Last, the same bf16 job with a
# bf16 accumulator (K summed in chunks of hw.pe.rows = 32, rounded after each: ops/accumulate.h),
# whose cost is the chunked products and their roundings (no target: a design-space option).
#   bench/numerics_overhead.sh        Environment: LPSIM (default build/release/lpsim)
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bf16=(--set /hw/numerics/weights=\"bf16\" --set /hw/numerics/activations=\"bf16\"
      --set /hw/numerics/activation_gradients=\"bf16\" --set /hw/numerics/weight_gradients=\"bf16\")
median() { sort -n | sed -n 2p; }
wall() {  # wall seconds of one run
  local start end
  start=$(date +%s.%N)
  "$LPSIM" run -q --reference "$@" --out "$work/out" > /dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
printf "%-10s %10s %10s %7s %12s %7s\n" model "fp32 s" "bf16 s" ratio "bf16+acc s" ratio
for model in mlp6 cnn3 gpt_tiny; do
  if [ "$model" = gpt_tiny ]; then
    data=(--set /workload/dataset/kind=synthetic_tokens
          --set '/workload/dataset/synthetic_tokens={"context":64,"vocab":256,"train_samples":1024,"test_samples":64}'
          --set '/pipeline/stages=[8,6,6,8]')
  else
    data=(--set /workload/dataset/kind=synthetic
          --set '/workload/dataset/synthetic={"train_samples":4096,"test_samples":256}'
          --set /pipeline/stages=\"per_layer\")
  fi
  common=(--set /workload/model=$model "${data[@]}" --set /workload/epochs=1 --set /run/threads=1
          --set /pipeline/policy=\"stash\" --set /pipeline/stability_check=false)
  f=$(for i in 1 2 3; do wall "${common[@]}"; done | median)
  b=$(for i in 1 2 3; do wall "${common[@]}" "${bf16[@]}"; done | median)
  a=$(for i in 1 2 3; do
        wall "${common[@]}" "${bf16[@]}" --set /hw/numerics/accumulate=\"bf16\"; done | median)
  printf "%-10s %10.2f %10.2f %7.2f %12.2f %7.2f\n" "$model" "$f" "$b" "$(echo "$b / $f" | bc -l)" \
    "$a" "$(echo "$a / $f" | bc -l)"
done

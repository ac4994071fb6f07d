#!/usr/bin/env bash
# The README's policy table (issue 15): every registered policy, with and without
# pipeline.spike_compensation, on Fashion-MNIST.
#   accuracy and consistency error: `lpsim run --reference` (bit for bit the hardware run's
#     training), mlp6 at lr 0.01 and 0.005, seeds 1 and 2, 3 epochs; cnn3 at lr 0.01, seed 1,
#     2 epochs
#   cycles and memory: `lpsim run --no-math` (the SystemC model, timing only), one per policy
# Runs two at a time on one thread each; then scripts/policy_table.py OUT prints the tables.
#   scripts/policy_runs.sh [OUT]     (default out/policies; an hour on 2 cores beside builds)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/policies}
lpsim=build/release/lpsim
mkdir -p "$out"
policies=$("$lpsim" policies --names)
jobs=()
for p in $policies; do
  for spike in false true; do
    [ "$p" = sync ] && [ "$spike" = true ] && continue
    tag=${p}_spike${spike}
    common="--set /pipeline/policy=$p --set /pipeline/spike_compensation=$spike"
    for lr in 0.01 0.005; do
      for seed in 1 2; do
        jobs+=("$lpsim run -q --reference --threads 1 $common --set /workload/model=mlp6 --set /workload/epochs=3 --set /workload/optimizer/lr=$lr --set /run/seed=$seed --out $out/mlp6_${tag}_lr${lr}_seed${seed}")
      done
    done
    jobs+=("$lpsim run -q --reference --threads 1 $common --set /workload/model=cnn3 --set /workload/epochs=2 --out $out/cnn3_${tag}_ref")
    jobs+=("$lpsim run -q --no-math --threads 1 $common --set /workload/model=mlp6 --set /workload/epochs=3 --out $out/mlp6_${tag}_hw")
    jobs+=("$lpsim run -q --no-math --threads 1 $common --set /workload/model=cnn3 --set /workload/epochs=2 --out $out/cnn3_${tag}_hw")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} bash -c '{} > /dev/null 2>&1 || echo "failed: {}" >&2'
echo "policy_runs: ${#jobs[@]} runs in $out"

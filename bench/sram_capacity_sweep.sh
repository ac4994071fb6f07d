#!/usr/bin/env bash
# SRAM capacity sweep (issue 13): ResNet-18 (CIFAR shape, batch 32, 8 stages) and mlp6 (per
# layer, batch 32), timing only, 1 MiB to 1 GiB per PE by powers of 2, under stash, ema_grad
# and ema_weight. Prints one row per point: cycles and energy per minibatch, DRAM bytes per
# minibatch; writes the reports under OUT (default out/sram_sweep) and, with matplotlib,
# OUT/capacity.png (cycles and energy against capacity).
#
# Usage: bench/sram_capacity_sweep.sh [OUT]      Environment: LPSIM (default build/release/lpsim)
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
OUT=${1:-out/sram_sweep}
mkdir -p "$OUT"
declare -A SETS
SETS[resnet18]="--set /workload/model=resnet18 --set /pipeline/stages=[6,5,5,5,5,5,5,5]
  --set /workload/dataset/synthetic={\"train_samples\":1024,\"test_samples\":32,\"shape\":[3,32,32]}"
SETS[mlp6]="--set /workload/model=mlp6
  --set /workload/dataset/synthetic={\"train_samples\":2048,\"test_samples\":32}"
printf "%-9s %-10s %10s %15s %14s %14s\n" model policy "SRAM MiB" "cycles/mb" "energy uJ/mb" "DRAM MB/mb"
for model in resnet18 mlp6; do
  for policy in stash ema_grad ema_weight; do
    for shift in $(seq 20 30); do
      cap=$((1 << shift))
      dir="$OUT/${model}_${policy}_$cap"
      # shellcheck disable=SC2086
      "$LPSIM" run -q --no-math ${SETS[$model]} --set /workload/dataset/kind=synthetic \
        --set /pipeline/policy=$policy --set /hw/sram/capacity_bytes=$cap \
        --set /pipeline/stability_check=false --out "$dir" > /dev/null
      jq -r --arg m "$model" --arg p "$policy" --argjson c "$cap" \
        '[$m, $p, ($c / 1048576), .summary.cycles_per_minibatch,
          (.summary.energy_per_minibatch_pj / 1e6), (.summary.dram_bytes / .summary.minibatches / 1e6)]
         | @tsv' "$dir/report.json" |
        awk -F'\t' '{printf "%-9s %-10s %10d %15.0f %14.1f %14.2f\n", $1, $2, $3, $4, $5, $6}'
    done
  done
done
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 reports/capacity_plot.py "$OUT" --out "$OUT/capacity.png"
fi

#!/usr/bin/env bash
# ResNet-18 trained on simulated pipelined hardware (issue 14 item 5): Fashion-MNIST, the first
# 10,000 training and 2,000 test images, batch 64, lr 0.01 constant, momentum 0.9, weight decay
# 5e-4, 2 epochs, for each STAGES x POLICY given. Prints one table row per run (accuracy,
# cycles and energy per minibatch, memory peak, DRAM bytes, wall time) and keeps each report
# under OUT/<stages>_<policy>/.
#
# Usage: bench/resnet18_training.sh OUT [STAGES...]   STAGES: 4 or 8 (default: 4 8)
# Environment: LPSIM (default build/release/lpsim), POLICIES (default "stash ema_grad
# ema_weight"), THREADS (default 0: every core). One run takes about 10-12 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
out=${1:?usage: bench/resnet18_training.sh OUT [STAGES...]}
shift
stage_list=("$@")
[ ${#stage_list[@]} -gt 0 ] || stage_list=(4 8)
declare -A SPLIT=([4]="[11,10,10,10]" [8]="[6,5,5,5,5,5,5,5]")
mkdir -p "$out"
printf "| stages | policy | test accuracy | train loss (epoch 2) | cycles / minibatch | energy / minibatch (mJ) | memory peak (MB) | DRAM MB / minibatch | wall time |\n"
printf "|---|---|---|---|---|---|---|---|---|\n"
for stages in "${stage_list[@]}"; do
  for policy in ${POLICIES:-stash ema_grad ema_weight}; do
    dir="$out/${stages}_${policy}"
    t0=$(date +%s)
    "$LPSIM" run -q --threads "${THREADS:-0}" --out "$dir" \
      --set /run/name="resnet18_${stages}_${policy}" --set /workload/model=resnet18 \
      --set /workload/dataset/train_limit=10000 --set /workload/dataset/test_limit=2000 \
      --set /workload/batch_size=64 --set /workload/epochs=2 \
      --set /workload/optimizer/lr=0.01 --set /workload/optimizer/momentum=0.9 \
      --set /workload/optimizer/weight_decay=0.0005 \
      --set "/pipeline/stages=${SPLIT[$stages]}" --set /pipeline/policy="$policy" > /dev/null
    t1=$(date +%s)
    jq -r --arg s "$stages" --arg p "$policy" --arg w "$(( (t1 - t0) / 60 )) min $(( (t1 - t0) % 60 )) s" '
      "| \($s) | \($p) | \(.summary.final_test_accuracy * 100 | . * 100 | round / 100)% | \(.training.final_train_loss * 1000 | round / 1000) | \(.summary.cycles_per_minibatch | round) | \(.summary.energy_per_minibatch_pj / 1e9 | . * 10 | round / 10) | \(.summary.memory_peak_bytes.total / 1e6 | round) | \(.summary.dram_bytes / .summary.minibatches / 1e6 | round) | \($w) |"' \
      "$dir/report.json"
  done
done

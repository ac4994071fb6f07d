#!/usr/bin/env bash
# Speedup of a 16-point sweep run 2 points at a time over 1 at a time, same machine, same run.
# Goal (issue 6): >= 1.8 on 2 cores. Exits non-zero only when a sweep fails to run.
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/grid.json" <<'GRID'
{"grid": {"/pipeline/policy": ["sync", "none", "stash", "ema_grad"],
          "/hw/pe/rows": [8, 16, 32, 64]}}
GRID
sets=(--set /workload/dataset/kind=synthetic
      --set '/workload/dataset/synthetic={"train_samples":4096,"test_samples":256}'
      --set /pipeline/stability_check=false)
run() {  # $1 = jobs
  rm -rf "$work/out$1"
  local start end
  start=$(date +%s.%N)
  "$LPSIM" sweep -q -j "$1" --grid "$work/grid.json" --out "$work/out$1" "${sets[@]}" > /dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
t1=$(run 1)
t2=$(run 2)
cmp -s <(cut -d, -f1-9 "$work/out1/sweep.csv") <(cut -d, -f1-9 "$work/out2/sweep.csv") ||
  echo "WARNING: the two sweeps' results differ"
awk -v t1="$t1" -v t2="$t2" 'BEGIN {
  r = t1 / t2
  printf "16-point sweep: -j 1 %.2f s, -j 2 %.2f s, speedup %.2f (goal >= 1.8): %s\n", t1, t2, r,
         (r >= 1.8 ? "met" : "MISSED")
}'

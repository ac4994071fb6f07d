#!/usr/bin/env bash
# Timing-only speed of the hardware model: `lpsim run --no-math` on ResNet-18 in 4 stages
# ([10,10,10,11]), batch 32, synthetic [3,32,32] data, 10,000 minibatches in one epoch
# (bench/configs/resnet18_timing_only.json). RUNS times (default 5), the median wall time.
#
# Baselines measured in the same run, alternating with the long run:
#   graph   `lpsim graph` on the same model and stages: process start-up + network and
#           retimed graph build, no simulation;
#   short   the same `lpsim run --no-math` job with 10 minibatches: everything a run does
#           once (start-up, graph, elaboration of the SystemC modules, report).
# Prints wall seconds, simulated task instances per second (report.json:
# summary.task_instances), the ratios to both baselines, the marginal cost of one simulated
# minibatch, and the goal (10,000 minibatches under 1 s). Exits 1 only when a run fails;
# a missed goal prints MISSED and still exits 0.
#
# Usage: bench/timing_only.sh            (from anywhere)
# Environment: LPSIM (default build/release/lpsim), RUNS (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
RUNS=${RUNS:-5}
CONFIG=bench/configs/resnet18_timing_only.json
MINIBATCHES=10000
SHORT=10
BATCH=32

if [[ ! -x "$LPSIM" ]]; then
  echo "timing_only: $LPSIM not found; build it: cmake --build build/release --target lpsim -j2" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# timed TAG CMD...: runs CMD, appends "real cpu" to $work/TAG.times; exit 1 on failure
timed() {
  local tag=$1
  shift
  local TIMEFORMAT='%R %U %S'
  local t
  if ! t=$( { time "$@" >"$work/$tag.stdout" 2>"$work/$tag.stderr"; } 2>&1 ); then
    echo "timing_only: FAILED: $*" >&2
    cat "$work/$tag.stderr" >&2
    exit 1
  fi
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<<"$t" >>"$work/$tag.times"
}

run_args=(run -q --no-math --config "$CONFIG")
short_set=(--set /workload/dataset/synthetic/train_samples=$((SHORT * BATCH)))
for ((i = 0; i < RUNS; ++i)); do
  timed graph "$LPSIM" graph --model resnet18 --input-shape 3,32,32 --classes 10 \
    --stages 10,10,10,11 --batch "$BATCH" --out "$work/graph.json"
  timed short "$LPSIM" "${run_args[@]}" "${short_set[@]}" --out "$work/short"
  timed long "$LPSIM" "${run_args[@]}" --out "$work/long"
done

minibatches=$(jq -r .summary.minibatches "$work/long/report.json")
tasks=$(jq -r .summary.task_instances "$work/long/report.json")
short_minibatches=$(jq -r .summary.minibatches "$work/short/report.json")
if [[ $minibatches != "$MINIBATCHES" || $short_minibatches != "$SHORT" ]]; then
  echo "timing_only: expected $MINIBATCHES and $SHORT minibatches, the reports say" \
    "$minibatches and $short_minibatches" >&2
  exit 1
fi

col() { cut -d' ' -f"$2" "$work/$1.times"; }
long_wall=$(col long 1 | median)
long_cpu=$(col long 2 | median)
graph_wall=$(col graph 1 | median)
short_wall=$(col short 1 | median)

echo "job: $CONFIG (resnet18, stages [10,10,10,11], batch $BATCH, $MINIBATCHES minibatches, --no-math)"
printf '  %-36s wall s: %s median %s (cpu %s)\n' "lpsim run --no-math" "$(col long 1 | tr '\n' ' ')" \
  "$long_wall" "$long_cpu"
printf '  %-36s wall s: %s median %s\n' "lpsim graph" "$(col graph 1 | tr '\n' ' ')" "$graph_wall"
printf '  %-36s wall s: %s median %s\n' "lpsim run --no-math, $SHORT minibatches" \
  "$(col short 1 | tr '\n' ' ')" "$short_wall"
awk -v w="$long_wall" -v c="$long_cpu" -v g="$graph_wall" -v s="$short_wall" -v t="$tasks" \
    -v m="$minibatches" -v k="$SHORT" 'BEGIN {
  printf "wall %.3f s, %d task instances, %.2f M simulated tasks/s (%.2f M per cpu s)\n", w, t, t / w / 1e6, t / c / 1e6
  printf "run / lpsim graph (start-up + graph build) wall = %.1f: the graph baseline is %.1f%% of the run\n", w / g, 100 * g / w
  printf "run / %d-minibatch run (fixed cost) wall = %.1f: marginal %.1f us per simulated minibatch\n", k, w / s, 1e6 * (w - s) / (m - k)
  printf "goal: 10,000 minibatches under 1 s: %s (%.3f s)\n", (w < 1.0) ? "met" : "MISSED", w
}'

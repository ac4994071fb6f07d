#!/usr/bin/env bash
# The SystemC hardware model's wall time over the reference trainer's on the same job:
# `lpsim run` and `lpsim run --reference`, alternating, RUNS times each (default 5), median
# of each. The job trains mlp3 on Fashion-MNIST (first 20,000 training and 2,000 test
# images, one epoch, per-layer stages, ema_grad), first with pipeline.stability_check
# false (the curvature estimate is the same for both modes and would dilute the ratio),
# then with it on.
#
# Prints per set: the wall times, the median ratio against the goal (<= 1.10), and the
# same ratio of CPU time (user + sys), which other processes on the machine disturb less.
# Exits 1 only when a run fails; a missed goal prints MISSED and still exits 0.
#
# Usage: bench/run_vs_reference.sh            (from the repository root)
# Environment: LPSIM (default build/release/lpsim), RUNS (default 5), GOAL (default 1.10),
#              TRAIN_LIMIT (default 20000), TEST_LIMIT (default 2000).
set -euo pipefail

cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
RUNS=${RUNS:-5}
GOAL=${GOAL:-1.10}
TRAIN_LIMIT=${TRAIN_LIMIT:-20000}
TEST_LIMIT=${TEST_LIMIT:-2000}

if [[ ! -x "$LPSIM" ]]; then
  echo "run_vs_reference: $LPSIM not found; build it: cmake --build build/release --target lpsim -j2" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

job=(--set /workload/model=mlp3
     --set /workload/dataset/kind=fashion_mnist
     --set /workload/dataset/train_limit="$TRAIN_LIMIT"
     --set /workload/dataset/test_limit="$TEST_LIMIT"
     --set /workload/epochs=1
     --set /pipeline/stages=per_layer
     --set /pipeline/policy=ema_grad)

# median of the numbers on stdin
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# run_once MODE TAG SETS...: one timed run; appends "real cpu" to $work/TAG.times
run_once() {
  local mode=$1 tag=$2
  shift 2
  local dir="$work/$tag.$RANDOM"
  local extra=()
  [[ $mode == reference ]] && extra=(--reference)
  local TIMEFORMAT='%R %U %S'
  local t
  if ! t=$( { time "$LPSIM" run -q "${extra[@]}" "${job[@]}" "$@" --out "$dir" \
                 >"$dir.stdout" 2>"$dir.stderr"; } 2>&1 ); then
    echo "run_vs_reference: FAILED: $LPSIM run -q ${extra[*]} ${job[*]} $* --out $dir" >&2
    cat "$dir.stderr" >&2
    exit 1
  fi
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<<"$t" >>"$work/$tag.times"
  # Hardware and reference train bit for bit alike: the epoch curves must agree.
  if [[ -f "$work/$tag.epochs" ]]; then
    cmp -s "$work/$tag.epochs" "$dir/epochs.csv" ||
      echo "run_vs_reference: warning: $tag: epochs.csv differs between runs" >&2
  else
    cp "$dir/epochs.csv" "$work/$tag.epochs"
  fi
  rm -rf "$dir"
}

# compare LABEL SETS...: RUNS alternating pairs, then the ratios
compare() {
  local label=$1
  shift
  local tag=${label// /_}
  for ((i = 0; i < RUNS; ++i)); do
    run_once hardware "$tag.hw" "$@"
    run_once reference "$tag.ref" "$@"
  done
  local hw_wall ref_wall hw_cpu ref_cpu
  hw_wall=$(cut -d' ' -f1 "$work/$tag.hw.times" | median)
  ref_wall=$(cut -d' ' -f1 "$work/$tag.ref.times" | median)
  hw_cpu=$(cut -d' ' -f2 "$work/$tag.hw.times" | median)
  ref_cpu=$(cut -d' ' -f2 "$work/$tag.ref.times" | median)
  if ! cmp -s "$work/$tag.hw.epochs" "$work/$tag.ref.epochs"; then
    echo "run_vs_reference: warning: $label: hardware and reference epochs.csv differ" >&2
  fi
  echo "== $label ($RUNS runs each, alternating)"
  printf '   %-21s wall s: %s median %s (cpu %s)\n' "lpsim run" \
    "$(cut -d' ' -f1 "$work/$tag.hw.times" | tr '\n' ' ')" "$hw_wall" "$hw_cpu"
  printf '   %-21s wall s: %s median %s (cpu %s)\n' "lpsim run --reference" \
    "$(cut -d' ' -f1 "$work/$tag.ref.times" | tr '\n' ' ')" "$ref_wall" "$ref_cpu"
  awk -v h="$hw_wall" -v r="$ref_wall" -v hc="$hw_cpu" -v rc="$ref_cpu" -v g="$GOAL" -v l="$label" 'BEGIN {
    q = h / r
    printf "%s: lpsim run / reference wall time = %.2f (goal <= %.2f): %s\n", l, q, g, (q <= g) ? "met" : "MISSED"
    printf "%s: lpsim run / reference cpu time  = %.2f\n", l, hc / rc
  }'
}

echo "job: mlp3, Fashion-MNIST train_limit $TRAIN_LIMIT test_limit $TEST_LIMIT, 1 epoch, per_layer, ema_grad"
compare "stability_check off" --set /pipeline/stability_check=false
compare "stability_check on" --set /pipeline/stability_check=true

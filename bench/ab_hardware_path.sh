#!/usr/bin/env bash
# Speed of the hardware path of one lpsim binary (NEW) against another (OLD, e.g. the build
# of 6fb5958), as ratios measured in one run (issue 29). Two parts; runs alternate (OLD,
# NEW, OLD, NEW, ...; hardware, reference, ...) so that drift on a noisy machine hits both:
#
#   timing  `lpsim run -q --no-math` of bench/timing_only.sh's job (ResNet-18 in 4 stages
#           [10,10,10,11], batch 32, synthetic [3,32,32], 10,000 minibatches;
#           bench/configs/resnet18_timing_only.json), RUNS pairs (OLD, NEW): the median
#           wall time of each binary and the speed-up OLD / NEW (goal: at least 1.5x).
#   math    the same model and stages with the math on, MINIBATCHES minibatches (default
#           40, one epoch, 32 test samples, pipeline.stability_check false), at each of
#           THREADS (default "1 2"): PAIRS pairs (default 5) of `lpsim run` (the hardware
#           model) and `lpsim run --reference` (the sequential reference trainer) of NEW,
#           and with OLD_MATH=1 of OLD too, in the same loop. A pair's ratio is its
#           hardware wall time over its reference wall time (the order inside a pair flips
#           every pair); printed: the median of the per-pair ratios (goal: at most 1.05).
#
# Checks that the timing reports count 10,000 minibatches and that OLD and NEW simulate the
# same number of task instances, and warns when a hardware run's epochs.csv differs from its
# reference run's (they train bit for bit alike). Exits 1 only when a run fails; a missed
# goal prints MISSED and still exits 0.
#
# Usage: bench/ab_hardware_path.sh OLD NEW      (from anywhere; paths relative to the caller)
#   e.g. bench/ab_hardware_path.sh /work/baseline/lpsim build/release/lpsim
# Environment: RUNS (default 5), PAIRS (5), MINIBATCHES (40), THREADS ("1 2"), OLD_MATH (0;
#   1 also times OLD's pairs, which doubles the math part), PARTS ("timing math"; one of
#   them runs only that part), SPEEDUP_GOAL (1.5), RATIO_GOAL (1.05).
# Time on the 2-core VM with the defaults: about 15 minutes (the timing part about 15 s; a
# pair about 105 s at 1 thread and about 65 s at 2 threads); with OLD_MATH=1 about 30.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
abs() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
OLD=$(abs "$1")
NEW=$(abs "$2")
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PAIRS=${PAIRS:-5}
MINIBATCHES=${MINIBATCHES:-40}
THREADS=${THREADS:-1 2}
OLD_MATH=${OLD_MATH:-0}
PARTS=${PARTS:-timing math}
SPEEDUP_GOAL=${SPEEDUP_GOAL:-1.5}
RATIO_GOAL=${RATIO_GOAL:-1.05}
CONFIG=bench/configs/resnet18_timing_only.json
TIMING_MINIBATCHES=10000
BATCH=32

for b in "$OLD" "$NEW"; do
  if [[ ! -x $b ]]; then
    echo "ab_hardware_path: $b is not an executable lpsim" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
row() { tr '\n' ' ' <"$work/$1"; }

# timed TAG OUT CMD...: runs CMD --out OUT (CMD: a binary and `run ...`), appends the wall
# seconds to $work/TAG.wall and "wall cpu" to $work/TAG.times; exit 1 on failure
timed() {
  local tag=$1 out=$2
  shift 2
  local TIMEFORMAT='%R %U %S'
  # lpsim runs as this shell's own child (no command substitution), so that on a signal
  # the shell waits for it to write its interrupted report before the EXIT trap cleans up.
  if ! { time "$@" --out "$out" >"$out.stdout" 2>"$out.stderr"; } 2>"$out.time"; then
    echo "ab_hardware_path: FAILED: $* --out $out" >&2
    cat "$out.stderr" >&2
    exit 1
  fi
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$out.time" >>"$work/$tag.times"
  awk '{printf "%.3f\n", $1}' "$out.time" >>"$work/$tag.wall"
}

part() { [[ " $PARTS " == *" $1 "* ]]; }

echo "OLD: $OLD"
echo "NEW: $NEW"

if part timing; then
  args=(run -q --no-math --config "$CONFIG")
  for ((i = 0; i < RUNS; ++i)); do
    timed t.old "$work/t.old.$i" "$OLD" "${args[@]}"
    timed t.new "$work/t.new.$i" "$NEW" "${args[@]}"
  done
  for side in old new; do
    m=$(jq -r .summary.minibatches "$work/t.$side.0/report.json")
    if [[ $m != "$TIMING_MINIBATCHES" ]]; then
      echo "ab_hardware_path: expected $TIMING_MINIBATCHES minibatches, the $side report" \
        "says $m" >&2
      exit 1
    fi
  done
  old_tasks=$(jq -r .summary.task_instances "$work/t.old.0/report.json")
  new_tasks=$(jq -r .summary.task_instances "$work/t.new.0/report.json")
  if [[ $old_tasks != "$new_tasks" ]]; then
    echo "ab_hardware_path: warning: OLD simulates $old_tasks task instances, NEW $new_tasks" >&2
  fi
  old_wall=$(median <"$work/t.old.wall")
  new_wall=$(median <"$work/t.new.wall")
  old_cpu=$(cut -d' ' -f2 "$work/t.old.times" | median)
  new_cpu=$(cut -d' ' -f2 "$work/t.new.times" | median)
  echo "== timing only: $CONFIG (resnet18, stages [10,10,10,11], batch $BATCH," \
    "$TIMING_MINIBATCHES minibatches, --no-math), $RUNS pairs OLD, NEW"
  printf '   %-4s wall s: %s median %s (cpu %s)\n' OLD "$(row t.old.wall)" "$old_wall" "$old_cpu"
  printf '   %-4s wall s: %s median %s (cpu %s)\n' NEW "$(row t.new.wall)" "$new_wall" "$new_cpu"
  awk -v o="$old_wall" -v n="$new_wall" -v oc="$old_cpu" -v nc="$new_cpu" -v g="$SPEEDUP_GOAL" \
      -v t="$new_tasks" 'BEGIN {
    q = o / n
    printf "timing only: speed-up OLD / NEW wall = %.2fx (goal >= %.2fx): %s\n", q, g, (q >= g) ? "met" : "MISSED"
    printf "timing only: speed-up OLD / NEW cpu  = %.2fx; NEW %.2f M simulated tasks/s\n", oc / nc, t / n / 1e6
  }'
fi

if part math; then
  samples=$((MINIBATCHES * BATCH))
  job=(--config "$CONFIG" --set /workload/dataset/synthetic/train_samples=$samples
       --set /pipeline/stability_check=false)
  sides=(new)
  names=NEW
  [[ $OLD_MATH == 1 ]] && sides=(new old) && names="NEW and OLD"
  declare -A BIN=([old]=$OLD [new]=$NEW)
  echo "== with the math: resnet18, stages [10,10,10,11], ema_grad, batch $BATCH," \
    "$MINIBATCHES minibatches, synthetic [3,32,32]; $PAIRS pairs (hardware, reference) of" \
    "$names per thread count, alternating"
  for threads in $THREADS; do
    for ((i = 0; i < PAIRS; ++i)); do
      for side in "${sides[@]}"; do
        tag=m$threads.$side
        order=(hw ref)
        ((i % 2)) && order=(ref hw)
        for mode in "${order[@]}"; do
          extra=()
          [[ $mode == ref ]] && extra=(--reference)
          timed "$tag.$mode" "$work/$tag.$mode.$i" "${BIN[$side]}" run -q --threads "$threads" \
            "${extra[@]}" "${job[@]}"
        done
        if ! cmp -s "$work/$tag.hw.$i/epochs.csv" "$work/$tag.ref.$i/epochs.csv"; then
          echo "ab_hardware_path: warning: ${side^^} threads $threads pair $i: hardware and" \
            "reference epochs.csv differ" >&2
        fi
        paste -d' ' <(tail -n1 "$work/$tag.hw.wall") <(tail -n1 "$work/$tag.ref.wall") |
          awk '{printf "%.3f\n", $1 / $2}' >>"$work/$tag.ratio"
        rm -rf "$work/$tag.hw.$i" "$work/$tag.ref.$i"
      done
    done
    for side in "${sides[@]}"; do
      tag=m$threads.$side
      S=${side^^}
      printf '   threads %s %s lpsim run             wall s: %s median %s\n' "$threads" "$S" \
        "$(row "$tag.hw.wall")" "$(median <"$work/$tag.hw.wall")"
      printf '   threads %s %s lpsim run --reference wall s: %s median %s\n' "$threads" "$S" \
        "$(row "$tag.ref.wall")" "$(median <"$work/$tag.ref.wall")"
      ratio=$(median <"$work/$tag.ratio")
      cpu_ratio=$(awk -v h="$(cut -d' ' -f2 "$work/$tag.hw.times" | median)" \
        -v r="$(cut -d' ' -f2 "$work/$tag.ref.times" | median)" 'BEGIN {printf "%.2f", h / r}')
      printf '   threads %s %s hardware / reference per pair: %s\n' "$threads" "$S" "$(row "$tag.ratio")"
      awk -v q="$ratio" -v g="$RATIO_GOAL" -v s="$S" -v t="$threads" -v c="$cpu_ratio" 'BEGIN {
        printf "threads %s %s: hardware / reference wall = %.3f, median of the pairs", t, s, q
        if (s == "NEW") printf " (goal <= %.2f): %s", g, (q <= g) ? "met" : "MISSED"
        printf "; cpu time, medians: %s\n", c
      }'
    done
  done
fi

#!/usr/bin/env bash
# The memory estimate (`lpsim check-config`, and the refusal of a run that would not fit)
# against the peak resident size the run really reaches (GNU time's maximum RSS), for a set of
# runs with the math (issue 31: the estimate must be an upper bound), with the activations kept
# and recomputed. Prints one row per run
# and exits 1 if any run resided in more than its estimate. Release build only: resident sizes
# under ASan mean nothing. About 3 minutes.
#   bench/estimate_vs_rss.sh        Environment: LPSIM (default build/release/lpsim)
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
images() { echo "--set /workload/dataset/kind=synthetic --set /workload/dataset/synthetic={\"shape\":$1,\"classes\":10,\"train_samples\":$2,\"test_samples\":64}"; }
tokens() { echo "--set /workload/dataset/kind=synthetic_tokens --set /workload/dataset/synthetic_tokens={\"context\":$1,\"vocab\":256,\"train_samples\":$2,\"test_samples\":64}"; }
runs=(
  "mlp6 per_layer stash sgd --reference $(images '[1,28,28]' 6400)"
  "cnn3 per_layer ema_grad sgd --reference $(images '[1,28,28]' 6400)"
  "resnet18 [6,4,6,4,6,4,6,5] stash sgd --reference $(images '[3,32,32]' 640)"
  "resnet18 [6,4,6,4,6,4,6,5] ema_grad adamw --hardware $(images '[3,32,32]' 640)"
  "gpt_tiny [8,6,6,8] stash adamw --reference $(tokens 64 640)"
  "gpt_tiny [2,6,6,6,8] ema_weight sgd --hardware $(tokens 64 640)"
  "gpt_small [8,12,12,8] stash adamw --reference $(tokens 128 160)"
  "resnet18 [6,4,6,4,6,4,6,5] stash sgd --reference $(images '[3,32,32]' 640) --set /pipeline/activations=\"recompute\""
  "resnet18 [6,4,6,4,6,4,6,5] ema_grad sgd --hardware $(images '[3,32,32]' 640) --set /pipeline/activations=[\"recompute\",\"recompute\",\"recompute\",\"recompute\",\"keep\",\"keep\",\"keep\",\"keep\"]"
  "gpt_small [8,12,12,8] ema_weight adamw --hardware $(tokens 128 160) --set /pipeline/activations=\"recompute\""
)
printf "%-10s %-22s %-10s %-6s %-11s %-9s %12s %12s %7s\n" model stages policy opt mode activations "estimate GB" "peak RSS GB" ratio
fail=0
for r in "${runs[@]}"; do
  read -r model stages policy opt mode rest <<< "$r"
  # shellcheck disable=SC2206
  data=($rest)
  common=(--set /workload/model="$model" --set "/pipeline/stages=$stages"
    --set /pipeline/policy="$policy" --set /workload/optimizer/kind="$opt"
    --set /workload/batch_size=32 --set /workload/epochs=1 --set /run/threads=1
    --set /pipeline/stability_check=false "${data[@]}")
  est=$("$LPSIM" check-config "${common[@]}" 2>&1 | awk '/estimated memory/ {print $3}')
  flags=()
  [[ $mode == --reference ]] && flags=(--reference)
  /usr/bin/time -f "%M" -o "$work/rss" "$LPSIM" run -q "${flags[@]}" "${common[@]}" \
    --out "$work/out" > /dev/null 2>&1
  rss=$(awk '{printf "%.3f", $1 * 1024 / 1e9}' "$work/rss")
  ratio=$(echo "$rss / $est" | bc -l)
  act=keep
  [[ $rest == *recompute* ]] && act=recompute
  [[ $rest == *recompute* && $rest == *keep* ]] && act=mixed
  printf "%-10s %-22s %-10s %-6s %-11s %-9s %12s %12s %7.2f\n" "$model" "$stages" "$policy" "$opt" \
    "${mode#--}" "$act" "$est" "$rss" "$ratio"
  if (( $(echo "$rss > $est" | bc -l) )); then fail=1; fi
done
if (( fail )); then
  echo "a run resided in more than its estimate" >&2
  exit 1
fi
echo "every run within its estimate"

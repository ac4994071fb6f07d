#!/usr/bin/env bash
# Training speed against PyTorch on the same CPU (issues 14 and 30): milliseconds per minibatch
# of mlp3, cnn3 and resnet18 at batch 32 on Fashion-MNIST ([1,28,28]) and of gpt_small with
# AdamW at batch 16 on 128-token windows, for `lpsim run` (the SystemC model
# with the math), `lpsim run --reference` and PyTorch (bench/pytorch_step.py), each at 1 thread
# and at every core (lpsim --threads N; torch.set_num_threads(N) and OpenBLAS's own thread count,
# which torch.set_num_threads does not reach), and the ratios
# lpsim / PyTorch at equal threads.
#
# lpsim runs policy sync, the step PyTorch takes: with delays, the first 2·S minibatches of an
# S-stage pipeline each hold a new set of activations, so a short run would time the memory
# growth of the warm-up (first-touch page faults), not the step.
#
# lpsim's time per minibatch is the difference of two runs of different length divided by
# the difference in minibatches, so start-up, data loading and evaluation cancel.
#
# Usage: bench/vs_pytorch.sh     Environment: LPSIM (default build/release/lpsim)
# Needs /usr/bin/python3 with python3-torch and libopenblas0-pthread (a benchmark dependency,
# not a test one: apt-get install python3-torch libopenblas0-pthread), jq and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# seconds MODEL MINIBATCHES [lpsim options]: wall seconds of one run
seconds() {
  local model=$1 n=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  local data=(--set /workload/dataset/train_limit=$((n * 32))
    --set /workload/dataset/test_limit=32)
  if [[ $model == gpt_small ]]; then
    # AdamW at batch 16 on 128-token windows (a synthetic token set), as pytorch_step.py
    data=(--set /workload/dataset/kind=synthetic_tokens
      --set "/workload/dataset/synthetic_tokens={\"context\":128,\"vocab\":256,\"train_samples\":$((n * 16)),\"test_samples\":16}"
      --set /workload/batch_size=16 --set /workload/optimizer/kind=adamw
      --set /workload/optimizer/lr=0.001)
  fi
  "$LPSIM" run -q "$@" --set /workload/model="$model" "${data[@]}" \
    --set /pipeline/stability_check=false --set /pipeline/reconstruction_diagnostic=false \
    --set /pipeline/policy=sync \
    --out "$work/out" > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

# ms_per_minibatch MODEL N1 N2 [options]
ms_per_minibatch() {
  local model=$1 n1=$2 n2=$3
  shift 3
  local a b
  a=$(seconds "$model" "$n1" "$@")
  b=$(seconds "$model" "$n2" "$@")
  echo "($b - $a) * 1000 / ($n2 - $n1)" | bc -l
}

declare -A N1=([mlp3]=100 [cnn3]=20 [resnet18]=2 [gpt_small]=2)
declare -A N2=([mlp3]=600 [cnn3]=120 [resnet18]=12 [gpt_small]=7)
cores=$(nproc)
# This workplace sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for old OpenBLAS builds; they
# slow a current one, so PyTorch runs without them (never changed for tests or CI).
torch_json=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/pytorch_step.py \
  --threads 1 "$cores" --models mlp3 cnn3 resnet18 gpt_small)
echo "$torch_json" | head -1 | jq -r '"PyTorch \(.torch), BLAS \(.blas)"'
printf "%-9s %7s %12s %14s %12s %12s %12s\n" model threads "lpsim run" "--reference" "torch" \
  "run/torch" "ref/torch"
for model in mlp3 cnn3 resnet18 gpt_small; do
  for t in 1 "$cores"; do
    hw=$(ms_per_minibatch "$model" "${N1[$model]}" "${N2[$model]}" --threads "$t")
    ref=$(ms_per_minibatch "$model" "${N1[$model]}" "${N2[$model]}" --threads "$t" --reference)
    tm=$(echo "$torch_json" | jq -r --arg m "$model" --argjson c "$t" 'select(.model == $m and .threads == $c) | .ms_per_step')
    printf "%-9s %7s %12.2f %14.2f %12.2f %12.2f %12.2f\n" "$model" "$t" "$hw" "$ref" "$tm" \
      "$(echo "$hw / $tm" | bc -l)" "$(echo "$ref / $tm" | bc -l)"
  done
done
echo "goal (issue 14): lpsim run per minibatch <= 1.0x PyTorch's step at equal threads"

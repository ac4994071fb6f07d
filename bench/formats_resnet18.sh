#!/usr/bin/env bash
# Issue 33's hardware table: ResNet-18 (CIFAR shape, batch 32) in 4 stages [10,10,10,11] and 8
# stages [6,4,6,4,6,4,6,5], timing only, under `stash`, with every class fp32; bf16 (weights,
# activations, both gradients; fp32 master); bf16 and a bf16 stash; and fp8 (e4m3 weights and
# activations, e5m2 activation gradients, bf16 weight gradients, fp32 master), at 8 MiB of SRAM
# per PE, MACs per cycle 1 in every format unless RATES is set (e.g. RATES=fast: bf16 2, fp8 4).
# Prints a markdown row per run: memory peaks by kind (MB), DRAM bytes, cycles and energy per
# minibatch (MAC energy by the product's format, hw.energy.arithmetic).
#   bench/formats_resnet18.sh        Environment: LPSIM (default build/release/lpsim), RATES
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rates='{"fp32":1,"fp16":1,"bf16":1,"fp8_e4m3":1,"fp8_e5m2":1}'
[ "${RATES:-}" = fast ] && rates='{"fp32":1,"fp16":2,"bf16":2,"fp8_e4m3":4,"fp8_e5m2":4}'
declare -A recipes=(
  [fp32]='{}'
  [bf16]='{"weights":"bf16","activations":"bf16","activation_gradients":"bf16","weight_gradients":"bf16"}'
  [bf16_stash]='{"weights":"bf16","activations":"bf16","activation_gradients":"bf16","weight_gradients":"bf16","stash":"bf16"}'
  [fp8]='{"weights":"fp8_e4m3","activations":"fp8_e4m3","activation_gradients":"fp8_e5m2","weight_gradients":"bf16"}'
)
echo "| stages | formats | weights + optimizer + gradients | stash | activations | in flight | total | DRAM / minibatch | cycles / minibatch | energy / minibatch (mJ) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for stages in "[10,10,10,11]" "[6,4,6,4,6,4,6,5]"; do
  for name in fp32 bf16 bf16_stash fp8; do
    sets=()
    while IFS= read -r kv; do
      [ -n "$kv" ] && sets+=(--set "/hw/numerics/$kv")
    done < <(python3 -c "import json,sys; [print(f'{k}=\"{v}\"') for k,v in json.loads(sys.argv[1]).items()]" "${recipes[$name]}")
    "$LPSIM" run -q --no-math --set /workload/model=resnet18 --set /workload/dataset/kind=synthetic \
      --set '/workload/dataset/synthetic={"shape":[3,32,32],"classes":10,"train_samples":2560,"test_samples":16}' \
      --set /workload/batch_size=32 --set /workload/epochs=1 --set "/pipeline/stages=$stages" \
      --set /pipeline/policy=stash --set /hw/sram/capacity_bytes=8388608 \
      --set "/hw/pe/macs_per_cycle_by_format=$rates" --set /pipeline/stability_check=false \
      "${sets[@]}" --out "$work/out" > /dev/null
    python3 - "$work/out/report.json" "$stages" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
m = s["memory_peak_bytes"]
mb = lambda b: f"{b / 1e6:,.1f}"
stages = len(json.loads(sys.argv[2]))
print(f"| {stages} | {sys.argv[3]} | {mb(m['weights'] + m['optimizer'] + m['gradients'])} | "
      f"{mb(m['stash'])} | {mb(m['activations'])} | {mb(m['in_flight'])} | {mb(m['total'])} | "
      f"{mb(s['dram_bytes'] / s['minibatches'])} | {s['cycles_per_minibatch']:,.0f} | "
      f"{s['energy_per_minibatch_pj'] / 1e9:,.1f} |")
PY
  done
done

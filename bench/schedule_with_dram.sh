#!/usr/bin/env bash
# README "LayerPipe against PipeDream", with memory: the schedule tables count compute and
# links only; this runs the same designs (configs/{vgg16,resnet18}_cifar_schedule.json: batch
# 32, stash, per-layer stages for LayerPipe) on the SystemC model, timing only, with the
# configs' SRAM (hw.sram.capacity_bytes 64 MiB per processor: residents beyond it move through
# DRAM) and with SRAM unbounded, on 7 and 14 processors, LayerPipe (intra+inter, per-layer
# stages, the modulo schedule) against PipeDream (its contiguous stages, 1F1B), and prints
# the measured cycles per minibatch, the scheduler's period and the DRAM bytes per minibatch.
# 1,200 minibatches each (38,400 synthetic samples) so that a steady state is found.
#
# Usage: bench/schedule_with_dram.sh [LPSIM]   (about 2 minutes on 2 cores)
set -euo pipefail
LPSIM=${1:-build/release/lpsim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '| network | P | SRAM per PE | LayerPipe scheduled | LayerPipe measured | LayerPipe DRAM B/mb | PipeDream scheduled | PipeDream measured | PipeDream DRAM B/mb | LayerPipe over PipeDream (measured) |\n'
printf '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n'
for net in vgg16 resnet18; do
  for P in 7 14; do
    for sram in 67108864 1099511627776; do
      row=()
      for mode in layerpipe pipedream; do
        sets=(--set "/pipeline/processors=$P" --set "/hw/sram/capacity_bytes=$sram"
              --set "/workload/dataset/synthetic/train_samples=38400")
        if [ "$mode" = pipedream ]; then
          sets+=(--set '/pipeline/scheduler="pipedream"')
        else
          sets+=(--set '/pipeline/backward_split="intra+inter"')
        fi
        "$LPSIM" run --no-math -q --config "configs/${net}_cifar_schedule.json" "${sets[@]}" \
          --out "$tmp/$mode" > /dev/null
        period=$("$LPSIM" schedule --config "configs/${net}_cifar_schedule.json" \
          --set "/hw/sram/capacity_bytes=$sram" --procs "$P" --json |
          python3 -c "import json,sys; m=sys.argv[1]; print(next(r['period'] for r in json.load(sys.stdin)['schedules'] if r['mode']==m))" \
          "$([ "$mode" = pipedream ] && echo pipedream || echo intra+inter)")
        row+=("$(python3 - "$tmp/$mode/report.json" "$period" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
steady = "" if s["steady_state_from"] >= 0 else " (no steady state)"
print(f"{float(sys.argv[2]):,.0f}|{s['cycles_per_minibatch']:,.0f}{steady}|"
      f"{s['dram_bytes'] / s['minibatches'] / 1e6:,.0f} MB|{s['cycles_per_minibatch']}")
P
)")
      done
      IFS='|' read -r lps lpm lpd lpc <<< "${row[0]}"
      IFS='|' read -r pds pdm pdd pdc <<< "${row[1]}"
      label=$([ "$sram" = 67108864 ] && echo "64 MiB" || echo "unbounded")
      ratio=$(python3 -c "print(f'{$pdc / $lpc:.2f}x')")
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$net" "$P" "$label" \
        "$lps" "$lpm" "$lpd" "$pds" "$pdm" "$pdd" "$ratio"
    done
  done
done

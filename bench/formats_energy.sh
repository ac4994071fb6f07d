#!/usr/bin/env bash
# Issue 33: the energy and memory of the accuracy tables' runs (configs/formats_{mlp6,cnn3,
# gpt_tiny}.json under configs/formats_grid.json's recipes and policies), timing only: the
# hardware's time, bytes and energy do not depend on the values it computes, nor on the seed.
# Prints a row per run: model, formats, policy, energy per minibatch (µJ), its MAC part (µJ),
# the MAC share, the memory peak (MB). MAC energy per format: hw.energy.arithmetic.
#   bench/formats_energy.sh            Environment: LPSIM (default build/release/lpsim)
# gpt_tiny reads data/fortunes_64 (scripts/fortunes_tokens 64).
set -euo pipefail
cd "$(dirname "$0")/.."
LPSIM=${LPSIM:-build/release/lpsim}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| model | formats | policy | energy / minibatch (µJ) | MAC energy (µJ) | MAC share | memory peak (MB) |"
echo "|---|---|---|---|---|---|---|"
for model in mlp6 cnn3 gpt_tiny; do
  python3 - configs/formats_grid.json <<'PY' > "$work/points"
import json, sys
seen = []
for p in json.load(open(sys.argv[1]))["points"]:
    key = (json.dumps(p["/hw/numerics"]), p["/pipeline/policy"])
    if key not in seen:
        seen.append(key)
        print(key[0] + "\t" + key[1])
PY
  while IFS=$'\t' read -r numerics policy; do
    "$LPSIM" run -q --no-math --config "configs/formats_$model.json" \
      --set "/hw/numerics=$numerics" --set "/pipeline/policy=$policy" --out "$work/out" > /dev/null
    python3 - "$work/out/report.json" "$model" "$numerics" "$policy" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
sys.path.insert(0, "scripts")
from formats_table import recipe
name = recipe(sys.argv[3])
e = r["energy"]
n = max(1, r["summary"]["minibatches"])
total = e["per_minibatch_pj"] / 1e6
mac = e["by_component_pj"]["mac"] / n / 1e6
peak = r["summary"]["memory_peak_bytes"]["total"] / 1e6
print(f"| {sys.argv[2]} | {name} | `{sys.argv[4]}` | {total:,.1f} | {mac:,.1f} | "
      f"{100 * mac / total:.0f}% | {peak:,.2f} |")
PY
  done < "$work/points"
done

#!/usr/bin/env bash
# Byte-for-byte comparison of what two lpsim binaries write for a fixed set of small runs
# (issue 29: a refactor must change nothing a user sees but `meta` and what it names). Each
# job runs with OLD into one temporary directory and with NEW into another, from inside
# that directory with the same relative --out, so the printed paths agree; then every file
# of the two trees is compared: the run's out dir (report.json, config.json, epochs.csv,
# and where the job asks for them trace.json, the saved weights and the checkpoint), its
# stdout, its stderr and its exit status. JSON files are compared canonicalised: loaded,
# the top-level "meta" object deleted, dumped with sort_keys=True, indent=1; other files
# as they are.
#
# The set (every job -q, --threads 1 unless named, synthetic data):
#   mlp3_<policy>_math / _nomath  mlp3 per-layer stages under every weight policy (sync,
#                       none, stash, ema_grad, ema_weight, lwp, ema_lwp), 320 samples of
#                       [1,28,28], batch 16, 1 epoch, with the math and --no-math
#   mlp3_ema_grad_trace_save      + --trace, --save-weights and --checkpoint-every 5
#   mlp3_reference                --reference (ema_grad)
#   cnn3_small_sram_*   cnn3 per layer, 96 KiB or 128 KiB of SRAM per PE (residents spill to
#                       DRAM), 2 DRAM channels: stash with the math at 2 threads, ema_weight
#                       and lwp timing only
#   mlp6_layerpipe_*    pipeline.processors 3 (LayerPipe's modulo schedule),
#                       backward_split intra+inter, stash with the math; cnn3 on 2 processors,
#                       intra+inter, ema_lwp timing only
#   mlp6_pipedream      pipeline.scheduler pipedream on 3 processors, stash, with the math
#   resnet18_nomath     bench/configs/resnet18_timing_only.json for 8 minibatches, --no-math
#
# Prints each differing file with the JSON paths that differ (old -> new; the allowed ones
# folded over their array indices; at most MAX_PATHS lines per file, default 12) or the
# differing lines, then `N same, M differ`.
# --allow-moved PATH (repeatable; or ALLOW_MOVED="PATH PATH ...") names JSON paths whose
# differences are expected: they are printed, marked "allowed", but not counted as failures.
# A PATH matches itself and everything below it; `[*]` is any index and `*` any key, e.g.
#   --allow-moved 'memory_by_stage[*].measured' --allow-moved summary.memory_peak_bytes
# (the activation-gradient bytes moved from kind "gradients" to "in_flight").
# Exits 0 when every difference is allowed, 1 on an unexpected one, 2 when a job fails
# with both binaries (the job itself is broken) or on a usage error.
#
# Usage: bench/compare_reports.sh [--allow-moved PATH]... [--keep DIR] OLD NEW
#   e.g. bench/compare_reports.sh /work/baseline/lpsim build/release/lpsim
#   --keep DIR keeps the outputs in DIR/old and DIR/new (DIR must not exist).
# Environment: ALLOW_MOVED, MAX_PATHS (12), JOBS (a regex: only the jobs it matches).
# Takes about 10 s on the 2-core VM (23 jobs, each run with both binaries).
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

allow=()
read -r -a allow <<<"${ALLOW_MOVED:-}"
keep=
positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --allow-moved) [[ $# -ge 2 ]] || usage; allow+=("$2"); shift 2 ;;
    --allow-moved=*) allow+=("${1#*=}"); shift ;;
    --keep) [[ $# -ge 2 ]] || usage; keep=$2; shift 2 ;;
    --keep=*) keep=${1#*=}; shift ;;
    -h | --help) usage ;;
    --) shift; positional+=("$@"); break ;;
    -*) echo "compare_reports: unknown option $1" >&2; usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
[[ ${#positional[@]} -eq 2 ]] || usage
abs() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
OLD=$(abs "${positional[0]}")
NEW=$(abs "${positional[1]}")
[[ -z $keep ]] || keep=$(abs "$keep")
cd "$(dirname "$0")/.."
ROOT=$PWD
MAX_PATHS=${MAX_PATHS:-12}
JOBS=${JOBS:-}

for b in "$OLD" "$NEW"; do
  if [[ ! -x $b ]]; then
    echo "compare_reports: $b is not an executable lpsim" >&2
    exit 2
  fi
done
if [[ -n $keep && -e $keep ]]; then
  echo "compare_reports: --keep $keep exists" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$work/old" "$work/new"

small=(--set /workload/dataset/kind=synthetic
       --set '/workload/dataset/synthetic={"shape":[1,28,28],"classes":10,"train_samples":320,"test_samples":64}'
       --set /workload/batch_size=16
       --set /workload/epochs=1)
broken=()

# job NAME ARGS...: `lpsim run -q ARGS --out NAME` with each binary, from $work/old and
# $work/new; stdout, stderr and the exit status go to NAME.stdout, NAME.stderr, NAME.status
job() {
  local name=$1
  shift
  [[ -z $JOBS || $name =~ $JOBS ]] || return 0
  local side bin status=()
  for side in old new; do
    bin=$OLD
    [[ $side == new ]] && bin=$NEW
    local rc=0
    # not in a subshell: on a signal this shell waits for lpsim before the EXIT trap cleans up
    cd "$work/$side"
    "$bin" run -q "$@" --out "$name" >"$name.stdout" 2>"$name.stderr" || rc=$?
    cd "$ROOT"
    echo "$rc" >"$work/$side/$name.status"
    status+=("$rc")
  done
  printf '  %-34s exit %s %s\n' "$name" "${status[0]}" "${status[1]}"
  if [[ ${status[0]} != 0 && ${status[1]} != 0 ]]; then
    broken+=("$name")
    sed 's/^/    old: /' "$work/old/$name.stderr" | head -5
  fi
}

echo "OLD: $OLD"
echo "NEW: $NEW"
echo "runs:"
for policy in sync none stash ema_grad ema_weight lwp ema_lwp; do
  for math in math nomath; do
    extra=()
    [[ $math == nomath ]] && extra=(--no-math)
    job "mlp3_${policy}_$math" --threads 1 "${small[@]}" "${extra[@]}" \
      --set /workload/model=mlp3 --set /pipeline/stages=per_layer --set /pipeline/policy="$policy"
  done
done
job mlp3_ema_grad_trace_save --threads 1 "${small[@]}" --set /workload/model=mlp3 \
  --set /pipeline/policy=ema_grad --trace mlp3_ema_grad_trace_save/trace.json \
  --save-weights mlp3_ema_grad_trace_save/weights --checkpoint-every 5
job mlp3_reference --threads 1 "${small[@]}" --reference --set /workload/model=mlp3 \
  --set /pipeline/policy=ema_grad
job cnn3_small_sram_stash_math --threads 2 "${small[@]}" --set /workload/model=cnn3 \
  --set /pipeline/policy=stash --set /pipeline/stability_check=false \
  --set /hw/sram/capacity_bytes=98304 --set /hw/dram/channels=2
job cnn3_small_sram_ema_weight_nomath --threads 1 "${small[@]}" --no-math \
  --set /workload/model=cnn3 --set /pipeline/policy=ema_weight \
  --set /hw/sram/capacity_bytes=131072 --set /hw/dram/channels=2
job cnn3_small_sram_lwp_nomath --threads 1 "${small[@]}" --no-math \
  --set /workload/model=cnn3 --set /pipeline/policy=lwp \
  --set /hw/sram/capacity_bytes=98304 --set /hw/dram/channels=2
job mlp6_layerpipe_stash_math --threads 1 "${small[@]}" --set /workload/model=mlp6 \
  --set /pipeline/policy=stash --set /pipeline/processors=3 \
  --set /pipeline/backward_split=intra+inter
job cnn3_layerpipe_ema_lwp_nomath --threads 1 "${small[@]}" --no-math --set /workload/model=cnn3 \
  --set /pipeline/policy=ema_lwp --set /pipeline/processors=2 \
  --set /pipeline/backward_split=intra+inter
job mlp6_pipedream_stash_math --threads 1 "${small[@]}" --set /workload/model=mlp6 \
  --set /pipeline/policy=stash --set /pipeline/scheduler=pipedream --set /pipeline/processors=3
job resnet18_nomath --threads 1 --no-math --config "$ROOT/bench/configs/resnet18_timing_only.json" \
  --set /workload/dataset/synthetic/train_samples=256

cat >"$work/compare.py" <<'EOF'
import json, os, re, sys

old_root, new_root, max_paths = sys.argv[1], sys.argv[2], int(sys.argv[3])
ident = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

def parse_pattern(text):
    segs, pos = [], 0
    token = re.compile(r'\.?(?:\[(\*|\d+)\]|\["([^"]*)"\]|([^.\[\]]+))')
    while pos < len(text):
        m = token.match(text, pos)
        if not m or m.end() == pos:
            sys.exit(f"compare_reports: cannot read the JSON path {text!r}")
        if m.group(1) is not None:
            segs.append(("i", m.group(1)))
        elif m.group(2) is not None:
            segs.append(("k", m.group(2)))
        else:
            segs.append(("k", m.group(3)))
        pos = m.end()
    return segs

allowed = [parse_pattern(p) for p in sys.argv[4:] if p]

def is_allowed(path):
    for pat in allowed:
        if len(pat) > len(path):
            continue
        ok = True
        for (pk, pv), (k, v) in zip(pat, path):
            if pk != k or (pv != "*" and pv != str(v)):
                ok = False
                break
        if ok:
            return True
    return False

def show_path(path):
    out = ""
    for k, v in path:
        if k == "i":
            out += f"[{v}]"
        elif ident.match(v):
            out += ("." if out else "") + v
        else:
            out += f'["{v}"]'
    return out or "(root)"

def show_value(v):
    s = "<absent>" if v is ABSENT else json.dumps(v, sort_keys=True)
    return s if len(s) <= 60 else s[:57] + "..."

ABSENT = object()

def walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            walk(a.get(k, ABSENT), b.get(k, ABSENT), path + [("k", k)], out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            walk(a[i] if i < len(a) else ABSENT, b[i] if i < len(b) else ABSENT,
                 path + [("i", i)], out)
    elif a is ABSENT or b is ABSENT or json.dumps(a) != json.dumps(b):
        out.append((path, a, b))

def load_json(path):
    with open(path, "rb") as f:
        data = json.loads(f.read())
    if isinstance(data, dict):
        data.pop("meta", None)
    return data

def canonical(data):
    return json.dumps(data, sort_keys=True, indent=1).encode()

def files(root):
    found = set()
    for d, _, names in os.walk(root):
        for n in names:
            found.add(os.path.relpath(os.path.join(d, n), root))
    return found

old_files, new_files = files(old_root), files(new_root)
same = differ = allowed_only = 0
for rel in sorted(old_files | new_files):
    if rel not in old_files or rel not in new_files:
        differ += 1
        print(f"DIFF  {rel}: only written by {'OLD' if rel in old_files else 'NEW'}")
        continue
    po, pn = os.path.join(old_root, rel), os.path.join(new_root, rel)
    parsed = False
    if rel.endswith(".json"):
        try:
            a, b = load_json(po), load_json(pn)
            parsed = True
        except ValueError:
            pass
    if parsed:
        if canonical(a) == canonical(b):
            same += 1
            continue
        diffs = []
        walk(a, b, [], diffs)
        marks = [is_allowed(p) for p, _, _ in diffs]
        unexpected = marks.count(False)
        differ += 1
        if unexpected == 0:
            allowed_only += 1
        print(f"DIFF  {rel}: {len(diffs)} JSON paths, {unexpected} unexpected")
        # Each unexpected path on its line; the allowed ones folded over their indices, with
        # how many and the first one's values.
        lines = [f"      {show_path(p)}: {show_value(x)} -> {show_value(y)}"
                 for (p, x, y), ok in zip(diffs, marks) if not ok]
        folded = {}
        for (p, x, y), ok in zip(diffs, marks):
            if ok:
                key = show_path([(k, "*" if k == "i" else v) for k, v in p])
                folded.setdefault(key, [0, x, y])[0] += 1
        for key, (n, x, y) in folded.items():
            lines.append(f"      {key}" + (f" ({n} paths), first" if n > 1 else "") +
                         f": {show_value(x)} -> {show_value(y)}   (allowed)")
        for line in lines[:max_paths]:
            print(line)
        if len(lines) > max_paths:
            print(f"      ... and {len(lines) - max_paths} more lines")
        continue
    with open(po, "rb") as f:
        x = f.read()
    with open(pn, "rb") as f:
        y = f.read()
    if x == y:
        same += 1
        continue
    differ += 1
    try:
        lx, ly = x.decode().splitlines(), y.decode().splitlines()
    except UnicodeDecodeError:
        print(f"DIFF  {rel}: binary files differ ({len(x)} and {len(y)} bytes)")
        continue
    print(f"DIFF  {rel}: text differs")
    shown = 0
    for i in range(max(len(lx), len(ly))):
        u = lx[i] if i < len(lx) else "<absent>"
        v = ly[i] if i < len(ly) else "<absent>"
        if u != v:
            if shown == max_paths:
                print("      ...")
                break
            print(f"      line {i + 1} old: {u}\n      line {i + 1} new: {v}")
            shown += 1

print(f"{same} same, {differ} differ" +
      (f" ({allowed_only} only at allowed paths)" if allowed_only else ""))
sys.exit(1 if differ > allowed_only else 0)
EOF

if ((${#allow[@]})); then
  echo "allowed to differ: ${allow[*]}"
fi
rc=0
python3 "$work/compare.py" "$work/old" "$work/new" "$MAX_PATHS" "${allow[@]}" || rc=$?
if [[ -n $keep ]]; then
  mkdir -p "$keep"
  cp -r "$work/old" "$work/new" "$keep/"
  echo "outputs kept in $keep/old and $keep/new"
fi
if ((${#broken[@]})); then
  echo "compare_reports: failed with both binaries: ${broken[*]}" >&2
  exit 2
fi
exit "$rc"

#!/usr/bin/env bash
# Speedup of a 16-point sweep on 2 MPI ranks over 1 rank (and locally with -j 2 over -j 1),
# same machine, same run. Goal (issue 6): >= 1.8 on 2 cores. Exits non-zero only when a
# sweep fails to run.
#
# SAMPLES (default 16384 synthetic training samples) sets the size of each point: about 1.2 s
# of simulation each on this project's 2-core machine. MPI adds a fixed start-up cost (about
# 0.35 s for mpirun + MPI_Init, printed below), so much smaller points (SAMPLES=4096, 0.3 s
# each) measure that constant rather than the load balancing.
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
      --set "/workload/dataset/synthetic={\"train_samples\":${SAMPLES:-16384},\"test_samples\":256}"
      --set /pipeline/stability_check=false)
seconds() {  # runs "$@", prints its wall time
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
report() {  # $1 label, $2 one, $3 two
  awk -v l="$1" -v t1="$2" -v t2="$3" 'BEGIN {
    r = t1 / t2
    printf "16-point sweep, %s: %.2f s vs %.2f s, speedup %.2f (goal >= 1.8): %s\n", l, t1, t2, r,
           (r >= 1.8 ? "met" : "MISSED")
  }'
}
sweep() { "$LPSIM" sweep -q --grid "$work/grid.json" "${sets[@]}" "$@"; }
t1=$(seconds sweep -j 1 --out "$work/j1")
t2=$(seconds sweep -j 2 --out "$work/j2")
report "local -j 1 vs -j 2" "$t1" "$t2"
if command -v mpirun > /dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
  m1=$(seconds mpirun -n 1 "$LPSIM" sweep -q --mpi --grid "$work/grid.json" "${sets[@]}" --out "$work/m1")
  m2=$(seconds mpirun -n 2 "$LPSIM" sweep -q --mpi --grid "$work/grid.json" "${sets[@]}" --out "$work/m2")
  report "MPI 1 rank vs 2 ranks" "$m1" "$m2"
  m0=$(seconds mpirun -n 2 "$LPSIM" sweep -q --mpi --grid "$work/grid.json" "${sets[@]}" --out "$work/m2")
  echo "fixed MPI cost (the same sweep again, every point already done, 2 ranks): $m0 s"
  cmp -s "$work/j1/sweep.csv" "$work/m2/sweep.csv" || echo "WARNING: the local and MPI results differ"
fi

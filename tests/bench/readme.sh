#!/usr/bin/env bash
# Every figure in README.md and docs/, measured again on this machine in one go: the training benchmarks
# beside their references (bench_train.sh), prepare throughput (bench_prepare.sh), the gradient
# allreduce alone (bench_allreduce at 2, 4 and 8 ranks), checkpoint write and load, and the
# examples as README gives them (readme_demos.sh). The stop latency comes from
# tests/fault/signals.sh (ctest -R signals -V). Usage: tests/bench/readme.sh [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=${1:-/tmp/recur-readme}
mkdir -p "$work"
export RECUR=${RECUR:-$top/build/recur} OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "== training (table rows 1-3)"
"$here/bench_train.sh" 20 "$work/train"
echo "== prepare (table row 4)"
"$here/bench_prepare.sh" 500 "$work/prepare"
echo "== checkpoint write and load (table row 5): LSTM 2x512 + Adam, 2 ranks"
cd "$work" && rm -rf ck
"$RECUR" prepare "$work/train/lm.txt" -o ck.h5 --quiet
mpirun -np 2 "$RECUR" train --data ck.h5 --out ck --hidden 512 --batch 64 --steps 9 --ckpt-every 3 --quiet
mpirun -np 2 "$RECUR" train --resume ck --steps 10 --quiet
python3 - ck/metrics.jsonl <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
w = [x["checkpoint_s"] for x in m if "checkpoint_s" in x]
r = [x["resume_load_s"] for x in m if "resume_load_s" in x]
print("checkpoint write %.2f-%.2f s, load %.2f s" % (min(w), max(w), r[-1]))
PY
echo "== gradient allreduce alone"
for n in 2 4 8; do mpirun --oversubscribe -np $n "$top/build/tests/bench_allreduce"; done
echo "== the examples"
"$here/readme_demos.sh" "$work/demos"

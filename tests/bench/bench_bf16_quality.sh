#!/usr/bin/env bash
# bf16 quality: the same model, data and steps in fp32 and in bf16; the validation losses compared
# (issue target: bf16 within 1% of fp32). LSTM 2x512, batch 64 x 100, 2 ranks.
# Usage: tests/bench/bench_bf16_quality.sh [TEXT] [STEPS] [WORKDIR]
#   TEXT defaults to ../shared/datasets/tinyshakespeare.txt (never copied into the repo)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
recur=${RECUR:-$top/build/recur}
text=${1:-$top/../shared/datasets/tinyshakespeare.txt}
steps=${2:-400}
work=${3:-/tmp/recur-bench-bf16q}
mkdir -p "$work" && cd "$work"
rm -rf q-fp32 q-bf16
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
"$recur" prepare "$text" -o q.h5 --val 0.1 --quiet
args=(train --data q.h5 --cell lstm --layers 2 --hidden 512 --embed 64 --batch 64 --seq-len 100 --dropout 0.1
      --steps "$steps" --eval-every $((steps / 4)) --ckpt-every 0 --log-every 50 --quiet)
for p in fp32 bf16; do
  t0=$(date +%s.%N)
  mpirun -np 2 --bind-to core "$recur" "${args[@]}" --precision $p --out q-$p
  echo "$p: $(python3 -c "print(round($(date +%s.%N) - $t0))") s"
done
python3 - q-fp32/metrics.jsonl q-bf16/metrics.jsonl <<'PY'
import json, sys
f, b = ([r["val_loss"] for r in map(json.loads, open(p)) if "val_loss" in r] for p in sys.argv[1:3])
print("validation loss by quarter:  fp32", " ".join(f"{x:.4f}" for x in f))
print("                             bf16", " ".join(f"{x:.4f}" for x in b))
print(f"final: bf16 {b[-1]:.4f} vs fp32 {f[-1]:.4f}: {100 * (b[-1] - f[-1]) / f[-1]:+.2f}%")
PY

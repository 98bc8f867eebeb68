#!/usr/bin/env bash
# bf16 and oneDNN beside fp32 and PyTorch, measured in one run on this machine (issue: "bf16 on the
# matrix units"): LSTM 2x512 char LM (vocab 65, embed 64), batch 64, seq-len 100, one thread:
#  - recur fp32 (OpenBLAS, the default), fp32 with --gemm onednn, --precision bf16 (1 rank);
#  - PyTorch 1.13 fp32 and torch.autocast bf16 (../shared/bench/torch_lstm_lm.py), 1 thread;
#  - recur bf16 on 2 ranks (global batch 128, 64 per rank) against 1 rank at batch 64;
#  - oneDNN's own GEMM figures at the recurrent shape (../shared/bench/bf16_floor.c);
#  - the share of a bf16 step spent outside the matrix products (perf, when it works here).
# Usage: tests/bench/bench_bf16.sh [STEPS] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
recur=${RECUR:-$top/build/recur}
shared=${RECUR_SHARED_BENCH:-$top/../shared/bench}
steps=${1:-30}
work=${2:-/tmp/recur-bench-bf16}
mkdir -p "$work" && cd "$work"
rm -rf fp32 onednn bf16 bf16x2
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "bf16 units: $(lscpu | grep -o 'amx_bf16\|avx512_bf16' | sort -u | xargs || echo none)"
if [ ! -f lm.h5 ]; then
  python3 -c "
import random; r = random.Random(0); al = [chr(c) for c in range(32, 96)] + ['\n']
open('lm.txt', 'w').write(''.join(r.choice(al) for _ in range(128 * 101 * ($steps + 5) * 2)))"
  "$recur" prepare lm.txt -o lm.h5 --quiet
fi
rate() { python3 -c "
import json, sys
r = [json.loads(l)['tokens_per_s'] for l in open(sys.argv[1]) if 'tokens_per_s' in l][1:]
print(f'{sum(r) / len(r):.0f}')" "$1/metrics.jsonl"; }
lstm=(--data lm.h5 --cell lstm --layers 2 --hidden 512 --embed 64 --seq-len 100 --optim adam --ckpt-every 0
      --eval-every 0 --log-every 5 --steps "$steps")
"$recur" train "${lstm[@]}" --batch 64 --out fp32 --quiet
"$recur" train "${lstm[@]}" --batch 64 --out onednn --gemm onednn > onednn.txt
"$recur" train "${lstm[@]}" --batch 64 --out bf16 --precision bf16 > bf16.txt
grep -h "matrix products" onednn.txt bf16.txt
mpirun -np 2 --bind-to core "$recur" train "${lstm[@]}" --batch 128 --out bf16x2 --precision bf16 --quiet
f=$(rate fp32) o=$(rate onednn) b=$(rate bf16) b2=$(rate bf16x2)
tf="" tb=""
if /usr/bin/python3 -c "import torch" 2>/dev/null && [ -f "$shared/torch_lstm_lm.py" ]; then
  tf=$(/usr/bin/python3 "$shared/torch_lstm_lm.py" lstm 2 512 64 100 1 20 | grep -o '[0-9]* tokens/s' | cut -d' ' -f1)
  tb=$(/usr/bin/python3 "$shared/torch_lstm_lm.py" lstm 2 512 64 100 1 20 bf16 | grep -o '[0-9]* tokens/s' | cut -d' ' -f1)
fi
python3 - "$f" "$o" "$b" "$b2" "${tf:-0}" "${tb:-0}" <<'PY'
import sys
f, o, b, b2, tf, tb = map(float, sys.argv[1:])
print("LSTM 2x512, batch 64 x 100, 1 thread per rank, tokens/s:")
print(f"  recur fp32 OpenBLAS {f:8.0f}")
print(f"  recur fp32 oneDNN   {o:8.0f}  ({o / f:.2f}x fp32 OpenBLAS)")
print(f"  recur bf16          {b:8.0f}  ({b / f:.2f}x fp32 OpenBLAS)")
print(f"  recur bf16 2 ranks  {b2:8.0f}  ({b2 / b:.2f}x 1 rank; global batch 128)")
if tf:
    print(f"  PyTorch fp32        {tf:8.0f}  (recur fp32 {f / tf:.2f}x, recur fp32 oneDNN {o / tf:.2f}x)")
    print(f"  PyTorch bf16        {tb:8.0f}  (recur bf16 {b / tb:.2f}x)")
PY
if [ -f "$shared/bf16_floor.c" ]; then
  gcc -O2 "$shared/bf16_floor.c" -o bf16_floor -ldnnl -lopenblas -I/usr/include/x86_64-linux-gnu/openblas-pthread
  ./bf16_floor 2>/dev/null | head -3
fi
# where a bf16 step goes: oneDNN's JIT kernels (the matrix products) against recur's own code
if command -v perf >/dev/null && perf record -q -e cpu-clock -o perf.data -- "$recur" train "${lstm[@]}" \
     --steps 10 --batch 64 --out bf16p --precision bf16 --quiet >/dev/null 2>&1; then
  echo "bf16 step, share of samples (perf, cpu-clock):"
  perf report -i perf.data --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -5
  perf report -i perf.data --sort sym --stdio --dsos recur 2>/dev/null | grep -E '^ +[0-9.]+%' | head -6
fi
rm -rf bf16p

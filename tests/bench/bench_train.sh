#!/usr/bin/env bash
# Training throughput of recur beside its references, measured in one run on this machine:
#  - the GEMM floor (../shared/bench/gemm_floor.c: the sgemm calls of one merged-GEMM step alone)
#  - PyTorch 1.13 (Debian python3-torch) on the same model, 1 thread; DDP with 2 processes
#  - variable lengths: fortunes, one fortune a sequence cut at 400 chars, batch 32, vs PyTorch
# Usage: tests/bench/bench_train.sh [STEPS] [WORKDIR]     (needs python3-torch for the references)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
recur=${RECUR:-$top/build/recur}
shared=${RECUR_SHARED_BENCH:-$top/../shared/bench}
steps=${1:-25}
work=${2:-/tmp/recur-bench-train}
mkdir -p "$work" && cd "$work"
rm -rf r1 r1m r2 rv   # runs of an earlier bench: a run directory with checkpoints is not reused
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# 65 symbols of random text, enough for the steps wanted
if [ ! -f lm.h5 ]; then
  python3 -c "
import random; r = random.Random(0); al = [chr(c) for c in range(32, 96)] + ['\n']
open('lm.txt', 'w').write(''.join(r.choice(al) for _ in range(64 * 101 * ($steps + 5) * 2)))"
  "$recur" prepare lm.txt -o lm.h5 --quiet
fi
# mean tokens/s over the log lines after the first (warm-up)
rate() { python3 -c "
import json, sys
r = [json.loads(l)['tokens_per_s'] for l in open(sys.argv[1]) if 'tokens_per_s' in l][1:]
print(f'{sum(r) / len(r):.0f}')" "$1/metrics.jsonl"; }

lstm=(--cell lstm --layers 2 --hidden 512 --embed 64 --seq-len 100 --optim adam --ckpt-every 0 --log-every 5 --quiet)

if [ -f "$shared/gemm_floor.c" ]; then
  gcc -O2 "$shared/gemm_floor.c" -o gemm_floor -lopenblas -I/usr/include/x86_64-linux-gnu/openblas-pthread
  ./gemm_floor 2 512 64 65 64 100 | tee floor.txt
  ./gemm_floor 2 512 64 65 32 100 | tee floor32.txt
fi
"$recur" train --data lm.h5 --out r1 "${lstm[@]}" --batch 64 --steps "$steps"
r1=$(rate r1)
gf=$(python3 -c "
N = 64 * 100; H = 512; V = 65; E = 64
f = sum(2 * N * 4 * H * (3 * i + 3 * H) for i in (E, H)) + 6 * N * V * H
print(f'{f / (N / $r1) / 1e9:.1f}')")
echo "recur LSTM 2x512 B64 T100, 1 rank: $r1 tokens/s, $gf GFLOP/s"
python3 "$here/runmeasure.py" "$recur" train --data lm.h5 --out r1m "${lstm[@]}" --batch 64 --steps 3 2>&1 | grep -o 'peak RSS.*MiB' | sed 's/^/recur 1 rank /'
mpirun -np 2 --bind-to core "$recur" train --data lm.h5 --out r2 "${lstm[@]}" --batch 64 --steps "$steps"
r2=$(rate r2)
echo "recur LSTM 2x512 global B64 T100, 2 ranks: $r2 tokens/s ($(python3 -c "print(f'{$r2 / $r1:.2f}')")x one rank)"
python3 -c "
import json
r = [json.loads(l) for l in open('r2/metrics.jsonl') if 'comm_wait_s' in l][1:]
w = sum(x['comm_wait_s'] for x in r) / len(r); t = sum(x['comm_total_s'] for x in r) / len(r)
print(f'  gradient allreduce per step: {t * 1e3:.0f} ms from first bucket to done, {w * 1e3:.1f} ms not hidden behind backward ({(1 - w / t) * 100:.0f}% hidden)')"
if /usr/bin/python3 -c "import torch" 2>/dev/null && [ -d "$shared" ]; then
  /usr/bin/python3 "$shared/torch_lstm_lm.py" lstm 2 512 64 100 1 10
  /usr/bin/python3 "$shared/torch_ddp_lm.py" lstm 2 512 64 100 2 || true
fi
# variable lengths: fortunes, one fortune a sequence, cut at 400 characters, batch 32
if [ ! -f fortunes.h5 ]; then
  mapfile -t files < <(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
  "$recur" prepare "${files[@]}" -o fortunes.h5 --split-on separator --separator % --quiet
fi
"$recur" train --data fortunes.h5 --out rv --mode sequences --max-len 400 "${lstm[@]}" --batch 32 --steps "$steps"
echo "recur packed LSTM 2x512 B32 on fortunes (max 400): $(rate rv) real tokens/s"
if /usr/bin/python3 -c "import torch" 2>/dev/null && [ -d "$shared" ]; then
  /usr/bin/python3 "$shared/torch_varlen_lm.py" 512 2 32 1 10
fi

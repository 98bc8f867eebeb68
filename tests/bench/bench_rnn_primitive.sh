#!/usr/bin/env bash
# recur beside oneDNN's fused RNN primitive (bench_dnnl_rnn: forward and backward of the recurrent
# stack only) at the shapes of issue 31: LSTM 2x512 B64 x T100 and GRU 2x256 B16 x T50 (char LM,
# embed 64), fp32 and bf16, one rank, one thread, in one run. recur's figure is a whole training
# step (embedding, readout, softmax, Adam too) under its default --gemm auto, or --precision bf16.
#   tests/bench/bench_rnn_primitive.sh [SECONDS]   (default 20 per figure)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${RECUR:-$top/build/recur}
B=${BENCH_DNNL_RNN:-$top/build/tests/bench_dnnl_rnn}
secs=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(lscpu | grep -o 'amx_bf16\|avx512_bf16' | sort -u | xargs || true); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
python3 -c "
import random
r = random.Random(1)
print(''.join(r.choice('abcdefghij klmnopqrstuvwxyz.,\n') for _ in range(3_000_000)))" > "$work/t.txt"
"$R" prepare "$work/t.txt" -o "$work/d.h5" --quiet
recur_rate() { # CELL H B T [FLAGS]: tokens/s of recur train over the last half of its steps
  local cell=$1 h=$2 b=$3 t=$4
  shift 4
  rm -rf "$work/run"
  timeout -s INT "$secs" "$R" train --data "$work/d.h5" --out "$work/run" --cell "$cell" --layers 2 \
    --hidden "$h" --embed 64 --batch "$b" --seq-len "$t" --steps 1000000 --log-every 5 --ckpt-every 1000000 \
    --quiet "$@" > /dev/null 2>&1 || true
  python3 -c "
import json
r = [json.loads(l)['tokens_per_s'] for l in open('$work/run/metrics.jsonl') if 'tokens_per_s' in l]
r = r[len(r) // 2:]
print(f'{sum(r) / len(r):.0f}')"
}
for shape in "lstm 512 64 100" "gru 256 16 50"; do
  set -- $shape
  for p in f32 bf16; do
    flags=(); [ $p = bf16 ] && flags=(--precision bf16)
    prim=$("$B" "$1" 2 "$2" 64 "$3" "$4" $p "$secs" | grep -o '[0-9]* tokens/s' | cut -d' ' -f1)
    rec=$(recur_rate "$@" "${flags[@]}")
    echo "$1 2x$2 B$3 x T$4 $p: oneDNN primitive (stack only) $prim tokens/s; recur (whole step) $rec tokens/s = $(python3 -c "print(f'{$rec / $prim:.2f}')")x"
  done
done

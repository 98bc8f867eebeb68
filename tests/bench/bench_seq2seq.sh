#!/usr/bin/env bash
# Encoder-decoder speed against PyTorch (issue: GRU 2x256 with attention, batch 64, sources and
# targets of 20-60 characters, one thread): training tokens/s (source + target tokens) and greedy
# decoding of 1,000 inputs, recur beside tests/bench/torch_seq2seq.py (padded batches, as PyTorch
# users write it) in the same run. Usage: tests/bench/bench_seq2seq.sh [STEPS] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${RECUR:-$top/build/recur}
steps=${1:-60}
work=${2:-/tmp/recur-bench-seq2seq}
mkdir -p "$work" && cd "$work"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(lscpu | grep -o 'amx_bf16\|avx512_bf16' | sort -u | xargs || true)"
python3 "$here/make_pairs.py" pairs.txt
"$R" prepare pairs.txt -o pairs.h5 --task seq2seq --val 0 --quiet
model=(--task seq2seq --mode sequences --cell gru --layers 2 --hidden 256 --embed 64 --attention general --batch 64)
# (the trained model decodes in both: PyTorch loads its weights by name)
rate() { python3 - "$1" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"tokens_per_s"' in l][1:]  # after 2 warm-up steps
# per step: tokens = rate x its time (recur counts the decoder's inputs: target tokens with <eos>)
tok = sum(b["tokens_per_s"] * (b["elapsed_s"] - a["elapsed_s"]) for a, b in zip(rows, rows[1:]))
print("recur seq2seq GRU 2x256 attention general B=64%s: %.0f target tokens/s (%d steps)"
      % (sys.argv[2], tok / (rows[-1]["elapsed_s"] - rows[0]["elapsed_s"]), len(rows) - 1))
PY
}
for g in openblas onednn; do
  rm -rf run-$g
  "$R" train --data pairs.h5 --out run-$g "${model[@]}" --gemm $g --steps $((steps + 2)) --log-every 1 \
    --eval-every 0 --quiet
  rate run-$g/metrics.jsonl " --gemm $g"
done
rm -rf run && mv run-openblas run
/usr/bin/python3 "$here/torch_seq2seq.py" pairs.txt 256 2 64 64 "$steps" train
head -1000 pairs.txt | cut -f1 > src1000.txt
for g in openblas onednn; do
  t0=$(date +%s.%N)
  "$R" predict run --batch 64 --max-out 80 --gemm $g < src1000.txt > out1000-$g.txt
  t1=$(date +%s.%N)
  python3 -c "print('recur greedy decoding of 1000 inputs, --gemm $g: %.2f s (process start and model load included)' % ($t1 - $t0))"
done
cp out1000-openblas.txt out1000.txt
/usr/bin/python3 "$here/torch_seq2seq.py" pairs.txt 256 2 64 64 0 greedy 1000 run/model.h5 torch1000.txt
python3 -c "
a, b = (open(p).read().splitlines() for p in ('out1000.txt', 'torch1000.txt'))
print('the same outputs: %d of %d lines' % (sum(x == y for x, y in zip(a, b)), len(a)))"

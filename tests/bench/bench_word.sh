#!/usr/bin/env bash
# Word-level LM throughput with a large vocabulary (issue: word-level LMs): a Zipf corpus over
# V words, LSTM 2x512, embed 512, batch 32, window 35, one thread, recur's full softmax plain,
# tied (--tie-weights), projected (--proj 256), in bf16, and with the adaptive softmax (cutoffs
# V/25, V/5 as the reference's), beside PyTorch full, tied and adaptive
# (../shared/bench/torch_word_lm.py) in the same run.
# Usage: tests/bench/bench_word.sh [V] [STEPS] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
recur=${RECUR:-$top/build/recur}
shared=${RECUR_SHARED_BENCH:-$top/../shared/bench}
V=${1:-50000}
steps=${2:-20}
work=${3:-/tmp/recur-bench-word}
mkdir -p "$work" && cd "$work"
rm -rf w-*
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [ ! -f zipf-$V.h5 ]; then
  python3 - "$V" <<'PY'
import random, sys, itertools, bisect
V = int(sys.argv[1]); r = random.Random(0)
w = [1.0 / k for k in range(1, V + 1)]; cum = list(itertools.accumulate(w)); tot = cum[-1]
with open("zipf.txt", "w") as f:
    for _ in range(30000):  # lines of 20 words: 600k tokens
        f.write(" ".join("w%d" % bisect.bisect(cum, r.random() * tot) for _ in range(20)) + "\n")
PY
  "$recur" prepare zipf.txt -o zipf-$V.h5 --level word --split-on none --val 0 --quiet
fi
rate() { python3 -c "
import json, sys
r = [json.loads(l)['tokens_per_s'] for l in open(sys.argv[1]) if 'tokens_per_s' in l][1:]
print(f'{sum(r) / len(r):.0f}')" "$1/metrics.jsonl"; }
common=(--data zipf-$V.h5 --cell lstm --layers 2 --hidden 512 --embed 512 --batch 32 --seq-len 35 --steps "$steps"
        --log-every 5 --eval-every 0 --ckpt-every 0 --quiet)
"$recur" train "${common[@]}" --out w-full
"$recur" train "${common[@]}" --tie-weights --out w-tied
"$recur" train "${common[@]}" --proj 256 --embed 256 --tie-weights --out w-proj
"$recur" train "${common[@]}" --tie-weights --precision bf16 --out w-bf16
cut=$((V / 25)),$((V / 5))
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --out w-asm
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --precision bf16 --out w-asm-bf16
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --proj 256 --out w-asm-proj
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --gemm onednn --out w-asm-dnn
# 2 ranks (one per core): the embedding's gradient summed sparsely (default) and densely
mpirun=(mpirun -np 2); [ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
"${mpirun[@]}" "$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --out w-asm-n2
"${mpirun[@]}" "$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --sparse-reduce off --out w-asm-n2d
"${mpirun[@]}" "$recur" train "${common[@]}" --tie-weights --out w-tied-n2
# the same per-rank batch as one rank's (Horovod's convention: 32 rows on each rank, global 64)
"${mpirun[@]}" "$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --batch 64 --out w-asm-n2w
bytes() { python3 -c "
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if 'reduce_bytes' in l][1:]
b = sum(x['reduce_bytes'] for x in r) / len(r)
print(f'{b / 1e6:.1f} MB of {r[0][\"reduce_dense_bytes\"] / 1e6:.1f} MB dense ({b / r[0][\"reduce_dense_bytes\"]:.0%})')" "$1/metrics.jsonl"; }
vocab=$("$recur" inspect zipf-$V.h5 --json | grep -o '"vocab_size":[0-9]*' | cut -d: -f2)
echo "recur word LM, vocabulary $vocab (Zipf draws over $V words), LSTM 2x512, B32 x T35, tokens/s:"
echo "  full $(rate w-full), tied $(rate w-tied), proj 256 + tied (embed 256) $(rate w-proj), tied bf16 $(rate w-bf16)"
echo "  adaptive (cutoffs $cut) $(rate w-asm), adaptive bf16 $(rate w-asm-bf16), adaptive + proj 256 $(rate w-asm-proj), adaptive oneDNN fp32 $(rate w-asm-dnn)"
echo "  2 ranks: adaptive $(rate w-asm-n2) (sent per step $(bytes w-asm-n2)), dense sums $(rate w-asm-n2d), tied full $(rate w-tied-n2)"
echo "  2 ranks with 32 rows each (--batch 64): adaptive $(rate w-asm-n2w)"
if /usr/bin/python3 -c "import torch" 2>/dev/null && [ -f "$shared/torch_word_lm.py" ]; then
  /usr/bin/python3 "$shared/torch_word_lm.py" "$V" 512 2 512 32 35 10 full
  /usr/bin/python3 "$shared/torch_word_lm.py" "$V" 512 2 512 32 35 10 tied
  /usr/bin/python3 "$shared/torch_word_lm.py" "$V" 512 2 512 32 35 10 adaptive
fi

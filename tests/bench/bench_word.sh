#!/usr/bin/env bash
# Word-level LM throughput with a large vocabulary (issue: word-level LMs): a Zipf corpus over
# V words, LSTM 2x512, embed 512, batch 32, window 35, one thread, recur's full softmax plain,
# tied (--tie-weights), projected (--proj 256), in bf16, and with the adaptive softmax (cutoffs
# V/25, V/5 as the reference's), on OpenBLAS and on oneDNN (--gemm onednn); 2 ranks against 1 in
# alternating rounds; the matrix-product FLOPs per token against OpenBLAS's floor; beside PyTorch
# full, tied and adaptive (../shared/bench/torch_word_lm.py) and PyTorch DDP (torch_word_ddp.py)
# in the same run. REPS=N sets the rounds of the 2-rank comparison (2).
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
rm -rf w-* s-*
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
# a run's checkpoint and model (~0.5 GB at V = 50,000) go once its metrics are written
tidy() { for d in "$@"; do rm -rf "$d/checkpoints" "$d"/model*.h5; done; }
common=(--data zipf-$V.h5 --cell lstm --layers 2 --hidden 512 --embed 512 --batch 32 --seq-len 35 --steps "$steps"
        --log-every 5 --eval-every 0 --ckpt-every 0 --quiet)
"$recur" train "${common[@]}" --out w-full
"$recur" train "${common[@]}" --gemm onednn --out w-full-dnn
"$recur" train "${common[@]}" --tie-weights --out w-tied
"$recur" train "${common[@]}" --proj 256 --embed 256 --tie-weights --out w-proj
"$recur" train "${common[@]}" --tie-weights --precision bf16 --out w-bf16
cut=$((V / 25)),$((V / 5))
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --out w-asm
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --precision bf16 --out w-asm-bf16
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --proj 256 --out w-asm-proj
"$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --gemm onednn --out w-asm-dnn
tidy w-*
# 2 ranks (one per core) against 1 rank, REPS alternating rounds (these machines drift between runs):
# the global batch of 32 split (16 rows per rank), and 32 rows on each rank (--batch 64: issue 4's
# and Horovod's convention); the embedding's gradient summed sparsely (default), once densely
mpirun=(mpirun -np 2); [ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
reps=${REPS:-2}
scale() { # scale TAG FLAGS...: 1 rank B32, 2 ranks B32, 2 ranks B64, $reps rounds
  local tag=$1; shift
  for r in $(seq "$reps"); do
    "$recur" train "${common[@]}" "$@" --out s-$tag-1-$r
    "${mpirun[@]}" "$recur" train "${common[@]}" "$@" --out s-$tag-2-$r
    "${mpirun[@]}" "$recur" train "${common[@]}" "$@" --batch 64 --out s-$tag-2w-$r
    tidy s-$tag-*-$r
  done
}
scale asm --softmax adaptive --cutoffs $cut
scale asmdnn --softmax adaptive --cutoffs $cut --gemm onednn
scale tied --tie-weights
scale tieddnn --tie-weights --gemm onednn
"${mpirun[@]}" "$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --sparse-reduce off --out w-asm-n2d
"${mpirun[@]}" "$recur" train "${common[@]}" --softmax adaptive --cutoffs $cut --proj 256 --out w-asm-proj-n2
tidy w-*
bytes() { python3 -c "
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if 'reduce_bytes' in l][1:]
b = sum(x['reduce_bytes'] for x in r) / len(r)
print(f'{b / 1e6:.1f} MB of {r[0][\"reduce_dense_bytes\"] / 1e6:.1f} MB dense ({b / r[0][\"reduce_dense_bytes\"]:.0%})')" "$1/metrics.jsonl"; }
vocab=$("$recur" inspect zipf-$V.h5 --json | grep -o '"vocab_size":[0-9]*' | cut -d: -f2)
echo "recur word LM, vocabulary $vocab (Zipf draws over $V words), LSTM 2x512, B32 x T35, tokens/s:"
echo "  full $(rate w-full) (oneDNN $(rate w-full-dnn)), tied $(rate w-tied), proj 256 + tied (embed 256) $(rate w-proj), tied bf16 $(rate w-bf16)"
echo "  adaptive (cutoffs $cut) $(rate w-asm), adaptive bf16 $(rate w-asm-bf16), adaptive + proj 256 $(rate w-asm-proj), adaptive oneDNN fp32 $(rate w-asm-dnn)"
ratios() { # ratios TAG: each round's rates, and the median of the rounds' 2-rank/1-rank ratios
  local tag=$1 one=() two=() wide=() r
  for r in $(seq "$reps"); do
    one+=("$(rate s-$tag-1-$r)") two+=("$(rate s-$tag-2-$r)") wide+=("$(rate s-$tag-2w-$r)")
  done
  python3 - "$tag" "${one[*]}" "${two[*]}" "${wide[*]}" <<'PY'
import sys, statistics
tag, (one, two, wide) = sys.argv[1], [list(map(float, a.split())) for a in sys.argv[2:5]]
f = lambda xs: "/".join(f"{x:.0f}" for x in xs)
m = lambda xs: statistics.median(b / a for a, b in zip(one, xs))
print(f"  {tag}: 1 rank {f(one)}; 2 ranks x 16 rows {f(two)} ({m(two):.2f}x); 2 ranks x 32 rows "
      f"{f(wide)} ({m(wide):.2f}x) [median of the rounds' ratios]")
PY
}
echo "2 ranks against 1 (asm = adaptive, tied = full softmax with --tie-weights; dnn = --gemm onednn):"
for tag in asm asmdnn tied tieddnn; do ratios $tag; done
echo "  adaptive, 2 ranks x 16 rows: sent per step $(bytes s-asm-2-1); dense sums $(rate w-asm-n2d) tokens/s"
echo "  adaptive + proj 256, 2 ranks x 16 rows: $(rate w-asm-proj-n2) tokens/s, sent per step $(bytes w-asm-proj-n2)"
echo "  adaptive, 2 ranks x 32 rows: sent per step $(bytes s-asm-2w-1)"
# matrix-product FLOPs per token of the adaptive model (forward + backward = 3x forward): the LSTM,
# the head, and each tail weighted by the share of targets in its cluster
flops=$(python3 - zipf.txt "$vocab" "$cut" <<'PY'
import sys, collections
c = collections.Counter(w for l in open(sys.argv[1]) for w in l.split())
n = sum(c.values()) + sum(1 for _ in open(sys.argv[1]))  # + one <eos> a line
ranked = sorted(c.values(), reverse=True)  # ids 0, 1 are <eos>, <unk>; words from id 2
V = int(sys.argv[2]); a, b = map(int, sys.argv[3].split(","))
f1 = sum(ranked[a - 2:b - 2]) / n; f2 = sum(ranked[b - 2:]) / n
H = E = 512; lstm = 2 * (2 * 4 * H * (E + H)); head = 2 * H * (a + 2)
t1 = 2 * H * (H // 4) + 2 * (H // 4) * (b - a); t2 = 2 * H * (H // 16) + 2 * (H // 16) * (V - b)
print(f"{3 * (lstm + head + f1 * t1 + f2 * t2) / 1e6:.2f}")
PY
)
echo "matrix products of the adaptive model: $flops MFLOP per token: recur adaptive OpenBLAS $(python3 -c "print(f'{$(rate w-asm) * $flops / 1e3:.0f}')") GFLOP/s, oneDNN $(python3 -c "print(f'{$(rate w-asm-dnn) * $flops / 1e3:.0f}')") GFLOP/s"
if [ -f "$shared/peak_sgemm.py" ]; then # OpenBLAS's own best at a large product, through numpy
  /usr/bin/python3 "$shared/peak_sgemm.py" 2>/dev/null > peak.txt || true
  echo "OpenBLAS (numpy) floor: $(head -1 peak.txt)"
fi
if /usr/bin/python3 -c "import torch" 2>/dev/null && [ -f "$shared/torch_word_lm.py" ]; then
  /usr/bin/python3 "$shared/torch_word_lm.py" "$V" 512 2 512 32 35 10 full
  /usr/bin/python3 "$shared/torch_word_lm.py" "$V" 512 2 512 32 35 10 tied
  /usr/bin/python3 "$shared/torch_word_lm.py" "$V" 512 2 512 32 35 10 adaptive
  for bw in "32 1" "32 2" "64 2"; do # global batch, world
    /usr/bin/python3 "$here/torch_word_ddp.py" "$V" 512 2 512 "${bw% *}" 35 "${bw#* }" 10 adaptive
  done
fi

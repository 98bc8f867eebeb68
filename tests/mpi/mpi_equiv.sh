# World-size invariance: N ranks with global batch G train what 1 rank trains with --accum N,
# in stream and sequences modes (with dropout, so the counter-based masks are checked too):
# losses within relative 1e-5 over 20 steps and parameters within 1e-5.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
python3 - <<'PY'
import random
r = random.Random(5)
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
with open("text.txt", "w") as f:
    for i in range(1500):
        f.write(" ".join(r.choice(words) for _ in range(r.randint(1, 12))) + "\n")
PY
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --quiet
common=(--data d.h5 --cell lstm --layers 2 --hidden 24 --embed 8 --dropout 0.2 --steps 20 --log-every 1 --eval-every 10 --quiet)
compare() { # run-a run-b
  python3 - "$1/metrics.jsonl" "$2/metrics.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
la = [r["last_loss"] for r in a if "last_loss" in r]; lb = [r["last_loss"] for r in b if "last_loss" in r]
assert len(la) == len(lb) == 20, (len(la), len(lb))
worst = max(abs(x - y) / abs(y) for x, y in zip(la, lb))
va = [r["val_loss"] for r in a if "val_loss" in r]; vb = [r["val_loss"] for r in b if "val_loss" in r]
assert len(va) == len(vb) == 2
worst = max([worst] + [abs(x - y) / abs(y) for x, y in zip(va, vb)])
print(f"{sys.argv[1]} vs {sys.argv[2]}: worst relative loss difference {worst:.2e}")
assert worst < 1e-5, worst
PY
  "$H5TOOL" compare "$1/model.h5" "$2/model.h5" 1e-5 || fail "parameters of $1 and $2 differ"
}
for mode in stream sequences; do
  extra=(--mode $mode --batch 12 --seq-len 16 --max-len 40)
  "$RECUR" train "${common[@]}" "${extra[@]}" --out r1-$mode
  for n in 2 4; do
    "$RECUR" train "${common[@]}" "${extra[@]}" --out a$n-$mode --accum $n
    timeout 300 $MPIRUN -np $n "$RECUR" train "${common[@]}" "${extra[@]}" --out n$n-$mode
    compare n$n-$mode a$n-$mode
  done
  # and 2 ranks x accum 2 == 4 ranks == 1 rank x accum 4
  timeout 300 $MPIRUN -np 2 "$RECUR" train "${common[@]}" "${extra[@]}" --out n2a2-$mode --accum 2
  compare n2a2-$mode a4-$mode
  # accumulation changes the summation order only: 1 rank x accum 4 ~ 1 rank x accum 1
  compare a4-$mode r1-$mode
done
# tied weights (the readout's gradient lands in the embedding, at the end of the buffer): the
# bucketed, overlapped reduction still gives what --accum gives
tied=(--data d.h5 --cell lstm --layers 2 --hidden 24 --embed 24 --tie-weights --steps 20 --log-every 1 --eval-every 10
      --quiet --mode sequences --batch 12 --max-len 40)
"$RECUR" train "${tied[@]}" --out tied-a2 --accum 2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${tied[@]}" --out tied-n2
compare tied-n2 tied-a2
# awd-lstm-lm's regularisers: masks keyed by (seed, step, sequence or word), the same on every rank
awd=(--data d.h5 --cell lstm --layers 2 --hidden 24 --embed 8 --dropout-locked 0.3 --dropout-embed 0.2 --weight-drop 0.3 --steps 20
     --log-every 1 --eval-every 10 --quiet --mode sequences --batch 12 --max-len 40)
"$RECUR" train "${awd[@]}" --out awd-a2 --accum 2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${awd[@]}" --out awd-n2
compare awd-n2 awd-a2
# LSTM projections in stream mode: the carried h is --proj wide, c --hidden wide
proj=(--data d.h5 --cell lstm --layers 2 --hidden 24 --proj 10 --embed 8 --steps 20 --log-every 1 --eval-every 10
      --quiet --mode stream --batch 12 --seq-len 16)
"$RECUR" train "${proj[@]}" --out proj-a2 --accum 2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${proj[@]}" --out proj-n2
compare proj-n2 proj-a2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${proj[@]}" --steps 10 --ckpt-every 10 --out proj-part
timeout 300 $MPIRUN -np 2 "$RECUR" train --resume proj-part --steps 20
"$H5TOOL" compare proj-part/model.h5 proj-n2/model.h5 0 || fail "--proj: the resumed stream run differs"
expect_fail "--proj needs --cell lstm, not gru" "$RECUR" train --data d.h5 --cell gru --proj 4 --steps 1 --out proj-bad
expect_fail "--proj 32 must be smaller than --hidden 24" "$RECUR" train --data d.h5 --hidden 24 --proj 32 --steps 1 --out proj-bad
expect_fail "--dropout and --dropout-locked both drop between layers" \
  "$RECUR" train --data d.h5 --dropout 0.1 --dropout-locked 0.2 --steps 1 --out awd-bad
expect_fail "--tie-weights needs the embedding as wide as the last layer: --embed 8, --hidden 24" \
  "$RECUR" train --data d.h5 --hidden 24 --embed 8 --tie-weights --steps 1 --out tied-bad
# word level, a vocabulary far larger than a batch, the adaptive softmax: the embedding's gradient
# summed over the rows the ranks used (--sparse-reduce auto) equals the dense sum (off) on 2 and 4
# ranks, and sends <= 25% of the dense bytes; sums in bf16 (--grad-sum bf16, dense and sparse rows)
# send little more than half the bytes and stay within 1% of the fp32 sums' losses (bf16 rounding,
# 2^-9, of each addition); 2 ranks equal --accum 2; resume is bitwise
python3 - <<'PY'
import random
r = random.Random(9)
w = ["w%d" % i for i in range(3000)]
zipf = [1.0 / (k + 1) for k in range(len(w))]
with open("words.txt", "w") as f:
    for i in range(3000):
        f.write(" ".join(r.choices(w, zipf, k=r.randint(3, 15))) + "\n")
PY
"$RECUR" prepare words.txt -o w.h5 --level word --split-on line --val 0.05 --quiet
word=(--data w.h5 --cell lstm --layers 1 --hidden 16 --embed 16 --steps 20 --log-every 1 --eval-every 10 --quiet
      --mode sequences --batch 8 --max-len 12 --softmax adaptive --cutoffs 100,600)
for n in 2 4; do
  timeout 300 $MPIRUN --oversubscribe -np $n "$RECUR" train "${word[@]}" --out sp-n$n
  timeout 300 $MPIRUN --oversubscribe -np $n "$RECUR" train "${word[@]}" --sparse-reduce off --out dn-n$n
  compare sp-n$n dn-n$n
  python3 - sp-n$n/metrics.jsonl dn-n$n/metrics.jsonl <<'PY'
import json, sys
sp = [json.loads(l) for l in open(sys.argv[1]) if '"reduce_bytes"' in l]
dn = [json.loads(l) for l in open(sys.argv[2]) if '"reduce_bytes"' in l]
assert len(sp) == len(dn) == 20, (len(sp), len(dn))
ratio = max(a["reduce_bytes"] / a["reduce_dense_bytes"] for a in sp)
assert all(d["reduce_bytes"] == d["reduce_dense_bytes"] for d in dn), dn[0]
print(f"{sys.argv[1]}: sparse sums send at most {ratio:.1%} of the dense bytes per step")
assert ratio <= 0.25, ratio
PY
  timeout 300 $MPIRUN --oversubscribe -np $n "$RECUR" train "${word[@]}" --grad-sum bf16 --out bf-n$n
  python3 - sp-n$n/metrics.jsonl bf-n$n/metrics.jsonl <<'PY' || fail "--grad-sum bf16 on $n ranks"
import json, sys
sp = [json.loads(l) for l in open(sys.argv[1]) if '"reduce_bytes"' in l]
bf = [json.loads(l) for l in open(sys.argv[2]) if '"reduce_bytes"' in l]
assert len(sp) == len(bf) == 20, (len(sp), len(bf))
bytes_ = max(b["reduce_bytes"] / a["reduce_bytes"] for a, b in zip(sp, bf))
loss = max(abs(b["last_loss"] - a["last_loss"]) / a["last_loss"] for a, b in zip(sp, bf))
print(f"{sys.argv[2]}: bf16 sums send at most {bytes_:.1%} of the fp32 sums' bytes; losses within {loss:.1e}")
assert bytes_ <= 0.55 and 0 < loss < 1e-2, (bytes_, loss)
PY
done
asm=("${word[@]}")
"$RECUR" train "${asm[@]}" --out asm-a2 --accum 2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${asm[@]}" --out asm-n2
compare asm-n2 asm-a2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${asm[@]}" --steps 10 --ckpt-every 10 --out asm-part
timeout 300 $MPIRUN -np 2 "$RECUR" train --resume asm-part --steps 20
"$H5TOOL" compare asm-part/model.h5 asm-n2/model.h5 0 || fail "adaptive softmax: the resumed run differs"
# --embed-update lazy (SparseAdam's rule for the embedding): 2 ranks == --accum 2, the sparse and
# the dense sums give the same union and the same run, and it is not the dense update
timeout 300 $MPIRUN -np 2 "$RECUR" train "${asm[@]}" --embed-update lazy --out lazy-n2
"$RECUR" train "${asm[@]}" --embed-update lazy --accum 2 --out lazy-a2
compare lazy-n2 lazy-a2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${asm[@]}" --embed-update lazy --sparse-reduce off --out lazy-n2d
compare lazy-n2 lazy-n2d
! "$H5TOOL" compare lazy-n2/model.h5 asm-n2/model.h5 1e-4 > /dev/null || fail "--embed-update lazy changed nothing"
expect_fail "--embed-update lazy needs an untied embedding" "$RECUR" train --data w.h5 --embed 16 --hidden 16 --tie-weights \
  --embed-update lazy --steps 1 --out lazy-bad
# sampling draws from the whole distribution (head x tails): words of the vocabulary, seeded
"$RECUR" sample asm-n2 --length 30 --seed 3 > s1.txt
"$RECUR" sample asm-n2 --length 30 --seed 3 > s2.txt
cmp s1.txt s2.txt || fail "adaptive softmax: seeded samples differ"
[ "$(wc -w < s1.txt)" -ge 2 ] || fail "adaptive softmax: empty sample: $(cat s1.txt)"
python3 -c "import sys; bad = [w for w in open('s1.txt').read().split() if not w.startswith('w') and w != '<unk>']; assert not bad, bad"
# scheduled sampling feeds the model draws from the same distribution
"$RECUR" train "${asm[@]}" --scheduled-sampling linear --ss-k 0.5 --ss-c 0 --steps 3 --eval-every 0 --out asm-ss
expect_fail "--cutoffs: 600 after 900 is not increasing" "$RECUR" train --data w.h5 --softmax adaptive --cutoffs 900,600 \
  --steps 1 --out asm-bad
expect_fail "--cutoffs: 999999 is outside" "$RECUR" train --data w.h5 --softmax adaptive --cutoffs 100,999999 --steps 1 --out asm-bad
expect_fail "--tie-weights cannot be used with --softmax adaptive" "$RECUR" train --data w.h5 --softmax adaptive --cutoffs 100 \
  --tie-weights --embed 256 --steps 1 --out asm-bad
expect_fail "--cutoffs is for the adaptive softmax" "$RECUR" train --data w.h5 --cutoffs 100 --steps 1 --out asm-bad
expect_fail "--cutoffs 'a,b': expected" "$RECUR" train --data w.h5 --softmax adaptive --cutoffs a,b --steps 1 --out asm-bad
test ! -e asm-bad/checkpoints || fail "a refused run wrote checkpoints"
echo "mpi equivalence: ok"

# Uneven length buckets, a global batch that does not divide by the ranks, and a partial last
# batch: every rank runs the same steps, nothing hangs, and the result matches one rank.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
python3 -c "
import random
r = random.Random(1)
print('\n'.join('x' * r.choice([1, 2, 3, 50, 200]) for _ in range(103)))" > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.1 --quiet
args=(--data d.h5 --mode sequences --batch 10 --epochs 3 --cell gru --layers 1 --hidden 16 --log-every 1 --quiet)
timeout 120 $MPIRUN -np 3 "$RECUR" train "${args[@]}" --out n3 || fail "3 ranks with uneven data failed or hung"
timeout 120 "$RECUR" train "${args[@]}" --out a3 --accum 3
nseq=$("$RECUR" inspect d.h5 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['splits']['train']['sequences'])")
steps=$(grep -c last_loss n3/metrics.jsonl)
[ "$steps" = $(( 3 * ((nseq + 9) / 10) )) ] || fail "expected 3 epochs of ceil($nseq/10) steps, got $steps"
[ $((nseq % 10)) -ne 0 ] || fail "the test needs a partial last batch"
"$H5TOOL" compare n3/model.h5 a3/model.h5 1e-5 || fail "3 ranks differ from 1 rank x accum 3"
# more ranks than sequences in a batch: some ranks compute nothing in a step
timeout 120 $MPIRUN -np 4 "$RECUR" train --data d.h5 --mode sequences --batch 3 --steps 12 --cell rnn_tanh --layers 1 --hidden 8 --quiet --out n4 ||
  fail "4 ranks with batch 3 failed or hung"
echo "uneven: ok"

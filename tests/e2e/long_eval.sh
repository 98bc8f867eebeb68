# Evaluation in bounded memory: a delimited sequence of 200,000 tokens trains and evaluates (the
# final validation and recur eval) under a fixed peak RSS; windows with the state carried give the
# loss of whole sequences (lm, condlm, tag, forecast; RECUR_TEST_EVAL_FLOATS makes short sequences
# go in windows of a few tokens); an undelimited split in pieces side by side; a validation that runs out of memory (a bidirectional tagger, whose
# sequences are evaluated whole, under a memory limit) fails with a message that names what the
# memory was for, after the final checkpoint is committed (that case not under the sanitizers).
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
python3 - "$(dirname "$0")/.." <<'PY'
import random, sys
sys.path.insert(0, sys.argv[1])
import fixtures
r = random.Random(5)
words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "from", "home"]
with open("long.txt", "w") as f:  # four paragraphs of about 200,000 characters
    for p in range(4):
        f.write(" ".join(r.choice(words) for _ in range(52000))[:200000] + "\n\n")
with open("short.txt", "w") as f:
    for p in range(60):
        f.write(" ".join(r.choice(words) for _ in range(r.randint(20, 80))) + "\n\n")
fixtures.write_cond("cond.txt", r, 80, 20, 90)
fixtures.write_tag("tag.txt", r, 80, 20, 90)
fixtures.write_sines("fc.csv", r, 60, 30, 90)
fixtures.write_tag("longtag.txt", r, 4, 150000, 150000)
PY
peak() { python3 -c "
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)); sys.exit(rc)" "$@"; }
close() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a - b) <= 1e-5 * max(1, abs(b)) else 1)" "$1" "$2"; }
loss() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['loss'])" "$1"; }

# 1. 200,000-token sequences: training's final validation and recur eval under 400 MiB
"$RECUR" prepare long.txt -o long.h5 --split-on paragraph --val 0.25 --quiet
"$RECUR" inspect long.h5 --json | python3 -c "
import json, sys; d = json.load(sys.stdin)
assert d['splits']['val']['tokens'] >= 200000 and d['splits']['val']['sequences'] == 1, d['splits']" ||
  fail "the validation split is not one sequence of 200,000 tokens"
common=(--data long.h5 --mode stream --batch 8 --seq-len 50 --layers 1 --hidden 128 --embed 32 --quiet)
mb=$(peak "$RECUR" train "${common[@]}" --steps 5 --out run) || fail "training with a 200,000-token validation sequence failed"
echo "train 5 steps + final validation of 200,000 tokens: peak RSS $mb MiB"
[ "$mb" -lt 400 ] || fail "training's final validation took $mb MiB (bound 400)"
grep -q '"val_loss"' run/metrics.jsonl || fail "no validation"
mb=$(peak "$RECUR" eval run --data long.h5 --split val --json) || fail "eval failed"
echo "eval of 200,000 tokens: peak RSS $mb MiB"
[ "$mb" -lt 400 ] || fail "recur eval took $mb MiB (bound 400)"
"$RECUR" eval run --data long.h5 --split val --json > whole.json
RECUR_TEST_EVAL_FLOATS=100000 "$RECUR" eval run --data long.h5 --split val --json > win.json
close "$(loss win.json)" "$(loss whole.json)" || fail "windows of ~100 tokens: $(cat win.json), large windows: $(cat whole.json)"

# 2. windows of a few tokens give the whole sequences' loss, for every task with a loss per step
"$RECUR" prepare short.txt -o short.h5 --split-on paragraph --val 0.3 --quiet
"$RECUR" prepare cond.txt -o cond.h5 --task condlm --val 0.3 --quiet
"$RECUR" prepare tag.txt -o tag.h5 --task tag --val 0.3 --quiet
"$RECUR" prepare fc.csv -o fc.h5 --level real --val 0.3 --quiet
small=(--mode sequences --layers 2 --hidden 24 --embed 8 --batch 8 --steps 10 --quiet)
"$RECUR" train --data short.h5 --out r-lm "${small[@]}" --cell lstm --proj 12
"$RECUR" train --data cond.h5 --out r-cond "${small[@]}" --cell gru --cond-input
"$RECUR" train --data tag.h5 --out r-tag "${small[@]}" --cell rnn_tanh
"$RECUR" train --data fc.h5 --out r-fc "${small[@]}" --cell gru --loss gaussian
for c in lm:short cond:cond tag:tag fc:fc; do
  r=r-${c%%:*} d=${c##*:}.h5
  "$RECUR" eval $r --data $d --json > $r-whole.json
  RECUR_TEST_EVAL_FLOATS=2000 "$RECUR" eval $r --data $d --json > $r-win.json
  close "$(loss $r-win.json)" "$(loss $r-whole.json)" || fail "$r: windows $(cat $r-win.json) whole $(cat $r-whole.json)"
  echo "ok $r: windows of a few tokens $(loss $r-win.json) = whole $(loss $r-whole.json)"
done

# 3. an undelimited split (one stream) in pieces side by side, each after the first begun with the
# 256 tokens before it (train.h eval_piece_len): the same loss at 1 and 2 ranks and any batch,
# close to the whole stream's (RECUR_TEST_EVAL_PIECE past the split: one piece, exact); the burn-in
# is what brings it close (pieces of 256 tokens have none, of 257 a burn-in of 256)
python3 -c "
import random
r = random.Random(3)
words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'from', 'home']
print(' '.join(r.choice(words) for _ in range(24000)))" > stream.txt
"$RECUR" prepare stream.txt -o stream.h5 --val 0.5 --quiet
"$RECUR" train --data stream.h5 --out r-stream --layers 1 --hidden 48 --embed 8 --batch 8 --seq-len 40 \
  --steps 40 --lr 0.01 --quiet
ev() { "$@" --data stream.h5 --json > ev.json && loss ev.json; }
one=$(ev "$RECUR" eval r-stream)
two=$(ev $MPIRUN -np 2 "$RECUR" eval r-stream)
b3=$(ev "$RECUR" eval r-stream --batch 3)
exact=$(RECUR_TEST_EVAL_PIECE=100000000 ev "$RECUR" eval r-stream)
noburn=$(RECUR_TEST_EVAL_PIECE=256 ev "$RECUR" eval r-stream)
burn=$(RECUR_TEST_EVAL_PIECE=257 ev "$RECUR" eval r-stream)
close "$two" "$one" && close "$b3" "$one" || fail "pieces: 1 rank $one, 2 ranks $two, --batch 3 $b3"
python3 -c "
import sys
one, exact, noburn, burn = map(float, sys.argv[1:])
assert abs(one - exact) <= 1e-4 * exact, ('pieces', one, 'whole stream', exact)
assert abs(burn - exact) * 10 < abs(noburn - exact), ('burn-in', burn, 'none', noburn, 'exact', exact)
" "$one" "$exact" "$noburn" "$burn" || fail "an undelimited split's pieces: $one, whole $exact, 256-token pieces $noburn, 257 with a burn-in $burn"
echo "ok an undelimited split in pieces: $one on 1 rank = $two on 2 = $b3 at --batch 3, whole stream $exact; 256-token pieces $noburn, with a burn-in $burn"

# 4. a validation that runs out of memory: the final checkpoint is there, the message says what for
# (not under AddressSanitizer: it reserves terabytes of address space, so no limit on it can hold)
if [ -n "${RECUR_SANITIZED:-}" ]; then echo "long_eval: ok (the out-of-memory case runs unsanitized)"; exit 0; fi
"$RECUR" prepare longtag.txt -o longtag.h5 --task tag --val 0.25 --quiet
rc=0
(ulimit -v 2500000; "$RECUR" train --data longtag.h5 --out oom --mode sequences --bidirectional --layers 1 \
   --hidden 256 --embed 8 --batch 1 --max-len 100 --steps 3 --quiet) > oom.out 2> oom.err || rc=$?
[ "$rc" -ne 0 ] || fail "the bidirectional validation of 150,000 tokens fit under the limit (test needs a tighter one)"
grep -q "out of memory: .* for evaluation's activations" oom.err || fail "out-of-memory message: $(cat oom.err)"
grep -q "src/" oom.err && fail "the message names a source file: $(cat oom.err)"
[ -f oom/checkpoints/step-00000003/COMMIT ] || fail "no committed checkpoint of the last step before the failed validation"
"$RECUR" inspect oom/checkpoints/step-00000003 > /dev/null || fail "the checkpoint before the failed validation is not valid"
echo "ok a validation out of memory: $(head -1 oom.err); step 3 committed before it"
echo "long_eval: ok"

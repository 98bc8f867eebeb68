# What a new user meets in the first hour: exit codes, help and version, messages that name the
# real cause, errors printed once under mpirun, defaults said or refused, one validation loss for
# train and eval, sample's seed and stop, <unk> for a word prime, tokens per second that count
# tokens, the writer's version in every file.
source "$(dirname "$0")/../lib.sh"
MPIRUN="mpirun --oversubscribe"
# expect_rc CODE PATTERN CMD...: exit status CODE and PATTERN (fixed string) on stderr
expect_rc() {
  local want=$1 pat=$2; shift 2
  local rc=0
  "$@" >out.txt 2>err.txt || rc=$?
  [ "$rc" -eq "$want" ] || fail "exit $rc, expected $want: $* ($(head -c 300 err.txt))"
  grep -qF -- "$pat" err.txt || fail "expected '$pat' in the error of: $*; got: $(cat err.txt)"
  echo "ok (exit $rc): $*"
}
json() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read())[sys.argv[2]])" "$@"; }

# ---- exit codes, help, version ----
expect_rc 2 "usage: recur COMMAND" "$RECUR"
expect_rc 2 "unknown command 'trian'" "$RECUR" trian
expect_rc 2 "did you mean --hidden?" "$RECUR" train --hiden 3
expect_rc 2 "--lr expects a number" "$RECUR" train --lr fast
"$RECUR" train --nosuchflag 2> err.txt && fail "unknown flag accepted"
grep -q "did you mean" err.txt && fail "a far-off flag got a guess: $(cat err.txt)"
"$RECUR" --version > v.txt && grep -qE '^recur [0-9]+\.[0-9]+\.[0-9]+$' v.txt || fail "--version"
"$RECUR" help > h.txt && grep -q "usage: recur COMMAND" h.txt || fail "recur help"
for cmd in prepare inspect decode train sample eval predict report; do
  "$RECUR" $cmd --help > help.txt || fail "$cmd --help exits non-zero"
  "$RECUR" $cmd -h | cmp - help.txt || fail "$cmd -h differs from --help"
  "$RECUR" help $cmd | cmp - help.txt || fail "recur help $cmd differs from $cmd --help"
  grep -q "^usage: recur $cmd" help.txt || fail "$cmd --help has no usage line"
done
# (grep on a file, not a pipe: grep -q may exit before recur is done writing, and pipefail)
"$RECUR" eval --help > help.txt && grep -q -- "--max-len" help.txt || fail "eval --help lacks --max-len"
"$RECUR" prepare --help > help.txt && grep -q -- "-o, --out" help.txt || fail "prepare --help lacks --out"
"$RECUR" train --help > help.txt && grep -q -- "--lr X .*(default 0.002)" help.txt || fail "train --help lacks a default"

# ---- messages name the real cause ----
expect_rc 1 "(standard input)" "$RECUR" prepare - -o empty.h5 < /dev/null
grep -q "stdin-" err.txt && fail "an internal spool name leaked: $(cat err.txt)"
expect_rc 1 "is a directory" "$RECUR" train --data /tmp --out r
expect_rc 1 "No such file or directory (nosuch.h5)" "$RECUR" train --data nosuch.h5 --out r

# ---- data: fortunes-like documents, 300 of them (the default --val applies) ----
python3 - <<'PY'
import random
r = random.Random(3)
words = "the cat sat on a mat and then it ran far away from home while dogs slept".split()
with open("docs.txt", "w") as f:
    for i in range(300):
        f.write(" ".join(r.choice(words) for _ in range(r.randint(5, 25))) + "\n%\n")
with open("stream.txt", "w") as f:  # undelimited, about 125,000 characters
    f.write(" ".join(r.choice(words) for _ in range(30000)))
PY
"$RECUR" prepare docs.txt -o docs.h5 --split-on separator --separator % > prep.txt
grep -q "validation split: --val 0.05 (the default" prep.txt || fail "default --val not said: $(cat prep.txt)"
"$RECUR" prepare docs.txt -o noval.h5 --split-on separator --separator % --val 0 --quiet
head -30 docs.txt > few.txt
"$RECUR" prepare few.txt -o few.h5 --split-on separator --separator % > prep.txt
grep -q "no validation split: the input is small" prep.txt || fail "a small input's missing val not said"
"$RECUR" prepare stream.txt -o stream.h5 --val 0.6 --quiet # validation in pieces side by side (each after the first with a burn-in)

# ---- defaults said or refused ----
T="$RECUR train --cell lstm --layers 1 --hidden 32 --embed 16 --batch 8 --seq-len 20 --log-every 5"
expect_rc 2 "--steps must be at least 1" $T --data docs.h5 --out r0 --steps 0
expect_rc 2 "give --steps or --epochs, not both" $T --data docs.h5 --out r0 --steps 5 --epochs 2
expect_rc 1 "--eval-every 5: the dataset has no validation split" $T --data noval.h5 --out r0 --eval-every 5
$T --data noval.h5 --out r-noval --steps 3 > log.txt
grep -q "no validation: noval.h5 has no validation split" log.txt || fail "no validation not said: $(cat log.txt)"
$T --data docs.h5 --out r-epochs --epochs 2 > log.txt
grep -qE "2 epochs of [0-9]+ steps = [0-9]+ steps" log.txt || fail "epochs not said: $(head -3 log.txt)"
grep -q "validation every 5 minutes, and at the end" log.txt || fail "validation by time and at the end not said: $(grep validation log.txt)"

# ---- one validation loss: training's = recur eval's, across ranks and modes; best model ----
check_val() { # RUN DATA: the last val_loss in metrics.jsonl equals eval's, tokens too
  $MPIRUN -np 2 "$RECUR" eval "$1" --data "$2" --json > ev.json
  python3 - "$1/metrics.jsonl" ev.json "$1" <<'PY'
import json, sys
vals = [json.loads(l) for l in open(sys.argv[1]) if '"val_loss"' in l]
ev = json.load(open(sys.argv[2]))
last = vals[-1]
tok = ev.get("tokens", ev.get("sequences"))
assert abs(last["val_loss"] - ev["loss"]) <= 1e-6 * abs(ev["loss"]), (sys.argv[3], last, ev)
assert last["val_tokens"] == tok, (sys.argv[3], last, ev)
print(sys.argv[3], "validation", last["val_loss"], "= eval", ev["loss"], "over", tok)
PY
}
$MPIRUN -np 2 $T --data docs.h5 --out r-stream --mode stream --steps 30 --eval-every 10 --quiet
check_val r-stream docs.h5
$T --data docs.h5 --out r-seq --mode sequences --max-len 12 --steps 30 --eval-every 10 --quiet
check_val r-seq docs.h5
$MPIRUN -np 2 $T --data stream.h5 --out r-undelim --steps 20 --eval-every 10 --quiet
check_val r-undelim stream.h5
# model-best.h5 is the step with the lowest validation loss, and eval --best reads it
"$RECUR" eval r-stream --data docs.h5 --best --json > best.json
python3 - r-stream/metrics.jsonl best.json <<'PY'
import json, sys
vals = [json.loads(l)["val_loss"] for l in open(sys.argv[1]) if '"val_loss"' in l]
b = json.load(open(sys.argv[2]))["loss"]
assert abs(min(vals) - b) <= 1e-6 * b, (vals, b)
print("model-best.h5: val", b, "= min of", vals)
PY
# classify: tokens per second count tokens; sequences per second beside them
python3 -c "
import random; r = random.Random(1)
with open('cls.txt', 'w') as f:
    for i in range(400):
        lab = r.choice('ab'); f.write(lab + '\t' + ''.join(r.choice(lab + 'xyz') for _ in range(r.randint(20, 40))) + '\n')"
"$RECUR" prepare cls.txt -o cls.h5 --task classify --quiet
$T --data cls.h5 --out r-cls --task classify --mode sequences --steps 20 --eval-every 10 --quiet
check_val r-cls cls.h5
python3 - r-cls/metrics.jsonl <<'PY'
import json, sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if "tokens_per_s" in m:
        ratio = m["tokens_per_s"] / m["sequences_per_s"]
        assert 20 <= ratio <= 41, ("tokens per sequence", ratio, m)
print("classify: tokens/s = %.1f x sequences/s" % ratio)
PY

# ---- errors every rank meets are printed once, without MPI_Abort ----
rc=0; $MPIRUN -np 2 "$RECUR" train --hiden 3 > out.txt 2> err.txt || rc=$?
[ "$rc" -ne 0 ] || fail "a typo under mpirun exited 0"
[ "$(grep -c 'recur: error' err.txt)" -eq 1 ] || fail "the error is not printed once: $(cat err.txt)"
grep -q "MPI_ABORT" err.txt && fail "MPI_Abort's banner for an error every rank met"
rc=0; $MPIRUN -np 2 $T --data noval.h5 --out r0 --eval-every 5 > out.txt 2> err.txt || rc=$?
[ "$rc" -ne 0 ] && [ "$(grep -c 'recur: error' err.txt)" -eq 1 ] || fail "a data error is not printed once: $(cat err.txt)"
# an error one rank meets alone in setup still ends the job, with that rank's message
rc=0; RECUR_TEST_FAIL_SETUP_RANK=1 timeout 60 $MPIRUN -np 2 -x RECUR_TEST_FAIL_SETUP_RANK $T --data docs.h5 --out r-alone --steps 3 > out.txt 2> err.txt || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "a rank failing alone in setup: exit $rc"
grep -q "\[rank 1\] recur: error: test hook: rank 1 alone fails in setup" err.txt || fail "the lone rank's message is missing: $(cat err.txt)"

# ---- resume mismatch: values as typed ----
$T --data docs.h5 --out r-res --steps 4 --beta1 0.8 --quiet
expect_rc 1 "--beta1 0.85 (checkpoint: 0.8)" "$RECUR" train --resume r-res --beta1 0.85 --steps 6

# ---- sample: where a run has no model yet, why it stopped, the seed, <unk> ----
mkdir -p r-empty && echo '{"step":1}' > r-empty/metrics.jsonl
expect_rc 1 "the run has no checkpoint yet" "$RECUR" sample r-empty
"$RECUR" sample r-stream --length 7 --seed 9 2> err.txt > s1.txt
grep -qE "recur: [0-9]+ tokens, stopped (at --length|where the model ended the text)" err.txt || fail "stop not said: $(cat err.txt)"
"$RECUR" sample r-stream --length 40 2> err.txt > s2.txt
seed=$(sed -n 's/.*--seed \([0-9]*\) gives this text again.*/\1/p' err.txt)
[ -n "$seed" ] || fail "a fresh seed is not printed: $(cat err.txt)"
"$RECUR" sample r-stream --length 40 --seed "$seed" 2> /dev/null | cmp - s2.txt || fail "the printed seed does not reproduce the sample"
"$RECUR" sample r-stream --length 3000 --temperature 0 --seed 1 --json > s.json
python3 - s.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["stop"] in ("eos", "length") and s["seed"] == 1 and isinstance(s["text"], str), s
assert (s["stop"] == "eos") == (s["tokens"] < 3000), s
print("sample --json:", s["stop"], s["tokens"], "tokens")
PY
"$RECUR" prepare docs.txt -o words.h5 --level word --split-on separator --separator % --quiet
$T --data words.h5 --out r-words --steps 5 --quiet
"$RECUR" sample r-words --prime "the zebra sat" --length 3 --seed 1 > out.txt 2> err.txt || fail "an unknown prime word is an error"
grep -q "'zebra' is not in the model's vocabulary: read as <unk>" err.txt || fail "<unk> not said: $(cat err.txt)"
expect_rc 1 "'zebra' is not in the model's vocabulary" "$RECUR" sample r-words --prime "the zebra" --strict

# ---- the writer's version in every file ----
v=$("$RECUR" --version | cut -d' ' -f2)
for f in docs.h5 r-stream/model.h5 r-stream/checkpoints/step-00000030/state-rank-00000.h5; do
  h5dump -a recur_version "$f" > attr.txt && grep -q "\"$v\"" attr.txt || fail "$f lacks recur_version $v"
done
"$RECUR" inspect docs.h5 > insp.txt && grep -q "written by recur $v" insp.txt || fail "inspect does not show the writer"
echo "first hour: ok"

# Classification (many-to-one) and tagging (many-to-many, bidirectional): synthetic tasks that
# need the first token of a long sequence and tags that depend on later tokens; eval, predict,
# bad inputs; and the distributed and resumed runs behave as for language models.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
python3 - <<'PY'
import random
r = random.Random(4)
with open("cls.txt", "w") as f:   # the label is the first character of a 30-60 character line
    for i in range(2000):
        lab = r.choice("ab")
        f.write(f"first_{lab}\t{lab}" + "".join(r.choice("xy") for _ in range(r.randint(30, 60))) + "\n")
with open("tag.txt", "w") as f:   # the tag of a character says whether the NEXT one is a vowel
    for i in range(1500):
        s = "".join(r.choice("aeioubcdfg") for _ in range(r.randint(10, 40)))
        f.write(s + "\t" + "".join("V" if j + 1 < len(s) and s[j + 1] in "aeiou" else "C" for j in range(len(s))) + "\n")
with open("wtag.txt", "w") as f:  # word level: word/TAG tokens
    for i in range(400):
        f.write(" ".join(f"{w}/{'N' if w in ('cat', 'dog') else 'V'}" for w in r.sample(["cat", "dog", "runs", "eats", "sees"], 3)) + "\n")
PY
"$RECUR" prepare cls.txt -o cls.h5 --task classify --val 0.1 --quiet
"$RECUR" prepare tag.txt -o tag.h5 --task tag --val 0.1 --quiet
"$RECUR" inspect cls.h5 --json | grep -q '"task":"classify","outputs":\["first_a","first_b"\]' || fail "inspect of a classification dataset"
# round trips: decode gives back label<TAB>text, text<TAB>tags and word/TAG lines
"$RECUR" prepare cls.txt -o all-cls.h5 --task classify --val 0 --quiet && "$RECUR" decode all-cls.h5 | cmp - cls.txt || fail "classify round trip"
"$RECUR" prepare tag.txt -o all-tag.h5 --task tag --val 0 --quiet && "$RECUR" decode all-tag.h5 | cmp - tag.txt || fail "tag round trip"
acc() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['accuracy'])" "$1"; }
above() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$1" "$2"; }
common=(--mode sequences --layers 1 --hidden 32 --embed 8 --batch 32 --lr 0.01 --quiet)
# classification: the first token of a long sequence, mean-pooled LSTM and bidirectional LSTM (last steps)
"$RECUR" train --data cls.h5 --out c-mean --task classify --pool mean --cell lstm --steps 200 "${common[@]}"
"$RECUR" train --data cls.h5 --out c-bi --task classify --bidirectional --cell lstm --steps 200 "${common[@]}"
for r in c-mean c-bi; do
  "$RECUR" eval $r --data cls.h5 --json > $r.json
  python3 -c "import json; j = json.load(open('$r.json')); assert {'loss', 'accuracy', 'f1', 'confusion'} <= set(j), j"
  a=$(acc $r.json); echo "$r: accuracy $a"
  above "$a" 0.95 || fail "$r: accuracy $a below 0.95"
done
grep -q '"confusion"' c-mean/metrics.jsonl || fail "no confusion matrix in metrics.jsonl"
out=$(printf 'axyxyxxyyxyxyxyxyyxyxxyxyxyxyxyxx\nbyxyxyxyyyxxyxyxyxyxyxyyxyx\n' | "$RECUR" predict c-bi)
[ "$(echo "$out" | cut -f1 | tr '\n' ' ')" = "first_a first_b " ] || fail "predict: $out"
echo "$out" | awk -F'\t' '$2 < 0.5 || $2 > 1 { exit 1 }' || fail "predict probabilities: $out"
# a line the model cannot read: an empty output line in its place, a note naming it; --strict: an error
out=$(printf 'axyx
aQx
byxy
' | "$RECUR" predict c-bi 2> bad.err)
[ "$(echo "$out" | cut -f1 | tr '\n' ' ')" = "first_a  first_b " ] || fail "predict with a bad line: $out"
grep -q "no prediction: 'Q' is not in the model's vocabulary (standard input, line 2)" bad.err || fail "$(cat bad.err)"
grep -q "1 of 3 input lines had no prediction" bad.err || fail "no count of bad lines: $(cat bad.err)"
printf 'axyx
aQx
' | "$RECUR" predict c-bi --strict > /dev/null 2> bad.err && fail "--strict accepted a bad line"
grep -q "error: 'Q' is not in the model's vocabulary (standard input, line 2)" bad.err || fail "$(cat bad.err)"
# tagging: tags that depend on later tokens: bidirectional far above unidirectional
"$RECUR" train --data tag.h5 --out t-uni --task tag --cell gru --steps 150 "${common[@]}"
"$RECUR" train --data tag.h5 --out t-bi --task tag --cell gru --bidirectional --steps 150 "${common[@]}"
"$RECUR" eval t-uni --data tag.h5 --json > t-uni.json
"$RECUR" eval t-bi --data tag.h5 --json > t-bi.json
u=$(acc t-uni.json); b=$(acc t-bi.json); echo "tagging accuracy: unidirectional $u, bidirectional $b"
above "$b" 0.97 || fail "bidirectional tagger only $b"
above "$(python3 -c "print($b - $u)")" 0.25 || fail "bidirectional ($b) does not beat unidirectional ($u) by a wide margin"
[ "$("$RECUR" predict t-bi abeci)" = "CVCVC" ] || fail "tag predict: $("$RECUR" predict t-bi abeci)"
"$RECUR" inspect t-bi/model.h5 | grep -q "bidirectional gru" || fail "inspect does not say bidirectional"
/usr/bin/python3 -c "
import h5py; f = h5py.File('t-bi/model.h5')
assert 'rnn.weight_ih_l0_reverse' in f and f['decoder.weight'].shape == (2, 64) and f.attrs['task'] == b'tag', list(f)" ||
  fail "bidirectional parameters do not carry PyTorch's _reverse names"
# word-level tagging
"$RECUR" prepare wtag.txt -o wtag.h5 --task tag --level word --val 0.1 --quiet
"$RECUR" prepare wtag.txt -o all-wtag.h5 --task tag --level word --val 0 --quiet && "$RECUR" decode all-wtag.h5 | cmp - wtag.txt || fail "word tag round trip"
"$RECUR" train --data wtag.h5 --out w --task tag --cell lstm --steps 60 "${common[@]}"
[ "$("$RECUR" predict w "dog sees cat")" = "dog/N sees/V cat/N" ] || fail "word tag predict: $("$RECUR" predict w "dog sees cat")"
# bad inputs
mkdir out
printf 'no tab here\n' > bad1.txt
expect_fail "bad1.txt:line 1" "$RECUR" prepare bad1.txt -o out/x.h5 --task classify
printf 'abc\tVC\n' > bad2.txt
expect_fail "3 characters but 2 tags (bad2.txt:line 1)" "$RECUR" prepare bad2.txt -o out/x.h5 --task tag
printf 'dog/N cat\n' > bad3.txt
expect_fail "'cat' is not word/TAG" "$RECUR" prepare bad3.txt -o out/x.h5 --task tag --level word
no_leftovers out
expect_fail "the dataset is for --task tag, not --task lm" "$RECUR" train --data tag.h5 --out x --task lm
expect_fail "needs --mode sequences" "$RECUR" train --data tag.h5 --out x --task tag --mode stream
# distributed == accumulated, and resume is exact, for both tasks
for t in cls:classify tag:tag; do
  d=${t%%:*}; task=${t#*:}
  args=(--data $d.h5 --task $task --bidirectional --cell lstm --dropout 0.1 --layers 2 --steps 20 --ckpt-every 10 --log-every 1 "${common[@]}")
  timeout 300 $MPIRUN -np 2 "$RECUR" train "${args[@]}" --out $d-n2
  "$RECUR" train "${args[@]}" --accum 2 --out $d-a2
  "$H5TOOL" compare $d-n2/model.h5 $d-a2/model.h5 1e-5 || fail "$task: 2 ranks differ from 1 rank x accum 2"
  "$RECUR" train "${args[@]}" --steps 10 --out $d-r
  "$RECUR" train --resume $d-r --steps 20 --quiet
  "$RECUR" train "${args[@]}" --out $d-u
  "$H5TOOL" compare $d-r/model.h5 $d-u/model.h5 0 || fail "$task: resumed run is not bitwise the uninterrupted one"
done
echo "tasks: ok"

# One-to-many: a language model of a text given a label (--task condlm). prepare reads
# label<TAB>text lines (bad lines are named), training learns p(text | label) from every layer's
# initial state made from the label, `recur sample --label NAME` writes for that condition, an
# unknown or missing label is a one-line error listing the known ones, 2 ranks equal --accum 2,
# decode round-trips the dataset, and the model's conditional loss is far below an
# unconditioned model's on the same text.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
python3 - <<'PY'
import random, string
r = random.Random(3)
alph = {"upper": string.ascii_uppercase[:8], "lower": string.ascii_lowercase[:8], "digits": string.digits[:8]}
with open("c.txt", "w") as f:
    for i in range(1500):
        lab = r.choice(sorted(alph))
        f.write(lab + "\t" + "".join(r.choice(alph[lab]) for _ in range(r.randint(6, 24))) + "\n")
with open("plain.txt", "w") as f:  # the same texts without their labels
    for line in open("c.txt"):
        f.write(line.split("\t", 1)[1])
PY
"$RECUR" prepare c.txt -o c.h5 --task condlm --val 0.1 --quiet
"$RECUR" decode c.h5 > back.txt
"$RECUR" decode c.h5 --split val >> back.txt
sort back.txt > b1.txt && sort c.txt > b2.txt && cmp -s b1.txt b2.txt || fail "decode does not give back the condlm lines"
"$RECUR" inspect c.h5 > insp.txt
grep -q "task condlm: 3 labels" insp.txt || fail "inspect: $(cat insp.txt)"
printf 'upper\tABC\nno tab here\n' > bad1.txt
mkdir -p bad
expect_fail "bad1.txt:line 2" "$RECUR" prepare bad1.txt -o bad/bad1.h5 --task condlm
printf 'upper\tABC\nlower\t\n' > bad2.txt
expect_fail "no text after the tab" "$RECUR" prepare bad2.txt -o bad/bad2.h5 --task condlm
no_leftovers bad

common=(--data c.h5 --task condlm --mode sequences --cell gru --layers 2 --hidden 48 --embed 16 --cond-dim 8 --batch 16)
"$RECUR" train "${common[@]}" --steps 400 --eval-every 400 --lr 0.005 --quiet --out run
"$RECUR" prepare plain.txt -o p.h5 --split-on line --val 0.1 --quiet
"$RECUR" train --data p.h5 --mode sequences --cell gru --layers 2 --hidden 48 --embed 16 --batch 16 --steps 400 \
  --eval-every 400 --lr 0.005 --quiet --out plain
"$RECUR" eval run --data c.h5 --json > ec.json
"$RECUR" eval plain --data p.h5 --json > ep.json
python3 - ec.json ep.json <<'PY'
import json, math, sys
c, p = (json.load(open(a)) for a in sys.argv[1:3])
# a text's class shows in its first character, so the label is worth log(3) nats once per
# sequence: log(3) / 16 tokens (15 characters on average and <eos>) = 0.069 per token
gap = p["loss"] - c["loss"]
print(f"val loss per token: conditioned {c['loss']:.4f}, unconditioned {p['loss']:.4f}: "
      f"the label is worth {gap:.4f} (log 3 / 16 = {math.log(3) / 16:.4f})")
assert gap > 0.6 * math.log(3) / 16, "the label does not help"
PY
for lab in upper lower digits; do
  "$RECUR" sample run --label $lab --length 200 --temperature 0.5 --seed 4 --json > s-$lab.json
  python3 - s-$lab.json $lab <<'PY'
import json, string, sys
t = json.load(open(sys.argv[1]))["text"].replace("\n", "")
want = {"upper": string.ascii_uppercase, "lower": string.ascii_lowercase, "digits": string.digits}[sys.argv[2]]
share = sum(ch in want for ch in t) / max(1, len(t))
print(f"--label {sys.argv[2]}: {t[:40]!r}... {share:.0%} of {len(t)} characters in the class")
assert len(t) >= 3 and share >= 0.95, (t, share)
PY
done
# --cond-input: the label also enters at every step; sampling feeds it too
"$RECUR" train "${common[@]}" --cond-input --steps 300 --eval-every 0 --lr 0.005 --quiet --out runci
"$RECUR" sample runci --label digits --length 100 --temperature 0.5 --seed 5 --json > s-ci.json
python3 - s-ci.json <<'PY'
import json, string, sys
t = json.load(open(sys.argv[1]))["text"].replace("\n", "")
share = sum(ch in string.digits for ch in t) / max(1, len(t))
print(f"--cond-input --label digits: {t[:40]!r} {share:.0%} digits")
assert len(t) >= 3 and share >= 0.95, (t, share)
PY
expect_fail "it knows: digits, lower, upper" "$RECUR" sample run --length 5
expect_fail "--label 'nosuch': the model knows no such label; it knows: digits, lower, upper" "$RECUR" sample run --label nosuch
expect_fail "--label given, but this model is a lm model" "$RECUR" sample plain --label upper
expect_fail "use \`recur sample\` for language models" "$RECUR" predict run "ABC"

# world-size invariance and exact resume with the condition path
"$RECUR" train "${common[@]}" --steps 12 --log-every 1 --eval-every 0 --accum 2 --quiet --out a2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${common[@]}" --steps 12 --log-every 1 --eval-every 0 --quiet --out n2
python3 - a2/metrics.jsonl n2/metrics.jsonl <<'PY'
import json, sys
a, b = ([r["last_loss"] for r in map(json.loads, open(p)) if "last_loss" in r] for p in sys.argv[1:3])
assert len(a) == len(b) == 12
w = max(abs(x - y) / abs(y) for x, y in zip(a, b))
print(f"condlm: 2 ranks vs accum 2, worst relative loss difference {w:.2e}")
assert w < 1e-5, w
PY
"$H5TOOL" compare a2/model.h5 n2/model.h5 1e-5 || fail "condlm: 2 ranks and accum 2 trained different parameters"
"$RECUR" train "${common[@]}" --steps 6 --eval-every 0 --ckpt-every 6 --quiet --out part
"$RECUR" train --resume part --steps 12 --quiet
"$RECUR" train "${common[@]}" --steps 12 --eval-every 0 --ckpt-every 6 --quiet --out full
"$H5TOOL" compare part/model.h5 full/model.h5 0 || fail "condlm: the resumed run differs"
echo "condlm: ok"

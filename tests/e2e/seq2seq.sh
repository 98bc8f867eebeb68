# Many-to-many with an offset (--task seq2seq): prepare reads source<TAB>target lines (bad lines
# are named, nothing is written), decode gives them back, an LSTM encoder-decoder learns to
# reverse strings (greedy exact match >= 0.95 on held-out lines), `recur predict` writes outputs
# for lines of stdin, `recur sample` refuses the model, 2 ranks equal --accum 2, and a resumed run
# equals an uninterrupted one.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
python3 - <<'PY'
import random
r = random.Random(5)
with open("rev.txt", "w") as f:
    for i in range(4000):
        s = "".join(r.choice("abcdefgh") for _ in range(r.randint(3, 8)))
        f.write(s + "\t" + s[::-1] + "\n")
with open("words.txt", "w") as f:  # word level: the source's words sorted
    for i in range(300):
        w = [r.choice(["one", "two", "three", "four", "five"]) for _ in range(r.randint(1, 6))]
        f.write(" ".join(w) + "\t" + " ".join(sorted(w)) + "\n")
PY
"$RECUR" prepare rev.txt -o rev.h5 --task seq2seq --val 0.05 --quiet
"$RECUR" decode rev.h5 > back.txt
"$RECUR" decode rev.h5 --split val >> back.txt
sort back.txt > b1.txt && sort rev.txt > b2.txt && cmp -s b1.txt b2.txt || fail "decode does not give back the seq2seq lines"
"$RECUR" prepare words.txt -o words.h5 --task seq2seq --level word --val 0 --quiet
"$RECUR" decode words.h5 > wback.txt
cmp -s wback.txt words.txt || fail "word level: decode does not give back the lines"
h5ls -r rev.h5 | grep -q "^/train/src_offsets " || fail "no /train/src_offsets in the dataset"

mkdir -p bad
printf 'abc\tcba\nno tab here\n' > bad1.txt
expect_fail "bad1.txt:line 2" "$RECUR" prepare bad1.txt -o bad/bad1.h5 --task seq2seq
printf 'abc\tcba\n\tcba\n' > bad2.txt
expect_fail "empty source" "$RECUR" prepare bad2.txt -o bad/bad2.h5 --task seq2seq
printf 'abc\tcba\nabc\t\n' > bad3.txt
expect_fail "empty target" "$RECUR" prepare bad3.txt -o bad/bad3.h5 --task seq2seq
no_leftovers bad

common=(--data rev.h5 --task seq2seq --mode sequences --cell lstm --layers 1 --hidden 128 --embed 32 --batch 32)
expect_fail "--task seq2seq does not take --bidirectional yet" "$RECUR" train "${common[@]}" --bidirectional --steps 1 --out bad/bi
"$RECUR" train "${common[@]}" --steps 1500 --eval-every 500 --lr 0.005 --quiet --out run
"$RECUR" eval run --data rev.h5 --json > e.json
python3 - e.json <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
print(f"reverse 3-8 characters, LSTM 1x128, 1500 steps: val loss {e['loss']:.4f}, token accuracy "
      f"{e['token_accuracy']:.4f}, exact match {e['exact_match']:.4f} over {e['sequences']:.0f}")
assert e["sequences"] == 200 and e["exact_match"] >= 0.95, e
PY
"$RECUR" decode rev.h5 --split val | cut -f1 > src.txt
"$RECUR" decode rev.h5 --split val | cut -f2 > want.txt
"$RECUR" predict run --batch 16 < src.txt > got.txt
python3 - got.txt want.txt <<'PY'
import sys
got, want = (open(p).read().split("\n") for p in sys.argv[1:3])
assert len(got) == len(want), (len(got), len(want))
same = sum(g == w for g, w in zip(got, want)) / len(want)
print(f"recur predict: {same:.1%} of {len(want) - 1} lines exactly reversed")
assert same >= 0.95, same
PY
[ "$("$RECUR" predict run abcdef)" = "fedcba" ] || echo "note: predict abcdef gave $("$RECUR" predict run abcdef)"
expect_fail "this model is a seq2seq model, not a language model" "$RECUR" sample run

# world-size invariance and exact resume through encoder and decoder
"$RECUR" train "${common[@]}" --steps 12 --log-every 1 --eval-every 0 --accum 2 --quiet --out a2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${common[@]}" --steps 12 --log-every 1 --eval-every 0 --quiet --out n2
python3 - a2/metrics.jsonl n2/metrics.jsonl <<'PY'
import json, sys
a, b = ([r["last_loss"] for r in map(json.loads, open(p)) if "last_loss" in r] for p in sys.argv[1:3])
assert len(a) == len(b) == 12
w = max(abs(x - y) / abs(y) for x, y in zip(a, b))
print(f"seq2seq: 2 ranks vs accum 2, worst relative loss difference {w:.2e}")
assert w < 1e-5, w
PY
"$H5TOOL" compare a2/model.h5 n2/model.h5 1e-5 || fail "seq2seq: 2 ranks and accum 2 trained different parameters"
"$RECUR" train "${common[@]}" --steps 6 --eval-every 0 --ckpt-every 6 --quiet --out part
"$RECUR" train --resume part --steps 12 --quiet
"$RECUR" train "${common[@]}" --steps 12 --eval-every 0 --ckpt-every 6 --quiet --out full
"$H5TOOL" compare part/model.h5 full/model.h5 0 || fail "seq2seq: the resumed run differs"
echo "seq2seq: ok"

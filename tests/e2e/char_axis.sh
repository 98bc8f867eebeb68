# One axis for language models of any level: eval and validation report bits per character of
# the text the predicted tokens stand for. The same corpus prepared at char, byte, word and
# subword (BPE) level splits into the same validation sequences; each level's count of characters
# is within 3% of the validation text as decode gives it back, and of the other levels' counts;
# at char level it is the token count and bits_per_char equals bpc; bits_per_char = nats_per_char
# / ln 2 = loss x tokens / chars / ln 2; the validation lines of metrics.jsonl carry the same keys.
source "$(dirname "$0")/../lib.sh"
python3 - > corpus.txt <<'PY'
import random
r = random.Random(5)
words = "the cat sat on a mat while dogs ran far away , and nobody knew why it was so . yes !".split()
for i in range(3000):
    print(" ".join(r.choice(words) for _ in range(r.randint(3, 12))).capitalize())
PY
for level in char byte word bpe; do
  extra=(); [ $level = bpe ] && extra=(--vocab-size 120)
  "$RECUR" prepare corpus.txt -o $level.h5 --level $level --split-on line --val 0.05 --quiet "${extra[@]}" ||
    fail "prepare --level $level failed"
  "$RECUR" train --data $level.h5 --cell gru --hidden 32 --embed 16 --batch 16 --seq-len 32 --steps 40 \
    --eval-every 20 --out run-$level --quiet > /dev/null || fail "training at $level level failed"
  "$RECUR" eval run-$level --data $level.h5 --json > $level.json || fail "eval at $level level failed"
  "$RECUR" decode $level.h5 --split val > $level-val.txt || fail "decode at $level level failed"
done
python3 - <<'PY'
import json, math
r = {l: json.load(open(l + ".json")) for l in ("char", "byte", "word", "bpe")}
text = {l: open(l + "-val.txt", encoding="utf-8").read() for l in r}
assert len(set(text.values())) <= 2, "the levels split the corpus into different validation text"
for l, j in r.items():
    assert j["chars"] > 0, (l, j)
    assert abs(j["bits_per_char"] - j["nats_per_char"] / math.log(2)) < 1e-6, (l, j)
    assert abs(j["nats_per_char"] - j["loss"] * j["tokens"] / j["chars"]) < 1e-4 * j["nats_per_char"], (l, j)
    n = len(text[l])
    assert abs(j["chars"] - n) <= 0.03 * n, f"{l}: {j['chars']} characters counted, the text has {n}"
    print(f"{l:5s} {j['tokens']:6.0f} tokens, {j['chars']:6.0f} characters (text {n}), {j['bits_per_char']:.4f} bits/char")
assert r["char"]["chars"] == r["char"]["tokens"], r["char"]
assert abs(r["char"]["bits_per_char"] - r["char"]["bpc"]) < 1e-6, r["char"]
c = [j["chars"] for j in r.values()]
assert max(c) <= 1.03 * min(c), f"the levels count different characters for the same text: {c}"
for l in r:
    rows = [json.loads(x) for x in open(f"run-{l}/metrics.jsonl") if '"val_bits_per_char"' in x]
    assert rows, f"{l}: no validation line with val_bits_per_char"
PY
echo "char_axis: ok"

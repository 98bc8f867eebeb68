# Subword levels (SentencePiece): a BPE model trained by prepare on a sample of the input, stored in
# the dataset and model.h5; ids equal python3-sentencepiece's encode of each line with that model,
# decode gives SentencePiece's decode; --level spm with the model file gives the same dataset, as
# do 2 ranks; unigram trains too; a subword LM trains, samples, evaluates and resumes; adaptive
# softmax with sparse sums (2 ranks = 1), tied weights with a projection and regularisers, and a
# label-conditioned model work on subwords; an encoder-decoder's sides each have their own model
# (--separate-vocab); bad
# --vocab-size, a missing model and a vocabulary too large for the text are named.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c "import sentencepiece, h5py" || fail "python3-sentencepiece and h5py are needed (launch/test installs them)"
MPIRUN="mpirun --oversubscribe"
python3 - <<'PY'
import random
r = random.Random(11)
words = ("the of and to a in is you that it he was for on are as with his they I at be this have "
         "from or one had by word but not what all were we when your can said there use an each "
         "which she do how their if will up other about out many then them these so some her would "
         "make like him into time has look two more write go see number no way could people my "
         "than first water been call who oil its now find long down day did get come made may part").split()
with open("corpus.txt", "w") as f:
    for _ in range(3000):
        s = " ".join(r.choice(words) for _ in range(r.randint(3, 14)))
        f.write(s[0].upper() + s[1:] + r.choice([".", "!", "?", ", naïve café."]) + "\n")
PY
"$RECUR" prepare corpus.txt -o bpe.h5 --level bpe --vocab-size 300 --split-on line --val 0 --quiet
"$RECUR" inspect bpe.h5 | grep -q "spm level, vocabulary 300\|spm level" || fail "inspect: $("$RECUR" inspect bpe.h5 | head -3)"
/usr/bin/python3 - <<'PY' || fail "ids or decoding differ from python3-sentencepiece's"
import h5py, numpy as np, sentencepiece as spm
f = h5py.File("bpe.h5", "r")
open("bpe.model", "wb").write(bytes(np.array(f["spm_model"])))
sp = spm.SentencePieceProcessor(model_file="bpe.model")
tok, off = np.array(f["train/tokens"]), np.array(f["train/offsets"])
lines = open("corpus.txt").read().splitlines()
assert len(off) - 1 == len(lines), (len(off) - 1, len(lines))
eos = sp.eos_id()
for i, line in enumerate(lines):
    seq = tok[off[i]:off[i + 1]].tolist()
    assert seq[-1] == eos and seq[:-1] == sp.encode(line), (i, line, seq, sp.encode(line))
open("want.txt", "w").write("\n".join(sp.decode(sp.encode(l)) for l in lines) + "\n")
print(f"subword: {len(lines)} lines, {len(tok)} ids equal python3-sentencepiece's; vocabulary {sp.get_piece_size()}")
PY
"$RECUR" decode bpe.h5 | cmp - want.txt || fail "decode differs from SentencePiece's decode"
# the model file itself (spm level) and 2 ranks give the same dataset
"$RECUR" prepare corpus.txt -o spm.h5 --level spm --spm-model bpe.model --split-on line --val 0 --quiet
cmp <("$RECUR" decode spm.h5) want.txt || fail "--level spm --spm-model differs"
if [ -z "${RECUR_SANITIZED:-}" ]; then # (their code ran above; the sanitizers' pass is long enough)
  timeout 300 $MPIRUN -np 2 "$RECUR" prepare corpus.txt -o bpe2.h5 --level bpe --vocab-size 300 --split-on line --val 0 --quiet
  cmp <("$RECUR" decode bpe2.h5) want.txt || fail "2 ranks prepared another dataset"
fi
"$RECUR" prepare corpus.txt -o uni.h5 --level unigram --vocab-size 200 --split-on line --val 0.1 --quiet
"$RECUR" inspect uni.h5 --json | grep -q '"level":"spm"' || fail "unigram: $("$RECUR" inspect uni.h5 --json | head -c 300)"
# a subword language model: trains, samples, evaluates, resumes
"$RECUR" train --data uni.h5 --out lm --hidden 32 --layers 1 --embed 16 --batch 8 --seq-len 20 --steps 30 \
  --eval-every 30 --ckpt-every 15 --quiet
out=$("$RECUR" sample lm --prime "The" --length 20 --seed 1 --quiet)
[ -n "$out" ] && [[ "$out" == The* ]] || fail "sample: '$out'"
"$RECUR" eval lm --data uni.h5 | grep -q "perplexity" || fail "eval: $("$RECUR" eval lm --data uni.h5)"
"$RECUR" train --resume lm --steps 40 --quiet || fail "resume"
grep -q '"step":40' lm/metrics.jsonl || fail "the resumed run did not reach step 40"
# what word-level models have, on subwords: adaptive softmax with sparse embedding sums on 2 ranks,
# tied weights with a projection and the regularisers, and a label-conditioned model that samples
"$RECUR" train --data uni.h5 --out ada --hidden 32 --layers 1 --embed 16 --batch 8 --seq-len 20 --steps 6 \
  --softmax adaptive --cutoffs 40,100 --eval-every 0 --quiet
if [ -z "${RECUR_SANITIZED:-}" ]; then
  timeout 300 $MPIRUN -np 2 "$RECUR" train --data uni.h5 --out ada2 --hidden 32 --layers 1 --embed 16 --batch 8 \
    --seq-len 20 --steps 6 --softmax adaptive --cutoffs 40,100 --eval-every 0 --quiet
  python3 - ada/metrics.jsonl ada2/metrics.jsonl <<'PY' || fail "adaptive softmax on subwords: 2 ranks differ from 1"
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p) if '"loss"' in l and '"event"' not in l] for p in sys.argv[1:3])
assert len(a) == len(b) and all(abs(x - y) <= 1e-4 * max(1, abs(y)) for x, y in zip(a, b)), (a, b)
PY
fi
"$RECUR" train --data uni.h5 --out tied --hidden 32 --layers 2 --embed 16 --proj 16 --tie-weights --batch 8 \
  --seq-len 20 --steps 6 --dropout 0.2 --weight-drop 0.2 --dropout-embed 0.1 --eval-every 0 --quiet
"$RECUR" sample tied --prime "The" --length 10 --seed 2 --quiet | grep -q "^The" || fail "tied subword model: no sample"
python3 -c "
import random
r = random.Random(5)
for l in open('corpus.txt').read().splitlines()[:2000]:
    print(('loud' if '!' in l else 'calm') + '\t' + l)" > cond.txt
"$RECUR" prepare cond.txt -o cond.h5 --task condlm --level bpe --vocab-size 200 --val 0 --quiet
"$RECUR" train --data cond.h5 --out cond --hidden 32 --layers 1 --embed 16 --batch 8 --steps 6 --eval-every 0 --quiet
out=$("$RECUR" sample cond --label loud --length 10 --seed 3 --quiet)
[ -n "$out" ] || fail "a label-conditioned subword model sampled nothing"
expect_fail "the model knows no such label" "$RECUR" sample cond --label quiet --length 5
# an encoder-decoder with a model for each side (--separate-vocab): the sources' model trained on
# the sources, the targets' on the targets; ids, decode and the model files as SentencePiece has them
python3 -c "
for l in open('corpus.txt').read().splitlines()[:1500]:
    print(l + '\t' + ' '.join(reversed(l.lower().split())))" > pairs.txt
"$RECUR" prepare pairs.txt -o s2s.h5 --task seq2seq --level bpe --vocab-size 150 --separate-vocab --val 0 --quiet
/usr/bin/python3 - <<'PY' || fail "seq2seq --separate-vocab: ids or decoding differ from python3-sentencepiece's"
import h5py, numpy as np, sentencepiece as spm
f = h5py.File("s2s.h5", "r")
open("tgt.model", "wb").write(bytes(np.array(f["spm_model"])))
open("src.model", "wb").write(bytes(np.array(f["src_spm_model"])))
st, ss = spm.SentencePieceProcessor(model_file="tgt.model"), spm.SentencePieceProcessor(model_file="src.model")
assert ss.id_to_piece(list(range(ss.get_piece_size()))) != st.id_to_piece(list(range(st.get_piece_size()))), "one model for both sides"
assert list(f["src_vocab"].asstr()[...]) == ss.id_to_piece(list(range(ss.get_piece_size())))
tok, off = np.array(f["train/tokens"]), np.array(f["train/offsets"])
stok, soff = np.array(f["train/src_tokens"]), np.array(f["train/src_offsets"])
pairs = [l.split("\t") for l in open("pairs.txt").read().splitlines()]
assert len(off) - 1 == len(pairs)
for i, (a, b) in enumerate(pairs):
    assert stok[soff[i]:soff[i + 1]].tolist() == ss.encode(a), (i, a)
    assert tok[off[i]:off[i + 1]].tolist() == st.encode(b) + [st.eos_id()], (i, b)
open("want2.txt", "w").write("".join(ss.decode(ss.encode(a)) + "\t" + st.decode(st.encode(b)) + "\n" for a, b in pairs))
print(f"seq2seq --separate-vocab: {len(pairs)} pairs, sources and targets each as their model encodes them")
PY
"$RECUR" decode s2s.h5 | cmp - want2.txt || fail "seq2seq --separate-vocab: decode differs from SentencePiece's"
"$RECUR" prepare pairs.txt -o s2s-files.h5 --task seq2seq --level spm --spm-model tgt.model --src-spm-model src.model \
  --separate-vocab --val 0 --quiet
cmp <("$RECUR" decode s2s-files.h5) want2.txt || fail "--spm-model with --src-spm-model differs"
"$RECUR" train --data s2s.h5 --out s2s --task seq2seq --mode sequences --hidden 32 --embed 16 --batch 16 --steps 4 --quiet
/usr/bin/python3 -c "
import h5py, numpy as np
m, d = h5py.File('s2s/model.h5', 'r'), h5py.File('s2s.h5', 'r')
assert bytes(np.array(m['src_spm_model'])) == bytes(np.array(d['src_spm_model']))
assert bytes(np.array(m['spm_model'])) == bytes(np.array(d['spm_model']))" || fail "model.h5 lacks the sides' models"
n=$(head -5 pairs.txt | cut -f1 | "$RECUR" predict s2s 2>/dev/null | wc -l)
[ "$n" = 5 ] || fail "predict gave $n lines for 5 sources"
expect_fail "--separate-vocab at --level spm needs --src-spm-model" "$RECUR" prepare pairs.txt -o x.h5 --task seq2seq \
  --level spm --spm-model tgt.model --separate-vocab
expect_fail "--src-spm-model without" "$RECUR" prepare pairs.txt -o x.h5 --task seq2seq --level spm --spm-model tgt.model \
  --src-spm-model src.model
# errors
expect_fail "--vocab-size 5 is too small" "$RECUR" prepare corpus.txt -o x.h5 --level bpe --vocab-size 5
expect_fail "--level spm needs --spm-model" "$RECUR" prepare corpus.txt -o x.h5 --level spm
expect_fail "cannot open the SentencePiece model (nosuch.model)" "$RECUR" prepare corpus.txt -o x.h5 --level spm --spm-model nosuch.model
expect_fail "cannot train a SentencePiece bpe model of 100000 pieces" "$RECUR" prepare corpus.txt -o x.h5 --level bpe --vocab-size 100000
[ -e x.h5 ] && fail "a failed prepare left its output"
echo "subword: ok"

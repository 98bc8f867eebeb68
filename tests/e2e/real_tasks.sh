# Classification and tagging of real-valued sequences: `recur prepare --level real --label-column
# NAME` (a label per sequence, from any column) or `--tag-column NAME` (a tag per step); decode
# gives values and labels back; a GRU classifies oscillations by their frequency (3 classes) and a
# tagger tags each step with the sign of the input three steps back, both far above the majority
# class; `recur predict` on a CSV agrees with `recur eval`; the model loaded into PyTorch gives
# recur eval's loss; 2 ranks equal --accum 2, resume is bitwise; bad labels are one-line errors
# naming file, line and column.
# Under the sanitizers (RECUR_SANITIZED) the runs are short and their figures not asserted.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
if [ -n "${RECUR_SANITIZED:-}" ]; then s1=20; else s1=300; fi
python3 - <<'PY'
import math, random
r = random.Random(11)
kinds = {"slow": 0.15, "medium": 0.4, "fast": 0.9}
with open("act.csv", "w") as f, open("sign.tsv", "w") as g:
    f.write("ax,activity,ay,az\n")  # the label column between features
    g.write("x\ty\tstate\n")
    for s in range(500):
        k = r.choice(sorted(kinds)); w = kinds[k]; ph = r.uniform(0, 6.3); n = r.randint(20, 50)
        for t in range(n):
            f.write(f"{math.sin(w * t + ph) + r.gauss(0, .3):.5f},{k},{.5 * math.cos(w * t + ph) + r.gauss(0, .3):.5f},{r.gauss(0, 1):.5f}\n")
        f.write("\n")
        xs = [r.gauss(0, 1) for _ in range(n)]
        for t in range(n):
            g.write(f"{xs[t]:.5f}\t{r.gauss(0, 1):.5f}\t{'up' if t >= 3 and xs[t - 3] > 0 else 'down'}\n")
        g.write("\n")
PY
"$RECUR" prepare act.csv -o act.h5 --level real --label-column activity --val 0.1 --test 0.1 > p1.log
grep -q "real level, 3 features, activity labels" p1.log || fail "prepare: $(cat p1.log)"
"$RECUR" prepare sign.tsv -o sign.h5 --level real --tag-column state --val 0.1 --quiet
"$RECUR" inspect act.h5 | grep -q 'task classify: 3 labels: "fast" "medium" "slow"' || fail "inspect: $("$RECUR" inspect act.h5)"
h5ls -r act.h5 | grep -q "^/train/labels *Dataset" || fail "no /train/labels: $(h5ls -r act.h5)"
h5ls -r sign.h5 | grep -q "^/train/tags *Dataset" || fail "no /train/tags: $(h5ls -r sign.h5)"
for s in train val test; do "$RECUR" decode act.h5 --split $s > act-$s.csv; done
"$RECUR" decode sign.h5 --split val > sign-val.csv
python3 - <<'PY'
import struct
f32 = lambda v: struct.unpack("f", struct.pack("f", float(v)))[0]
def seqs(path, sep, label):  # sequences of (label, rows of float32 features)
    lines = open(path).read().split("\n")
    head = lines[0].split(sep); li = head.index(label)
    out, cur = [], []
    for l in lines[1:] + [""]:
        if not l.strip():
            if cur: out.append(tuple(cur))
            cur = []
            continue
        v = l.split(sep)
        cur.append((v[li],) + tuple(f32(x) for i, x in enumerate(v) if i != li))
    return out
want = seqs("act.csv", ",", "activity")
got = sum((seqs(f"act-{s}.csv", ",", "activity") for s in ("train", "val", "test")), [])
assert sorted(want) == sorted(got), "decode does not give back the values and labels"
assert open("act-val.csv").readline().strip() == "ax,ay,az,activity"
assert set(seqs("sign-val.csv", ",", "state")) <= set(seqs("sign.tsv", "\t", "state"))
print(f"{len(want)} labelled sequences back exactly")
PY

# quality: a GRU against the majority class; recur predict on the test CSV agrees with recur eval
common=(--cell gru --layers 1 --hidden 32 --embed 16 --batch 16 --lr 0.01 --eval-every 0 --quiet)
"$RECUR" train --data act.h5 "${common[@]}" --steps $s1 --out cls
"$RECUR" eval cls --data act.h5 --split test --json > ec.json
"$RECUR" train --data sign.h5 "${common[@]}" --steps $s1 --out tag
"$RECUR" eval tag --data sign.h5 --json > et.json
sed 's/,[a-z]*$//' act-test.csv | sed '1s/.*/az,ax,ay/;1!s/^\([^,]*\),\([^,]*\),\([^,]*\)$/\3,\1,\2/' > test-frames.csv
"$RECUR" predict cls test-frames.csv > pred.txt
cut -d, -f1,2 sign-val.csv | "$RECUR" predict tag - > tags.txt
python3 - ec.json et.json <<'PY'
import collections, json, os, sys
c, t = (json.load(open(p)) for p in sys.argv[1:3])
labels = [l for l in (b.strip().split("\n")[-1].rsplit(",", 1)[1] for b in open("act-test.csv").read().split("\n", 1)[1].split("\n\n")) if l]
pred = [l.split("\t")[0] for l in open("pred.txt").read().splitlines()]
assert len(pred) == len(labels) == c["sequences"], (len(pred), len(labels), c)
acc = sum(p == l for p, l in zip(pred, labels)) / len(labels)
major = max(collections.Counter(labels).values()) / len(labels)
print(f"frequency classes (GRU 32): test accuracy {c['accuracy']:.4f} (majority class {major:.4f}); recur predict {acc:.4f}")
assert abs(acc - c["accuracy"]) < 1e-9, (acc, c)
truth = [[r.rsplit(",", 1)[1] for r in b.strip().split("\n")] for b in open("sign-val.csv").read().split("\n", 1)[1].split("\n\n") if b.strip()]
got = [l.split(" ") for l in open("tags.txt").read().splitlines()]
assert [len(g) for g in got] == [len(s) for s in truth], "predict: one tag per step"
tacc = sum(a == b for g, s in zip(got, truth) for a, b in zip(g, s)) / sum(map(len, truth))
print(f"sign three steps back (GRU 32): val tag accuracy {t['accuracy']:.4f}; recur predict {tacc:.4f}")
assert abs(tacc - t["accuracy"]) < 1e-9, (tacc, t)
if not os.environ.get("RECUR_SANITIZED"):
    assert c["accuracy"] >= 0.95 and major < 0.5 and t["accuracy"] >= 0.95, (c, t)
PY
/usr/bin/python3 - act.h5 cls/model.h5 ec.json <<'PY'
import json, sys
import h5py, torch, torch.nn as nn
d, f = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
T = lambda k: torch.from_numpy(f[k][:])
vals, off, lab = d["test/values"][:], d["test/offsets"][:], d["test/labels"][:]
E, H, D = int(f.attrs["embed"]), int(f.attrs["hidden"]), int(f.attrs["n_in"])
lin, rnn, dec = nn.Linear(D, E), nn.GRU(E, H, 1), nn.Linear(H, 3)
with torch.no_grad():
    for n, p in lin.named_parameters(): p.copy_(T("input." + n))
    for n, p in rnn.named_parameters(): p.copy_(T("rnn." + n))
    dec.weight.copy_(T("decoder.weight")); dec.bias.copy_(T("decoder.bias"))
    total = 0.0
    for i in range(len(off) - 1):
        x = ((torch.from_numpy(vals[off[i]:off[i + 1]]).double() - T("input.mean")) / T("input.std")).float()
        h = rnn(lin(x).unsqueeze(1))[0][-1]  # the last step's output
        total += nn.functional.cross_entropy(dec(h).double(), torch.tensor([int(lab[i])])).item()
e = json.load(open(sys.argv[3]))
rel = abs(total / (len(off) - 1) - e["loss"]) / e["loss"]
print(f"torch: classifier loss {total / (len(off) - 1):.8f}, recur eval {e['loss']:.8f} (relative {rel:.1e})")
assert rel < 1e-4, (total, e)
PY

# world-size invariance (a bidirectional classifier, mean pooling) and exact resume (the tagger)
bi=(--data act.h5 --cell lstm --layers 2 --hidden 16 --embed 8 --batch 8 --bidirectional --pool mean --encoder-hidden 12 --eval-every 0 --log-every 1 --quiet)
# the MLP input's flag under its old name (--encoder-hidden, now --input-hidden): accepted, noted
"$RECUR" train "${bi[@]}" --steps 6 --accum 2 --out a2 2> a2.err
grep -q "note: --encoder-hidden is now called --input-hidden" a2.err || fail "the old flag is not noted: $(cat a2.err)"
timeout 300 $MPIRUN -np 2 "$RECUR" train "${bi[@]}" --steps 6 --out n2
"$H5TOOL" compare a2/model.h5 n2/model.h5 1e-5 || fail "2 ranks and accum 2 trained different classifiers"
"$RECUR" train --data sign.h5 "${common[@]}" --steps 4 --ckpt-every 4 --out part
"$RECUR" train --resume part --steps 8 --quiet
"$RECUR" train --data sign.h5 "${common[@]}" --steps 8 --ckpt-every 4 --out full
"$H5TOOL" compare part/model.h5 full/model.h5 0 || fail "the resumed tagger differs"

mkdir -p bad
printf 'x,label\n1,a\n2,b\n' > e1.csv
expect_fail "'b' after 'a' in the same sequence (e1.csv:line 3, column label)" "$RECUR" prepare e1.csv -o bad/e1.h5 --level real --label-column label
printf 'x,label\n1,a\n2,\n' > e2.csv
expect_fail "e2.csv:line 3, column label" "$RECUR" prepare e2.csv -o bad/e2.h5 --level real --tag-column label
expect_fail "no column 'kind' (--label-column/--tag-column) (e1.csv:line 1)" "$RECUR" prepare e1.csv -o bad/e3.h5 --level real --label-column kind
expect_fail "give --label-column or --tag-column, not both" "$RECUR" prepare e1.csv -o bad/e4.h5 --level real --label-column label --tag-column x
expect_fail "--tag-column goes with --task tag, not --task classify" "$RECUR" prepare e1.csv -o bad/e5.h5 --level real --task classify --tag-column label
expect_fail "--label-column and --tag-column are for --level real" "$RECUR" prepare e1.csv -o bad/e6.h5 --label-column label
no_leftovers bad
expect_fail "the dataset is for --task classify, not --task tag" "$RECUR" train --data act.h5 --task tag --out bad/run
expect_fail "the dataset's features differ from the model's" "$RECUR" eval cls --data sign.h5
expect_fail "no column 'ax'" "$RECUR" predict cls sign-val.csv
echo "real_tasks: ok"

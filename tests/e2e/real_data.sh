# Real-valued sequences in (issue 13's data side): `recur prepare --level real` reads CSV and TSV
# files of numbers under a header row (a blank line or a new file starts a new sequence, CRLF and
# spaces around numbers are fine), writes float32 `values` (steps, features) and `offsets` per
# split with the feature names and the training split's mean and standard deviation; `recur decode`
# writes the CSV back exactly (float32), inspect shows the statistics; bad numbers are one-line
# errors naming file, line and column, and nothing is written.
source "$(dirname "$0")/../lib.sh"
python3 - <<'PY'
import math, random
r = random.Random(7)
seqs = []
for s in range(120):
    ph, n = r.random() * 6.28, r.randint(3, 40)
    seqs.append([(math.sin(ph + 0.3 * t), 10 * math.cos(ph + 0.1 * t), 20 + r.gauss(0, 2)) for t in range(n)])
def rows(seq, sep):
    return "".join(sep.join(f"{v:.7g}" for v in row) + "\n" for row in seq)
with open("a.csv", "w") as f:  # comma separated, sequences split by blank lines
    f.write("x,y,temp\n" + "\n".join(rows(q, ",") for q in seqs[:80]))
with open("b.tsv", "w") as f:  # tab separated, CRLF, spaces, one sequence per file
    f.write("x\ty\ttemp\r\n" + "".join(" \t".join(f" {v:.7g}" for v in row) + "\r\n" for row in seqs[80]))
with open("c.csv", "w") as f:
    f.write("x,y,temp\n" + "\n\n\n".join(rows(q, ",") for q in seqs[81:]) + "\n\n")
PY
"$RECUR" prepare a.csv b.tsv c.csv -o r.h5 --level real --val 0.2 --test 0.1 > prep.log
grep -q "real level, 3 features" prep.log || fail "prepare: $(cat prep.log)"
h5ls -r r.h5 | grep -q "^/train/values *Dataset {[0-9]*/Inf, 3}" || fail "no (steps, 3) /train/values: $(h5ls -r r.h5)"
"$RECUR" inspect r.h5 > insp.txt
grep -q "3 features (train mean, std): x" insp.txt || fail "inspect: $(cat insp.txt)"
"$RECUR" inspect r.h5 --json > insp.json
for s in train val test; do "$RECUR" decode r.h5 --split $s > dec-$s.csv; done
python3 - insp.json <<'PY'
import json, math, struct, sys
f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]
def seqs_of(path, sep=","):  # sequences of rows of float32 values
    lines = open(path).read().replace("\r", "").split("\n")[1:]
    out, cur = [], []
    for l in lines + [""]:
        if not l.strip():
            if cur: out.append(tuple(cur))
            cur = []
        else:
            cur.append(tuple(f32(float(v)) for v in l.split(sep)))
    return out
want = seqs_of("a.csv") + seqs_of("b.tsv", "\t") + seqs_of("c.csv")
got = {s: seqs_of(f"dec-{s}.csv") for s in ("train", "val", "test")}
assert sorted(want) == sorted(got["train"] + got["val"] + got["test"]), "decode does not give back the values"
print(f"{len(want)} sequences back exactly: train {len(got['train'])}, val {len(got['val'])}, test {len(got['test'])}")
assert len(got["val"]) > 10 and len(got["test"]) > 3
rows = [r for q in got["train"] for r in q]
feats = json.load(open(sys.argv[1]))["features"]
assert [f["name"] for f in feats] == ["x", "y", "temp"], feats
for i, f in enumerate(feats):
    m = sum(r[i] for r in rows) / len(rows)
    sd = math.sqrt(sum((r[i] - m) ** 2 for r in rows) / len(rows))
    assert abs(f["mean"] - m) <= 1e-7 * (1 + abs(m)) and abs(f["std"] - sd) <= 1e-7 * sd, (f, m, sd)  # JSON: 9 digits
print("train statistics:", ", ".join(f"{f['name']} {f['mean']:.4f} +- {f['std']:.4f}" for f in feats))
PY

mkdir -p bad
printf 'x,y,temp\n1,2,3\n1,2,abc\n' > e1.csv
expect_fail "e1.csv:line 3, column temp" "$RECUR" prepare e1.csv -o bad/e1.h5 --level real
printf 'x,y,temp\n1,nan,3\n' > e2.csv
expect_fail "'nan' is not a finite" "$RECUR" prepare e2.csv -o bad/e2.h5 --level real
printf 'x,y,temp\n1,1e39,3\n' > e3.csv
expect_fail "e3.csv:line 2, column y" "$RECUR" prepare e3.csv -o bad/e3.h5 --level real
printf 'x,y,temp\n1,2\n' > e4.csv
expect_fail "2 fields, the header has 3 (e4.csv:line 2)" "$RECUR" prepare e4.csv -o bad/e4.h5 --level real
printf 'x,y\n1,2\n' > e5.csv
expect_fail "the header differs from the first file's (e5.csv:line 1)" "$RECUR" prepare a.csv e5.csv -o bad/e5.h5 --level real
printf 'x,,z\n1,2,3\n' > e6.csv
expect_fail "column 2 has no name" "$RECUR" prepare e6.csv -o bad/e6.h5 --level real
printf 'x,x\n1,2\n' > e7.csv
expect_fail "column name 'x' repeats" "$RECUR" prepare e7.csv -o bad/e7.h5 --level real
printf 'x,y\n' > e8.csv
expect_fail "no sequence found" "$RECUR" prepare e8.csv -o bad/e8.h5 --level real
expect_fail "--task classify on real-valued sequences takes its labels from a column: give --label-column NAME" "$RECUR" prepare a.csv -o bad/cls.h5 --level real --task classify
expect_fail "--level real takes --task forecast, classify or tag, not seq2seq" "$RECUR" prepare a.csv -o bad/s2s.h5 --level real --task seq2seq
no_leftovers bad
"$RECUR" train --data r.h5 --task forecast --mode sequences --steps 2 --quiet --out bad/run
echo "real_data: ok"

# --precision bf16 and --gemm onednn hold what fp32 holds: a bf16 run's loss curve tracks fp32's
# within a band; 2 ranks equal 1 rank with --accum 2; a resume at the same world size is bitwise
# the uninterrupted run; a resume with another precision or kernel is named as a mismatch;
# classification and tagging run in bf16; model.h5 stays fp32 and `recur eval` reads it.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
python3 - <<'PY'
import random
r = random.Random(9)
words = "the cat sat on a mat and then it ran off to see what the dog had done with its bone".split()
with open("text.txt", "w") as f:
    for i in range(3000):
        f.write(" ".join(r.choice(words) for _ in range(r.randint(3, 14))) + ".\n")
with open("cls.txt", "w") as f:
    for i in range(600):
        lab = r.choice(["cat", "dog"])  # the label is the last word
        f.write(lab + "\t" + " ".join(r.choice(words) for _ in range(r.randint(2, 12))) + " " + lab + "\n")
PY
"$RECUR" prepare text.txt -o d.h5 --val 0.05 --quiet
"$RECUR" prepare cls.txt -o cls.h5 --task classify --val 0.1 --quiet
common=(--data d.h5 --cell lstm --layers 2 --hidden 64 --embed 16 --batch 16 --seq-len 32 --log-every 10 --quiet)

# 1. the loss curve: bf16 within a band of fp32 at every logged step
"$RECUR" train "${common[@]}" --steps 300 --eval-every 100 --out fp32
"$RECUR" train "${common[@]}" --steps 300 --eval-every 100 --out bf16 --precision bf16
"$RECUR" train "${common[@]}" --steps 300 --eval-every 100 --out onednn --gemm onednn
python3 - fp32/metrics.jsonl bf16/metrics.jsonl onednn/metrics.jsonl <<'PY'
import json, sys
def curve(p, key):
    return [r[key] for r in map(json.loads, open(p)) if key in r]
fp, bf, dn = (curve(p, "loss") for p in sys.argv[1:4])
assert len(fp) == len(bf) == len(dn) == 30, (len(fp), len(bf), len(dn))
band = max(abs(b - f) / f for f, b in zip(fp, bf))
dnn = max(abs(b - f) / f for f, b in zip(fp, dn))
vf, vb = curve(sys.argv[1], "val_loss"), curve(sys.argv[2], "val_loss")
print(f"300 steps: fp32 loss {fp[0]:.4f} -> {fp[-1]:.4f}, val {vf[-1]:.4f}; bf16 val {vb[-1]:.4f}; "
      f"worst relative difference of the 10-step mean losses: bf16 {band:.2e}, onednn fp32 {dnn:.2e}")
assert fp[-1] < 0.7 * fp[0], "fp32 did not learn"
assert band < 0.02, f"bf16 left the 2% band of fp32: {band}"
assert abs(vb[-1] - vf[-1]) / vf[-1] < 0.01, "bf16 validation loss not within 1% of fp32's"
assert dnn < 1e-3, f"oneDNN fp32 differs from OpenBLAS by {dnn}"
PY
"$RECUR" train --data d.h5 --hidden 64 --steps 1 --out say --precision bf16 > say.txt 2>&1
grep "bf16 matrix products" say.txt || fail "a bf16 run does not say what the CPU gives: $(cat say.txt)"
# OpenBLAS held below the CPU by OPENBLAS_CORETYPE (these machines export Haswell): one line says
# what --gemm onednn gives instead; without the variable nothing is said
env -u OPENBLAS_CORETYPE "$RECUR" train --data d.h5 --hidden 64 --steps 1 --out say2 > say2.txt 2>&1
grep -q OPENBLAS_CORETYPE say2.txt && fail "a note on OPENBLAS_CORETYPE without it set: $(cat say2.txt)"
if grep -qw avx512f /proc/cpuinfo; then
  # (with --gemm openblas named: under the default, auto says what it timed and took)
  OPENBLAS_CORETYPE=Haswell "$RECUR" train --data d.h5 --hidden 512 --steps 1 --gemm openblas --out say3 > say3.txt 2>&1
  grep "holds OpenBLAS to its Haswell kernels on this AVX-512 CPU: --gemm onednn ran" say3.txt ||
    fail "OpenBLAS held to Haswell kernels on an AVX-512 CPU, and nothing said: $(cat say3.txt)"
  OPENBLAS_CORETYPE=Haswell "$RECUR" train --data d.h5 --hidden 512 --steps 1 --out say4 > say4.txt 2>&1
  grep -- "--gemm auto: .* GFLOP/s against" say4.txt || fail "auto did not say what it timed: $(cat say4.txt)"
fi
"$RECUR" eval bf16/model.h5 --data d.h5 --json > ev.json || fail "recur eval of a bf16-trained model"

# 2. world-size invariance in bf16 and with oneDNN fp32: 2 ranks == 1 rank x accum 2
for k in "--precision bf16" "--gemm onednn"; do
  tag=${k##* }
  "$RECUR" train "${common[@]}" --steps 20 --log-every 1 --eval-every 0 $k --accum 2 --out a2-$tag
  timeout 300 $MPIRUN -np 2 "$RECUR" train "${common[@]}" --steps 20 --log-every 1 --eval-every 0 $k --out n2-$tag
  python3 - a2-$tag/metrics.jsonl n2-$tag/metrics.jsonl $tag <<'PY'
import json, sys
a = [r["last_loss"] for r in map(json.loads, open(sys.argv[1])) if "last_loss" in r]
b = [r["last_loss"] for r in map(json.loads, open(sys.argv[2])) if "last_loss" in r]
assert len(a) == len(b) == 20
w = max(abs(x - y) / abs(y) for x, y in zip(a, b))
print(f"{sys.argv[3]}: 2 ranks vs accum 2, worst relative loss difference over 20 steps {w:.2e}")
assert w < 1e-4, w
PY
done

# 3. bitwise resume at the same world size (2 ranks), and the mismatch is named
for k in "--precision bf16" "--gemm onednn"; do
  tag=${k##* }
  timeout 300 $MPIRUN -np 2 "$RECUR" train "${common[@]}" --steps 30 --eval-every 0 --ckpt-every 15 $k --out full-$tag
  timeout 300 $MPIRUN -np 2 "$RECUR" train "${common[@]}" --steps 15 --eval-every 0 --ckpt-every 15 $k --out part-$tag
  timeout 300 $MPIRUN -np 2 "$RECUR" train --resume part-$tag --steps 30 --quiet
  "$H5TOOL" compare part-$tag/model.h5 full-$tag/model.h5 0 || fail "$tag: resumed parameters are not bitwise identical"
  python3 - part-$tag/metrics.jsonl full-$tag/metrics.jsonl <<'PY' || fail "$tag: resumed losses differ"
import json, sys
p, f = ({r["step"]: r["last_loss"] for r in map(json.loads, open(a)) if "last_loss" in r} for a in sys.argv[1:3])
assert p[30] == f[30] and all(p[s] == f[s] for s in f if s in p), (p, f)
PY
  echo "$tag: resumed at step 15 on 2 ranks: bitwise the uninterrupted run"
done
"$RECUR" train "${common[@]}" --steps 5 --eval-every 0 --out f32
expect_fail "--precision bf16 (checkpoint: fp32)" "$RECUR" train --resume f32 --steps 10 --precision bf16
expect_fail "--gemm onednn (checkpoint: openblas)" "$RECUR" train --resume f32 --steps 10 --gemm onednn
expect_fail "--precision bf16 with --gemm openblas" "$RECUR" train "${common[@]}" --steps 5 --out x --precision bf16 --gemm openblas

# 4. classification in bf16, every cell learns
for cell in lstm gru rnn_tanh; do
  "$RECUR" train --data cls.h5 --task classify --mode sequences --cell $cell --layers 1 --hidden 32 --embed 16 \
    --batch 16 --steps 150 --eval-every 150 --precision bf16 --quiet --out cls-$cell
  "$RECUR" eval cls-$cell/model.h5 --data cls.h5 --json > cls-$cell.json
  python3 - cls-$cell.json $cell <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"bf16 classify {sys.argv[2]}: val accuracy {r['accuracy']:.3f}")
assert r["accuracy"] > 0.9, r
PY
done
echo "bf16: ok"

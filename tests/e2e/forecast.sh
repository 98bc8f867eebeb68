# Forecasting real-valued sequences (--task forecast): sums of sines with random phases and
# varying lengths; a GRU's one-step MSE (in the data's units) is at least 10x below the naive
# "next = last" baseline's; --loss gaussian trains on the negative log-likelihood; --horizon 3;
# 2 ranks equal --accum 2 and resume is bitwise; the model.h5 loaded into PyTorch (input layer with
# the stored mean and std, the RNN, the readout) gives recur eval's loss; features that differ from
# the model's are an error; scheduled sampling (the model's own frames fed back, keyed Gaussian
# draws) keeps 2 ranks equal to --accum 2 and changes the run.
# Under the sanitizers (RECUR_SANITIZED) the runs are short and their figures not asserted.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
if [ -n "${RECUR_SANITIZED:-}" ]; then s1=30 s2=20 s3=20; else s1=400 s2=200 s3=100; fi
python3 - <<'PY'
import math, random
r = random.Random(3)
with open("sines.csv", "w") as f:
    f.write("a,b\n")
    for s in range(400):
        p1, p2, n = r.random() * 6.28, r.random() * 6.28, r.randint(40, 80)
        rows = [(math.sin(p1 + 0.4 * t) + 0.5 * math.sin(p2 + 1.1 * t), 3 * math.cos(p1 + 0.4 * t) + 1) for t in range(n)]
        f.write("".join(f"{a:.6f},{b:.6f}\n" for a, b in rows) + "\n")
PY
"$RECUR" prepare sines.csv -o sines.h5 --level real --val 0.1 --quiet
common=(--data sines.h5 --task forecast --mode sequences --cell gru --layers 1 --hidden 64 --embed 16 --batch 32 --lr 0.005)
"$RECUR" train "${common[@]}" --steps $s1 --eval-every 0 --quiet --out run
"$RECUR" eval run --data sines.h5 --json > e.json
python3 - e.json <<'PY'
import json, os, sys
if os.environ.get("RECUR_SANITIZED"): sys.exit(0)
e = json.load(open(sys.argv[1]))
print(f"sums of sines, GRU 64, 400 steps: val mse {e['mse']:.5f}, naive next = last {e['baseline_mse']:.5f} "
      f"({e['baseline_mse'] / e['mse']:.0f}x); mae {e['mae']:.4f} vs {e['baseline_mae']:.4f}")
assert e["mse"] * 10 <= e["baseline_mse"] and set(e["per_feature"]) == {"a", "b"}, e
PY
"$RECUR" train "${common[@]}" --loss gaussian --steps $s2 --eval-every 0 --quiet --out gauss
"$RECUR" eval gauss --data sines.h5 --json > eg.json
"$RECUR" train "${common[@]}" --horizon 3 --steps $s2 --eval-every 0 --quiet --out h3
"$RECUR" eval h3 --data sines.h5 --json > e3.json
python3 - eg.json e3.json <<'PY'
import json, os, sys
if os.environ.get("RECUR_SANITIZED"): sys.exit(0)
g, h = (json.load(open(p)) for p in sys.argv[1:3])
print(f"gaussian: val NLL {g['loss']:.4f}, mse {g['mse']:.5f} (naive {g['baseline_mse']:.5f}); "
      f"horizon 3: mse {h['mse']:.5f} (naive three back {h['baseline_mse']:.5f})")
assert g["mse"] * 5 <= g["baseline_mse"] and g["loss"] < 0, g  # a log-likelihood: sharp Gaussians
assert h["mse"] * 5 <= h["baseline_mse"] and h["baseline_mse"] > g["baseline_mse"], h
PY
"$RECUR" train "${common[@]}" --input-hidden 12 --steps $s3 --eval-every 0 --quiet --out mlp
"$RECUR" eval mlp --data sines.h5 --json > em.json
/usr/bin/python3 - sines.h5 run/model.h5 e.json gauss/model.h5 eg.json mlp/model.h5 em.json <<'PY'
import json, math, sys
import h5py, numpy as np, torch, torch.nn as nn
d = h5py.File(sys.argv[1], "r")
vals, off = d["val/values"][:], d["val/offsets"][:]
for mp, ep in zip(sys.argv[2::2], sys.argv[3::2]):
    f = h5py.File(mp, "r")
    T = lambda k: torch.from_numpy(f[k][:])
    E, H, D = int(f.attrs["embed"]), int(f.attrs["hidden"]), int(f.attrs["n_in"])
    gauss = f.attrs["loss"].decode() == "gaussian" if isinstance(f.attrs["loss"], bytes) else f.attrs["loss"] == "gaussian"
    mlp = "input.0.weight" in f  # --input-hidden: nn.Sequential(Linear, Tanh, Linear)
    Nh = f["input.0.weight"].shape[0] if mlp else 0
    lin = nn.Sequential(nn.Linear(D, Nh), nn.Tanh(), nn.Linear(Nh, E)) if mlp else nn.Linear(D, E)
    rnn, dec = nn.GRU(E, H, 1), nn.Linear(H, 2 * D if gauss else D)
    with torch.no_grad():
        for n, p in lin.named_parameters(): p.copy_(T("input." + n))
        for n, p in rnn.named_parameters(): p.copy_(T("rnn." + n))
        dec.weight.copy_(T("decoder.weight")); dec.bias.copy_(T("decoder.bias"))
        mean, std = T("input.mean"), T("input.std")
        total, frames = 0.0, 0
        for i in range(len(off) - 1):
            x = (torch.from_numpy(vals[off[i]:off[i + 1]]).double() - mean) / std
            out = dec(rnn(lin(x[:-1].float()).unsqueeze(1))[0].squeeze(1)).double()
            y = x[1:]
            if gauss:
                mu, s = out[:, :D], out[:, D:]
                l = 0.5 * (math.log(2 * math.pi) + s + (y - mu) ** 2 * torch.exp(-s))
            else:
                l = (out - y) ** 2
            total += l.mean(1).sum().item()
            frames += len(y)
    e = json.load(open(ep))
    rel = abs(total / frames - e["loss"]) / abs(e["loss"])
    print(f"torch: {'mlp input, ' if mlp else ''}{'gaussian' if gauss else 'mse'} loss {total / frames:.8f}, recur eval {e['loss']:.8f} over {frames} (relative {rel:.1e})")
    assert frames == e["tokens"] and rel < 1e-4, (total / frames, e)
PY
# multi-step: eval --rollout (1 rank and 2 agree) and recur sample rolling a prime forward
"$RECUR" eval run --data sines.h5 --rollout 20 --json > er.json
timeout 300 $MPIRUN -np 2 "$RECUR" eval run --data sines.h5 --rollout 20 --json > er2.json
"$RECUR" decode sines.h5 --split val > val.csv
python3 - <<'PY'
lines = open("val.csv").read().split("\n")
rows = []
for l in lines[1:]:
    if not l.strip(): break
    rows.append(l)
open("prime.csv", "w").write(lines[0] + "\n" + "\n".join(rows[:30]) + "\n")
open("truth.csv", "w").write(lines[0] + "\n" + "\n".join(rows[30:50]) + "\n")
PY
"$RECUR" sample run --prime prime.csv --length 20 > roll.csv
"$RECUR" sample gauss --prime prime.csv --length 20 --seed 5 > g5a.csv
"$RECUR" sample gauss --prime prime.csv --length 20 --seed 5 > g5b.csv
"$RECUR" sample gauss --prime prime.csv --length 20 --seed 6 > g6.csv
cmp -s g5a.csv g5b.csv || fail "sample: the same seed gave another rollout"
cmp -s g5a.csv g6.csv && fail "sample: another seed gave the same gaussian rollout"
python3 - er.json er2.json <<'PY'
import json, os, sys
a, b = (json.load(open(p))["rollout"] for p in sys.argv[1:3])
quick = os.environ.get("RECUR_SANITIZED")
print(f"rollout of the last 20 frames: mse {a['mse']:.5f}, repeating the last frame {a['baseline_mse']:.5f} "
      f"over {a['frames']:.0f} frames; 2 ranks {b['mse']:.5f}")
assert (quick or a["mse"] * 10 <= a["baseline_mse"]) and a["frames"] == b["frames"] and abs(a["mse"] - b["mse"]) <= 1e-6 * a["mse"], (a, b)
rd = lambda p: [list(map(float, l.split(","))) for l in open(p).read().splitlines()[1:]]
r, t, p = rd("roll.csv"), rd("truth.csv"), rd("prime.csv")
assert open("roll.csv").readline().strip() == "a,b" and len(r) == 20
mse = sum((x - y) ** 2 for u, v in zip(r, t) for x, y in zip(u, v)) / (2 * len(t))
naive = sum((x - y) ** 2 for v in t for x, y in zip(p[-1], v)) / (2 * len(t))
print(f"recur sample --prime 30 frames --length 20: mse {mse:.5f} against the truth, repeating the last frame {naive:.5f}")
assert quick or mse * 10 <= naive, (mse, naive)
PY
expect_fail "a forecaster needs --prime" "$RECUR" sample run --length 5
printf 'a,c\n1,2\n' > badprime.csv
expect_fail "no column 'b' (badprime.csv:line 1)" "$RECUR" sample run --prime badprime.csv --length 5

# scheduled sampling feeds back the model's frames (gaussian: keyed draws): world-size invariant
ss=(--loss gaussian --scheduled-sampling linear --ss-k 0.7 --ss-c 0)
"$RECUR" train "${common[@]}" "${ss[@]}" --steps 10 --log-every 1 --eval-every 0 --accum 2 --quiet --out a2
timeout 300 $MPIRUN -np 2 "$RECUR" train "${common[@]}" "${ss[@]}" --steps 10 --log-every 1 --eval-every 0 --quiet --out n2
"$H5TOOL" compare a2/model.h5 n2/model.h5 1e-5 || fail "forecast: 2 ranks and accum 2 trained different parameters"
"$RECUR" train "${common[@]}" --loss gaussian --steps 10 --eval-every 0 --accum 2 --quiet --out tf2
! "$H5TOOL" compare a2/model.h5 tf2/model.h5 0 > /dev/null || fail "forecast: scheduled sampling changed nothing"
expect_fail "--scheduled-sampling with --horizon 3" "$RECUR" train "${common[@]}" --horizon 3 --scheduled-sampling exp --out bad
"$RECUR" train "${common[@]}" --steps 5 --eval-every 0 --ckpt-every 5 --quiet --out part
"$RECUR" train --resume part --steps 10 --quiet
"$RECUR" train "${common[@]}" --steps 10 --eval-every 0 --ckpt-every 5 --quiet --out full
"$H5TOOL" compare part/model.h5 full/model.h5 0 || fail "forecast: the resumed run differs"
printf 'a,c\n1,2\n3,4\n5,6\n' > other.csv
"$RECUR" prepare other.csv -o other.h5 --level real --quiet
expect_fail "the dataset's features differ from the model's" "$RECUR" eval run --data other.h5 --split train
expect_fail "this is a forecast model: it reads frames, not text" "$RECUR" predict run "1,2"
printf 'hello world\n' > t.txt
"$RECUR" prepare t.txt -o t.h5 --quiet
expect_fail "the dataset holds text, the model reads real-valued sequences" "$RECUR" eval run --data t.h5 --split train
expect_fail "the dataset is for --task lm, not --task forecast" "$RECUR" train --data t.h5 --task forecast --mode sequences --out bad
echo "forecast: ok"

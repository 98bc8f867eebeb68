#!/usr/bin/env bash
# The figures README and docs/ give for their examples, measured by running them as written: the quickstart
# (training time, validation loss, how much of its sample is real words), the "Using it" run, and
# the classifier, tagger, conditioned-generation and encoder-decoder demos (time and test figures). Prints one line per figure with the
# machine. Usage: tests/bench/readme_demos.sh [WORKDIR] [--skip-using-it]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${RECUR:-$top/build/recur}
work=${1:-/tmp/recur-readme-demos}
skip_using=${2:-}
mkdir -p "$work" && cd "$work"
export OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(lscpu | grep -o 'amx_bf16\|avx512_bf16' | sort -u | xargs || true)"
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.0f}')"; }
last_val() { python3 -c "
import json, sys
v = [json.loads(l) for l in open(sys.argv[1]) if '\"val_loss\"' in l][-1]
print(f\"{v['val_loss']:.3f} nats/char ({v.get('val_bpc', 0):.3f} bits/char)\")" "$1/metrics.jsonl"; }
# share of the sample's words (letters only, lower case) that occur in the fortunes text
real_words() { python3 - "$1" <<'PY'
import re, sys, glob, os
d = "/usr/share/games/fortunes"
known = set()
for p in glob.glob(d + "/*"):
    if "." not in os.path.basename(p) and os.path.isfile(p):
        known |= set(re.findall(r"[a-z]+", open(p, errors="replace").read().lower()))
words = re.findall(r"[a-z]+", open(sys.argv[1]).read().lower())
print(f"{100 * sum(w in known for w in words) / max(1, len(words)):.0f}% of {len(words)} words")
PY
}

# ---- quickstart, as a new user runs it ----
t0=$(now)
"$top/launch/quickstart" --dir "$work/quickstart" > quickstart.log 2>&1
t1=$(now)
train_s=$(python3 -c "
import json
l = [json.loads(x) for x in open('$work/quickstart/run/metrics.jsonl') if 'elapsed_s' in x]
print(f\"{l[-1]['elapsed_s']:.0f}\")")
sed -n '/^== sample/,/^== eval/p' quickstart.log | sed '1d;$d' > qs-sample.txt
for seed in $(seq 1 20); do "$R" sample "$work/quickstart/run" --length 2000 --temperature 0.6 --seed $seed --quiet; done > qs-long.txt
echo "quickstart: $(secs "$t0" "$t1") s in all, training ${train_s} s; val $(last_val "$work/quickstart/run");" \
  "sample at its temperature: $(real_words qs-long.txt) are words of the corpus"
echo "  its sample: $(head -c 300 qs-sample.txt | tr '\n' ' ')"

# ---- "Using it": 2 epochs of the fortunes ----
F=$(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
"$R" prepare $F -o fort.h5 --level char --split-on separator --separator % --val 0.05 --test 0.05 --quiet
if [ "$skip_using" != "--skip-using-it" ]; then
  rm -rf run
  t0=$(now)
  "$top/launch/run-mpi" -np 2 "$R" train --data fort.h5 --out run --cell gru --layers 2 --hidden 384 --batch 32 \
    --seq-len 50 --epochs 2 --lr 3e-3 --schedule cosine --warmup 50 --eval-every 500 --quiet
  t1=$(now)
  for seed in $(seq 1 20); do "$R" sample run --length 2000 --temperature 0.6 --seed $seed --quiet; done > using.txt
  echo "using it: $(secs "$t0" "$t1") s; val $(last_val run); test $("$R" eval run --data fort.h5 --split test | cut -d, -f1-2);" \
    "sample: $(real_words using.txt) are words of the corpus"
fi

# ---- classifier demo ----
"$top/datasets/fortune-topics.sh" topics.txt
"$R" prepare topics.txt -o topics.h5 --task classify --val 0.1 --test 0.1 --quiet
rm -rf topics
t0=$(now)
mpirun -np 2 "$R" train --data topics.h5 --out topics --task classify --bidirectional --mode sequences \
  --cell lstm --layers 1 --hidden 128 --embed 32 --batch 32 --epochs 8 --lr 3e-3 --eval-every 200 --quiet
t1=$(now)
echo "topics: $(secs "$t0" "$t1") s on 2 ranks; test: $("$R" eval topics --data topics.h5 --split test | head -1)"
printf 'The program crashed and the computer needs a new disk drive\nShe loved him with all her heart\n' |
  "$R" predict topics | sed 's/^/  predict: /'

# ---- tagger demo ----
"$top/datasets/truecase.sh" truecase.txt
"$R" prepare truecase.txt -o truecase.h5 --task tag --val 0.05 --test 0.05 --quiet
rm -rf truecase
t0=$(now)
mpirun -np 2 "$R" train --data truecase.h5 --out truecase --task tag --bidirectional --mode sequences \
  --cell lstm --layers 2 --hidden 128 --embed 32 --batch 32 --steps 600 --lr 3e-3 --quiet
t1=$(now)
echo "truecase: $(secs "$t0" "$t1") s on 2 ranks; test: $("$R" eval truecase --data truecase.h5 --split test | head -1);" \
  "$("$R" eval truecase --data truecase.h5 --split test | grep -E '^  U ' | xargs)"
echo "  predict: $("$R" predict truecase "hello, i am bob.")"

# ---- conditioned generation demo: fortunes written per topic, against the same model without labels ----
"$R" prepare topics.txt -o cond.h5 --task condlm --val 0.05 --quiet
cut -f2- topics.txt > topics-plain.txt
"$R" prepare topics-plain.txt -o plain.h5 --split-on line --val 0.05 --quiet
rm -rf cond plain
t0=$(now)
mpirun -np 2 "$R" train --data cond.h5 --out cond --task condlm --mode sequences --cell gru --layers 2 --hidden 256 \
  --embed 32 --batch 32 --steps 600 --lr 3e-3 --eval-every 600 --quiet
t1=$(now)
mpirun -np 2 "$R" train --data plain.h5 --out plain --mode sequences --cell gru --layers 2 --hidden 256 \
  --embed 32 --batch 32 --steps 600 --lr 3e-3 --eval-every 600 --quiet
echo "condlm: $(secs "$t0" "$t1") s on 2 ranks; val $(last_val cond); the same model without labels: val $(last_val plain)"
for lab in computers love food; do
  echo "  --label $lab: $("$R" sample cond --label $lab --temperature 0.6 --seed 7 --length 300 --quiet | tr '\n' ' ')"
done

# ---- encoder-decoder demo: written dates -> ISO 8601 ----
"$top/datasets/dates.sh" dates.txt > /dev/null
"$R" prepare dates.txt -o dates.h5 --task seq2seq --quiet
rm -rf dates
t0=$(now)
mpirun -np 2 "$R" train --data dates.h5 --out dates --task seq2seq --mode sequences --cell gru --layers 1 \
  --hidden 128 --embed 32 --bidirectional --attention general --batch 64 --steps 1500 --lr 3e-3 \
  --eval-every 500 --quiet
t1=$(now)
echo "seq2seq dates: $(secs "$t0" "$t1") s on 2 ranks; $("$R" eval dates --data dates.h5)"
echo "  predict: $(printf 'Tue 9 Jan 2024\nthe 3rd of May 2020\n12/25/1999\nJuly 4, 1776\nnovember 11 1918\n' |
  "$R" predict dates | tr '\n' ' ')"

# ---- forecasting demo: weekly CO2 at Mauna Loa (Debian's python3-statsmodels) ----
if [ -f /usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv ]; then
  "$top/datasets/co2.sh" co2 > /dev/null
  "$R" prepare co2/train.csv -o co2.h5 --level real --quiet
  "$R" prepare co2/test.csv -o co2-test.h5 --level real --val 0 --quiet
  rm -rf co2run
  t0=$(now)
  mpirun -np 2 "$R" train --data co2.h5 --out co2run --task forecast --mode sequences --cell gru --layers 1 \
    --hidden 64 --embed 16 --batch 32 --steps 1000 --lr 3e-3 --eval-every 500 --quiet
  t1=$(now)
  echo "forecast co2: $(secs "$t0" "$t1") s on 2 ranks; on 1994-2001: $("$R" eval co2run --data co2-test.h5 --split train --rollout 52 | grep -v '^  ' | tr '\n' ' ')"
  roll() { "$R" eval "$1" --data co2-test.h5 --split train --rollout 52 | grep rollout | sed 's/.*frames): mse \([^,]*\),.*/\1/'; }
  tf="" ss=""
  for seed in 1 2 3 4; do # teacher forcing against scheduled sampling, over seeds
    rm -rf co2tf co2ss
    mpirun -np 2 "$R" train --data co2.h5 --out co2tf --cell gru --layers 1 --hidden 64 --embed 16 --batch 32 \
      --steps 1000 --lr 3e-3 --eval-every 500 --seed $seed --quiet
    mpirun -np 2 "$R" train --data co2.h5 --out co2ss --cell gru --layers 1 --hidden 64 --embed 16 --batch 32 \
      --steps 1000 --lr 3e-3 --eval-every 500 --seed $seed --scheduled-sampling invsigmoid --ss-k 200 --ss-min 0.5 --quiet
    tf="$tf $(roll co2tf)" ss="$ss $(roll co2ss)"
  done
  echo "forecast co2, 52-week rollout mse, seeds 1-4: teacher forcing$tf; --scheduled-sampling invsigmoid --ss-k 200 --ss-min 0.5$ss"
else
  echo "forecast co2: skipped (apt-get install python3-statsmodels)"
fi
if command -v espeak-ng > /dev/null; then
  "$top/datasets/digits.sh" digits
  "$R" prepare digits/train.csv -o digits.h5 --level real --label-column digit --val 0.1 --quiet
  "$R" prepare digits/heldout.csv -o digits-heldout.h5 --level real --label-column digit --val 0 --quiet
  rm -rf digitrun
  t0=$(now)
  mpirun -np 2 "$R" train --data digits.h5 --out digitrun --cell gru --layers 1 --hidden 64 --batch 32 \
    --lr 5e-3 --steps 600 --eval-every 200 --quiet
  t1=$(now)
  echo "spoken digits: $(secs "$t0" "$t1") s on 2 ranks; $("$R" eval digitrun --data digits.h5 | head -1); held-out speakers: $("$R" eval digitrun --data digits-heldout.h5 --split train | head -1)"
  /usr/bin/python3 - <<'PY'  # the bag-of-frames baseline: softmax regression on each utterance's mean frame
import numpy as np
def load(p):
    X, y, cur = [], [], []
    for l in open(p).read().split("\n")[1:] + [""]:
        if not l.strip():
            if cur: X.append(np.mean([c[0] for c in cur], 0)); y.append(cur[0][1]); cur = []
            continue
        v = l.split(","); cur.append((np.array(v[:-1], float), v[-1]))
    return np.array(X), np.array(y)
Xt, yt = load("digits/train.csv"); Xh, yh = load("digits/heldout.csv")
m, s = Xt.mean(0), Xt.std(0); Xt, Xh = (Xt - m) / s, (Xh - m) / s
labs = sorted(set(yt)); Y = np.array([[c == l for l in labs] for c in yt], float)
W, b = np.zeros((Xt.shape[1], len(labs))), np.zeros(len(labs))
for _ in range(3000):
    z = Xt @ W + b; z -= z.max(1, keepdims=True); p = np.exp(z); p /= p.sum(1, keepdims=True)
    g = (p - Y) / len(Xt); W -= 0.5 * Xt.T @ g; b -= 0.5 * g.sum(0)
print(f"  held-out speakers, bag of frames (softmax regression on the mean frame): accuracy {((Xh @ W + b).argmax(1) == np.searchsorted(labs, yh)).mean():.4f}; majority class {max((yh == l).mean() for l in labs):.4f}")
PY
else
  echo "spoken digits: skipped (apt-get install espeak-ng)"
fi

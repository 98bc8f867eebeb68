#!/usr/bin/env bash
# Word-level quality on a real corpus a fresh machine has (issue: word-level LMs): the fortunes at
# word level, one fortune a sequence. LSTM 2x256, embed 256, B32 x T35, 2 ranks (one per core).
#  1. the same wall time (W1 s) for the full softmax and the adaptive softmax (cutoffs 2000,10000):
#     which reaches the lower validation perplexity;
#  2. a longer run (W2 s) of the adaptive model plain and with awd-lstm-lm's regularisers.
# Each run is stopped by SIGUSR2 to mpirun, which forwards it (the ranks commit a checkpoint and exit
# 0, with no deadline: a bare SIGINT gives them 1 s before SIGKILL); it validates
# every 250 steps (model-best.h5 keeps the best); `recur eval` gives the last model's loss. Usage: tests/bench/bench_word_quality.sh [W1] [W2] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recur=${RECUR:-$here/../../build/recur}
w1=${1:-240}
w2=${2:-600}
work=${3:-/tmp/recur-bench-word-quality}
mkdir -p "$work" && cd "$work"
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
F=$(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
[ -f fw.h5 ] || "$recur" prepare $F -o fw.h5 --level word --split-on separator --separator % --val 0.05 --quiet
"$recur" inspect fw.h5 | sed -n 2p
mpirun=(mpirun -np 2); [ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
common=(--data fw.h5 --cell lstm --layers 2 --hidden 256 --embed 256 --batch 32 --seq-len 35 --epochs 1000
        --log-every 50 --eval-every 250 --ckpt-every 100000 --sample-len 0 --quiet)
asm=(--softmax adaptive --cutoffs 2000,10000)
awd=(--dropout-locked 0.3 --dropout-embed 0.1 --weight-drop 0.3)
run() { # NAME SECONDS FLAGS...: train for SECONDS of wall time, then the validation loss
  local name=$1 secs=$2; shift 2
  rm -rf "$name"
  timeout -s USR2 "$secs" "${mpirun[@]}" "$recur" train "${common[@]}" "$@" --out "$name" || true
  local loss
  loss=$("$recur" eval "$name" --data fw.h5 --split val --json | python3 -c "import json,sys; print(json.load(sys.stdin)['loss'])")
  python3 - "$name" "$secs" "$loss" <<'PY'
import json, math, sys
name, secs, last = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = [json.loads(l) for l in open(f"{name}/metrics.jsonl")]
steps = max(r.get("step", 0) for r in rows)
val = [(r["val_loss"], r["step"]) for r in rows if "val_loss" in r]
best = min(val) if val else (last, steps)
print(f"  {name}: {secs} s, {steps} steps; last val {last:.3f} nats/word (ppl {math.exp(last):.1f}); "
      f"best val {best[0]:.3f} (ppl {math.exp(best[0]):.1f}) at step {best[1]}")
PY
}
echo "1. the same wall time, $w1 s each:"
run full "$w1"
run adaptive "$w1" "${asm[@]}"
echo "2. a longer run, $w2 s each, adaptive softmax:"
run adaptive-long "$w2" "${asm[@]}"
run adaptive-awd "$w2" "${asm[@]}" "${awd[@]}"

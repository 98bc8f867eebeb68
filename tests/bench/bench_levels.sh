#!/usr/bin/env bash
# One axis for char, word and subword language models: the fortunes corpus (Debian's `fortunes`)
# prepared at char, word and BPE level (the same test split: the split is by sequence, with the
# same seed), a GRU 2x256 trained for the same wall time at each level (two at a time, one core
# each), then `recur eval --split test --json`: bits per character of the text each model's
# tokens stand for. Prints one line per level with the machine.
#   tests/bench/bench_levels.sh [SECONDS] [WORKDIR]      (defaults: 120 s, /tmp/recur-levels)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${RECUR:-$top/build/recur}
secs=${1:-120}
work=${2:-/tmp/recur-levels}
mkdir -p "$work" && cd "$work"
export OPENBLAS_NUM_THREADS=1
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(lscpu | grep -o 'amx_bf16\|avx512_bf16' | sort -u | xargs || true); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
fdir=/usr/share/games/fortunes
files=()
for f in $(ls "$fdir" | sort); do [ -f "$fdir/$f" ] && [[ $f != *.* ]] && files+=("$fdir/$f"); done
common=(--split-on separator --separator % --val 0.05 --test 0.05 --quiet)
[ -f char.h5 ] || "$R" prepare "${files[@]}" -o char.h5 --level char "${common[@]}"
[ -f word.h5 ] || "$R" prepare "${files[@]}" -o word.h5 --level word --max-vocab 20000 "${common[@]}"
[ -f bpe.h5 ] || "$R" prepare "${files[@]}" -o bpe.h5 --level bpe --vocab-size 4000 "${common[@]}"
model=(--cell gru --layers 2 --hidden 256 --embed 64 --batch 16 --seq-len 50 --steps 1000000 --lr 3e-3
       --log-every 200 --ckpt-every 1000000 --quiet)
train() { # LEVEL [EXTRA...]: SECONDS of training, stopped gracefully (a checkpoint of the step reached)
  local level=$1
  shift
  rm -rf "run-$level"
  timeout -s INT "$secs" "$R" train --data "$level.h5" --out "run-$level" "${model[@]}" "$@" > "train-$level.log" 2>&1 || true
}
train char & train word --softmax adaptive --cutoffs 2000,8000 & wait
train bpe & wait
for level in char word bpe; do
  "$R" eval "run-$level" --data "$level.h5" --split test --json > "eval-$level.json"
  python3 - "$level" "eval-$level.json" "run-$level/metrics.jsonl" <<'PY'
import json, sys
level, e = sys.argv[1], json.load(open(sys.argv[2]))
steps = [json.loads(l)["step"] for l in open(sys.argv[3]) if '"last_loss"' in l]
per_tok = e.get("ppl") and f"perplexity {e['ppl']:.1f}" or f"{e.get('bpc', 0):.4f} bits/token"
print(f"{level:5s} {steps[-1]:6d} steps: test {e['bits_per_char']:.4f} bits/char over {e['chars']:.0f} "
      f"characters ({e['tokens']:.0f} tokens, {per_tok})")
PY
done

#!/usr/bin/env bash
# Corpora far beyond memory: for each size (GB; default 1 4 16 40) a corpus is made under
# build/corpus-bench from the fortunes (the topic files repeated, whole lines), then prepared at char,
# word and subword (bpe, 8,000 pieces, trained on 1M sampled lines) level on 1 and 2 ranks, and
# each dataset trained 200 steps (LSTM 1x256, batch 32 x 100, one rank); prints wall time,
# throughput and peak RSS of each, and removes the corpus and its datasets before the next size.
# Needs about 3.5x the largest size of free disk. Usage: tests/bench/bench_corpus.sh [GB...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${RECUR:-$top/build/recur}
work=$top/build/corpus-bench
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 4 16 40)
mkdir -p "$work" && cd "$work"
export OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(lscpu | grep -o 'amx_bf16\|avx512_bf16' | sort -u | xargs || true); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-}"
cat $(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort) > base.txt
measure() { python3 "$here/runmeasure.py" "$@" 2>&1 >/dev/null | tail -1; }
for gb in "${sizes[@]}"; do
  : > corpus.txt
  for _ in $(seq 16); do cat base.txt; done > block.txt
  while [ "$(stat -c %s corpus.txt)" -lt $((gb * 1000000000)) ]; do cat block.txt >> corpus.txt; done
  bytes=$(stat -c %s corpus.txt)
  for level in char word bpe; do
    flags=(--level $level --split-on line --val 0.001 --quiet)
    [ $level = bpe ] && flags+=(--vocab-size 8000)
    for np in 1 2; do
      run=("$R" prepare corpus.txt -o $level-$np.h5 "${flags[@]}")
      [ $np = 2 ] && run=(mpirun -np 2 "${run[@]}")
      m=$(measure "${run[@]}")
      wall=$(echo "$m" | sed -n 's/wall \([0-9.]*\) s.*/\1/p')
      echo "$gb GB prepare $level, $np rank(s): $m; $(python3 -c "print(f'{$bytes/1e6/$wall:.0f}')") MB/s"
      [ $np = 2 ] && rm -f $level-2*.h5
    done
    m=$(measure "$R" train --data $level-1.h5 --out run-$level --layers 1 --hidden 256 --batch 32 --seq-len 100 \
      --steps 200 --eval-every 0 --quiet)
    echo "$gb GB train $level 200 steps: $m; $(python3 -c "
import json; l = [json.loads(x) for x in open('run-$level/metrics.jsonl') if 'tokens_per_s' in x]
print(f\"{l[-1]['tokens_per_s']:.0f} tokens/s\")")"
    rm -rf $level-1*.h5 run-$level
  done
  rm -f corpus.txt block.txt
done

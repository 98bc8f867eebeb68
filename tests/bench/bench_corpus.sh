#!/usr/bin/env bash
# Corpora far beyond memory: for each size (GB; default 1 4 16 40) a corpus is made under
# build/corpus-bench from the fortunes (the topic files repeated, whole lines), then prepared at
# char, word and subword (bpe, 8,000 pieces, trained on 1M sampled lines) level on 1 and 2 ranks,
# and each dataset trained 200 steps in sequences mode (a sequence a line; LSTM 1x256, batch 32,
# one rank); prints wall time, throughput and peak RSS of each, and removes the corpus and its
# datasets before the next size.
# - Subwords only up to BPE_MAX_GB (default 1): SentencePiece encodes about 3.7 MB/s a core here,
#   so 40 GB would take 3 hours on two cores (tests/bench/bench_spm_encode.sh).
# - Where the disk has less than 3.5x the size free, the corpus is written as two zstd files
#   (--long=27: the repeated text compresses to almost nothing; prepare reads them through libzstd,
#   each rank a whole file), the 1-rank dataset is removed before the 2-rank prepare, and training
#   reads the 2-rank dataset (the same data).
# Usage: tests/bench/bench_corpus.sh [GB...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${RECUR:-$top/build/recur}
work=$top/build/corpus-bench
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 4 16 40)
bpe_max=${BPE_MAX_GB:-1}
mkdir -p "$work" && cd "$work"
export OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(lscpu | grep -o 'amx_bf16\|avx512_bf16' | sort -u | xargs || true); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-}"
cat $(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort) > base.txt
for _ in $(seq 16); do cat base.txt; done > block.txt
block=$(stat -c %s block.txt)
measure() { python3 "$here/runmeasure.py" "$@" 2>&1 >/dev/null | tail -1; }
rate() { python3 -c "import sys; print(f'{float(sys.argv[1]) / 1e6 / float(sys.argv[2]):.0f}')" "$@"; }
for gb in "${sizes[@]}"; do
  free=$(df --output=avail -B1 . | tail -1)
  reps=$(((gb * 1000000000 + block - 1) / block))
  if [ "$free" -gt $((gb * 3500000000)) ]; then
    packed=0
    for _ in $(seq $reps); do cat block.txt; done > corpus.txt
    inputs=(corpus.txt)
  else
    packed=1
    for part in 1 2; do
      for _ in $(seq $(((reps + 1) / 2))); do cat block.txt; done | zstd -q -1 --long=27 -o corpus-$part.zst
    done
    inputs=(corpus-1.zst corpus-2.zst)
  fi
  bytes=$((block * (packed ? 2 * ((reps + 1) / 2) : reps)))
  echo "$gb GB: $bytes bytes of text$([ $packed = 1 ] && echo ", as two zstd files of $(du -ch corpus-*.zst | tail -1 | cut -f1) (disk: $((free / 1000000000)) GB free)")"
  for level in char word bpe; do
    [ $level = bpe ] && [ "$gb" -gt "$bpe_max" ] && continue
    flags=(--level $level --split-on line --val 0.0001 --quiet)
    [ $level = bpe ] && flags+=(--vocab-size 8000)
    for np in 1 2; do
      [ $np = 2 ] && [ $packed = 1 ] && rm -f $level-1*.h5
      run=("$R" prepare "${inputs[@]}" -o $level-$np.h5 "${flags[@]}")
      [ $np = 2 ] && run=(mpirun -np 2 "${run[@]}")
      m=$(measure "${run[@]}")
      wall=$(echo "$m" | sed -n 's/wall \([0-9.]*\) s.*/\1/p')
      echo "$gb GB prepare $level, $np rank(s): $m; $(rate $bytes $wall) MB/s"
    done
    data=$level-2.h5
    if [ $packed = 0 ]; then rm -f $level-2*.h5; data=$level-1.h5; fi
    m=$(measure "$R" train --data $data --out run-$level --mode sequences --layers 1 --hidden 256 --batch 32 \
      --max-len 100 --steps 200 --eval-every 0 --quiet)
    echo "$gb GB train $level 200 steps: $m; $(python3 -c "
import json; l = [json.loads(x) for x in open('run-$level/metrics.jsonl') if 'tokens_per_s' in x]
print(f\"{l[-1]['tokens_per_s']:.0f} tokens/s\")")"
    rm -rf $level-*.h5 run-$level
  done
  rm -f corpus.txt corpus-*.zst
done
rm -f block.txt base.txt

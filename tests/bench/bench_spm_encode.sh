#!/usr/bin/env bash
# Subword prepare against SentencePiece's own spm_encode on the same file and model: the fortunes
# repeated to MB megabytes (default 100) under build/spm-bench, a BPE model of 8,000 pieces trained
# by spm_train on the fortunes, then wall time of `spm_encode --output_format=id` (to /dev/null),
# `recur prepare --level spm --split-on line` on 1 rank and on 2. Usage: bench_spm_encode.sh [MB]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${RECUR:-$top/build/recur}
mb=${1:-100}
work=$top/build/spm-bench
mkdir -p "$work" && cd "$work"
export OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cat $(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort) > base.txt
: > corpus.txt
while [ "$(stat -c %s corpus.txt)" -lt $((mb * 1000000)) ]; do cat base.txt >> corpus.txt; done
bytes=$(stat -c %s corpus.txt)
spm_train --input=base.txt --model_prefix=m --vocab_size=8000 --model_type=bpe > train.log 2>&1
wall() { python3 -c 'import subprocess, sys, time; t = time.time(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); print(time.time() - t)' "$@"; }
enc=$(wall sh -c "spm_encode --model=m.model --output_format=id < corpus.txt")
one=$(wall "$R" prepare corpus.txt -o one.h5 --level spm --spm-model m.model --split-on line --quiet)
two=$(wall mpirun -np 2 "$R" prepare corpus.txt -o two.h5 --level spm --spm-model m.model --split-on line --quiet)
python3 - "$bytes" "$enc" "$one" "$two" <<'PY'
import sys
b, enc, one, two = float(sys.argv[1]), *map(float, sys.argv[2:])
print(f"{b / 1e6:.0f} MB, BPE 8,000: spm_encode {enc:.1f} s ({b / 1e6 / enc:.2f} MB/s); recur prepare "
      f"1 rank {one:.1f} s ({b / 1e6 / one:.2f} MB/s, {enc / one:.2f}x spm_encode), 2 ranks {two:.1f} s "
      f"({one / two:.2f}x one rank, {enc / two:.2f}x spm_encode)")
PY
rm -f corpus.txt one.h5 two.h5

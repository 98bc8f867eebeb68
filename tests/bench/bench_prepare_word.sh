#!/usr/bin/env bash
# Parallel prepare of ONE large word-level file (issue: word-level LMs): the fortunes text
# repeated to SIZE_MB (default 1000), prepared at word level split on lines by 1 rank and by 2
# ranks (one per core), which cut the file at line starts and merge their word counts. Checks
# the two datasets decode the same. Usage: tests/bench/bench_prepare_word.sh [SIZE_MB] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recur=${RECUR:-$here/../../build/recur}
mb=${1:-1000}
work=${2:-/tmp/recur-bench-prepare-word}
mkdir -p "$work" && cd "$work"
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
f=corpus-$mb.txt
if [ ! -f $f ]; then
  cat /usr/share/games/fortunes/fortunes /usr/share/games/fortunes/literature > base.txt
  : > $f
  while [ "$(stat -c %s $f)" -lt $((mb * 1000000)) ]; do cat base.txt base.txt base.txt base.txt >> $f; done
  truncate -s $((mb * 1000000)) $f
  printf '\n' >> $f
fi
mpirun=(mpirun -np 2); [ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
args=(--level word --split-on line --val 0.01 --quiet)
rm -f w1*.h5 w2*.h5
sync
t0=$(date +%s.%N); "$recur" prepare $f -o w1.h5 "${args[@]}"; t1=$(date +%s.%N)
"${mpirun[@]}" "$recur" prepare $f -o w2.h5 "${args[@]}"; t2=$(date +%s.%N)
python3 -c "
a, b = $t1 - $t0, $t2 - $t1
print(f'prepare word level, one {$mb} MB file: 1 rank {a:.1f} s ({$mb / a:.0f} MB/s), 2 ranks {b:.1f} s ({$mb / b:.0f} MB/s): {a / b:.2f}x')"
cmp <("$recur" decode w1.h5 --split val) <("$recur" decode w2.h5 --split val) && echo "val splits decode the same"
"$recur" inspect w2.h5 | head -3
rm -f w1*.h5 w2*.h5

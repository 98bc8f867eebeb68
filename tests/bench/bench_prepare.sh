#!/usr/bin/env bash
# Char-level prepare throughput and memory: a generated corpus of SIZE_MB (default 500) and one
# twice as large. Usage: tests/bench/bench_prepare.sh [SIZE_MB] [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recur=${RECUR:-$here/../../build/recur}
mb=${1:-500}
work=${2:-/tmp/recur-bench-prepare}
mkdir -p "$work" && cd "$work"
# the corpus: the fortunes text (with some multi-byte UTF-8 added) repeated to the size wanted
if [ ! -f base.txt ]; then
  cat /usr/share/games/fortunes/fortunes /usr/share/games/fortunes/literature > base.txt
  printf 'naïve café — ✓ 日本語 😀\n' >> base.txt
fi
for size in $mb $((2 * mb)); do
  f=corpus-$size.txt
  if [ ! -f $f ]; then
    : > $f
    while [ "$(stat -c %s $f)" -lt $((size * 1000000)) ]; do cat base.txt base.txt base.txt base.txt >> $f; done
    truncate -s $((size * 1000000)) $f
    printf '\n' >> $f
  fi
  bytes=$(stat -c %s $f)
  sync
  out=$( { python3 "$here/runmeasure.py" "$recur" prepare $f -o c-$size.h5 --level char --split-on line --val 0.01 --quiet; } 2>&1 )
  wall=$(echo "$out" | sed -n 's/.*wall \([0-9.]*\) s.*/\1/p')
  rss=$(echo "$out" | sed -n 's/.*peak RSS \([0-9]*\) MiB.*/\1/p')
  echo "prepare char-level, split on lines: $((bytes / 1000000)) MB in ${wall} s = $(python3 -c "print(f'{$bytes/1e6/$wall:.0f}')") MB/s, peak RSS ${rss} MiB"
  rm -f c-$size.h5
done

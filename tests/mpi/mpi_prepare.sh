# mpirun -np N recur prepare splits the input files across ranks: each rank counts its files,
# the counts are summed, each rank writes its own shard, rank 0 the index. The result reads
# exactly like a single-rank prepare of the same input.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
mkdir in
for i in $(seq 1 7); do
  python3 -c "
import random, sys
r = random.Random($i)
print('\n%\n'.join(' '.join(r.choice(['año', 'naïve', 'word', 'line', '✓', 'x']) for _ in range(r.randint(1, 30))) for _ in range(50 * $i)))
print('%')" > in/part$i.txt
done
for args in "--split-on separator --separator % --val 0.1 --test 0.1" "--val 0.2" "--level byte --split-on line --shard-tokens 20000"; do
  rm -f one*.h5 many*.h5
  "$RECUR" prepare in -o one.h5 $args --quiet
  timeout 120 $MPIRUN -np 3 "$RECUR" prepare in -o many.h5 $args --quiet
  n=$(ls many-r*-shard-*.h5 | wc -l)
  [ "$n" -ge 3 ] || fail "expected a shard per rank at least, got $n"
  for s in train val test; do
    cmp <("$RECUR" decode one.h5 --split $s) <("$RECUR" decode many.h5 --split $s) || fail "3-rank prepare differs ($args, $s)"
  done
  a=$("$RECUR" inspect one.h5 --json | sed 's/.*"vocab_size"//; s/"files":[0-9]*//'); b=$("$RECUR" inspect many.h5 --json | sed 's/.*"vocab_size"//; s/"files":[0-9]*//')
  [ "$a" = "$b" ] || fail "inspect differs: $a vs $b"
done
# training reads a shard set exactly as the single file: the same run, bitwise
"$RECUR" prepare in -o one.h5 --split-on separator --separator % --val 0.1 --quiet
timeout 120 $MPIRUN -np 3 "$RECUR" prepare in -o many.h5 --split-on separator --separator % --val 0.1 --shard-tokens 3000 --quiet
for d in one many; do
  "$RECUR" train --data $d.h5 --out t-$d --mode sequences --cell gru --layers 1 --hidden 16 --batch 8 --steps 12 --eval-every 6 --quiet
done
"$H5TOOL" compare t-one/model.h5 t-many/model.h5 0 || fail "training on the shard set differs from the single file"
cmp <(grep -o '"val_loss":[^,]*' t-one/metrics.jsonl) <(grep -o '"val_loss":[^,]*' t-many/metrics.jsonl) || fail "validation differs on the shard set"
# word level counts its vocabulary on one rank, and still gives the same dataset
"$RECUR" prepare in -o w1.h5 --level word --split-on line --quiet
timeout 120 $MPIRUN -np 2 "$RECUR" prepare in -o w2.h5 --level word --split-on line --quiet
cmp <("$RECUR" decode w1.h5) <("$RECUR" decode w2.h5) || fail "word level under mpirun differs"
echo "parallel prepare: ok"

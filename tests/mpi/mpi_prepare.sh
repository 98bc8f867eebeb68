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
print('\n%\n'.join(' '.join(r.choice(['año', 'naïve', 'word', 'line', '✓', 'x', \"can't\", 'end.', '(so)', '-', '--']) for _ in range(r.randint(1, 30))) for _ in range(50 * $i)))
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
# word level: each rank counts its part, the counts are merged; the same dataset
"$RECUR" prepare in -o w1.h5 --level word --split-on line --quiet
timeout 120 $MPIRUN -np 2 "$RECUR" prepare in -o w2.h5 --level word --split-on line --quiet
cmp <("$RECUR" decode w1.h5) <("$RECUR" decode w2.h5) || fail "word level under mpirun differs"
cmp <(h5dump -d vocab_glue w1.h5 | tail -n +2) <(h5dump -d vocab_glue w2.h5 | tail -n +2) ||
  fail "the words' spacing (/vocab_glue) under mpirun differs"
"$RECUR" decode w1.h5 > w1.txt
grep -q " can't (so) " w1.txt && ! grep -q "can ' t\|( so )\| \.$" w1.txt || fail "word spacing: $(head -3 w1.txt)"
# one file, split among the ranks at line starts (CRLF lines, blank lines, a last line without a
# newline, multi-byte characters near the cuts): char level on 3 ranks, word level on 2, the same
# dataset and vocabulary as one rank, every rank with a part of it
python3 - <<'PY'
import random
r = random.Random(11)
w = ["año", "naïve", "word", "line", "✓", "x", "Zipf"] + ["w%d" % i for i in range(400)]
with open("big.txt", "w", newline="") as f:
    for i in range(3000):
        f.write(" ".join(r.choice(w) for _ in range(r.randint(0, 12))) + ("\r\n" if i % 7 == 0 else "\n"))
    f.write("last line")
PY
for run in "char 3" "word 2"; do
  read -r level n <<< "$run"
  rm -f b1.h5 bn.h5 bn-r*
  "$RECUR" prepare big.txt -o b1.h5 --level $level --split-on line --val 0.1 --test 0.05 --quiet
  timeout 120 $MPIRUN -np $n "$RECUR" prepare big.txt -o bn.h5 --level $level --split-on line --val 0.1 --test 0.05 --quiet
  [ "$(ls bn-r*-shard-*.h5 | wc -l)" -eq $n ] || fail "one file on $n ranks: expected a shard per rank"
  for s in train val test; do
    cmp <("$RECUR" decode b1.h5 --split $s) <("$RECUR" decode bn.h5 --split $s) || fail "$level, $n ranks, $s differs"
  done
  a=$("$RECUR" inspect b1.h5 --json | sed 's/.*"vocab_size"//; s/"files":[0-9]*//'); b=$("$RECUR" inspect bn.h5 --json | sed 's/.*"vocab_size"//; s/"files":[0-9]*//')
  [ "$a" = "$b" ] || fail "one file on $n ranks, $level: inspect differs: $a vs $b"
  for r in $(seq 0 $((n - 1))); do
    t=$(h5ls "$(printf "bn-r%03d-shard-00000.h5" $r)/train/tokens" | sed 's/.*{\([0-9]*\).*/\1/')
    [ "$t" -gt 1000 ] || fail "one file on $n ranks: rank $r wrote $t training tokens"
  done
done
echo "parallel prepare: ok"

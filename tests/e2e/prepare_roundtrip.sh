# Exact round trips of recur prepare + recur decode, word level up to <unk>, split determinism,
# directory and stdin inputs, and shard sets that read exactly like a single file.
source "$(dirname "$0")/../lib.sh"
printf 'héllo wörld — ✓ 😀 naïve\n\nsecond line after an empty one\n\n\nthird\n' > a.txt
printf 'Ünïcödé without a final newline: 日本語' > b.txt
printf '\n\nstarts with empty lines\nx\n' > c.txt
cat a.txt b.txt c.txt > all.txt

for level in byte char; do
  "$RECUR" prepare a.txt b.txt c.txt -o s-$level.h5 --level $level --quiet
  "$RECUR" decode s-$level.h5 > out.txt
  cmp out.txt all.txt || fail "$level-level stream round trip differs"
  "$RECUR" prepare a.txt b.txt c.txt -o f-$level.h5 --level $level --split-on file --quiet
  "$RECUR" decode f-$level.h5 > out.txt
  cmp out.txt all.txt || fail "$level-level file round trip differs"
done
for split in line paragraph; do
  "$RECUR" prepare a.txt -o l.h5 --split-on $split --quiet
  "$RECUR" decode l.h5 > out.txt
  if [ $split = line ]; then cmp out.txt a.txt || fail "line round trip differs"; fi
done
# a byte-level dataset takes any bytes, char level names the file and offset of bad UTF-8
printf 'ok\xff\xfe\x00binary' > bin.dat
"$RECUR" prepare bin.dat -o bin.h5 --level byte --quiet
"$RECUR" decode bin.h5 | cmp - bin.dat || fail "byte round trip of binary data"

# separator (fortune files)
printf 'first fortune\n%%\nsecond\nhas two lines\n%%\n' > f.txt
"$RECUR" prepare f.txt -o sep.h5 --split-on separator --separator % --quiet
"$RECUR" decode sep.h5 | cmp - f.txt || fail "separator round trip"
"$RECUR" inspect sep.h5 --json | grep -q '"train":{"sequences":2' || fail "two fortunes expected"

# directories: recursive, sorted; stdin
mkdir -p d/sub
printf 'B\n' > d/b.txt; printf 'A\n' > d/a.txt; printf 'C\n' > d/sub/c.txt
"$RECUR" prepare d -o dir.h5 --quiet
[ "$("$RECUR" decode dir.h5)" = "$(printf 'A\nB\nC')" ] || fail "directory order"
# each file once (Debian's common-licenses: GPL -> GPL-3): links to a file read, and a link back up
ln -s a.txt d/a2.txt; ln -s ../b.txt d/sub/b3.txt; ln -s .. d/sub/up; ln d/a.txt d/z-hard.txt
"$RECUR" prepare d -o dir2.h5 2> links.err > /dev/null
[ "$("$RECUR" decode dir2.h5)" = "$(printf 'A\nB\nC')" ] || fail "a linked file was read twice"
grep -q "skipped 3 files already read under another name: d/a2.txt (= d/a.txt), d/sub/b3.txt (= d/b.txt), d/z-hard.txt (= d/a.txt)" links.err ||
  fail "the skipped links are not named: $(cat links.err)"
cat all.txt | "$RECUR" prepare - -o stdin.h5 --quiet
"$RECUR" decode stdin.h5 | cmp - all.txt || fail "stdin round trip"
no_leftovers_stdin=$(ls | grep -c stdin- || true)
[ "$no_leftovers_stdin" = 0 ] || fail "stdin spool file left behind"

# word level: tokens are words and single punctuation marks; rare words become <unk>
printf 'the cat sat. the cat ran!\nthe dog sat, quietly.\n' > w.txt
"$RECUR" prepare w.txt -o w1.h5 --level word --split-on line --quiet
# words come back spaced as the corpus spaced each vocabulary entry (/vocab_glue)
[ "$("$RECUR" decode w1.h5)" = "$(printf 'the cat sat. the cat ran!\nthe dog sat, quietly.')" ] || fail "word round trip: $("$RECUR" decode w1.h5)"
"$RECUR" prepare w.txt -o w2.h5 --level word --split-on line --min-count 2 --quiet
[ "$("$RECUR" decode w2.h5)" = "$(printf 'the cat sat. the cat <unk> <unk>\nthe <unk> sat <unk> <unk>.')" ] || fail "word <unk>: $("$RECUR" decode w2.h5)"
printf "It doesn't (really) matter -- does it? \"Yes,\" she said.\nWe can't (ever) know -- can we? \"No,\" he said.\n" > glue.txt
"$RECUR" prepare glue.txt -o glue.h5 --level word --split-on line --val 0 --quiet
"$RECUR" decode glue.h5 | head -1 | grep -qxF "It doesn't (really) matter -- does it? \"Yes,\" she said." || fail "word spacing: $("$RECUR" decode glue.h5)"
h5dump -d vocab_glue glue.h5 > /dev/null || fail "/vocab_glue is not readable by h5dump"
"$RECUR" inspect w2.h5 --json | grep -q '"vocab_size":6' || fail "vocabulary of 6 expected (<eos> <unk> the cat sat .)"
# a fixed vocabulary from another dataset
"$RECUR" prepare w.txt -o w3.h5 --level word --split-on line --vocab w2.h5 --quiet
cmp <("$RECUR" decode w3.h5) <("$RECUR" decode w2.h5) || fail "--vocab reuse"

# splits: deterministic for a seed, different for another seed, tail for undelimited streams
seq 1 400 | sed 's/^/line number /' > many.txt
"$RECUR" prepare many.txt -o s1.h5 --split-on line --val 0.1 --test 0.1 --seed 7 --quiet
"$RECUR" prepare many.txt -o s2.h5 --split-on line --val 0.1 --test 0.1 --seed 7 --quiet
"$RECUR" prepare many.txt -o s3.h5 --split-on line --val 0.1 --test 0.1 --seed 8 --quiet
cmp <("$RECUR" decode s1.h5 --split val) <("$RECUR" decode s2.h5 --split val) || fail "same seed, different split"
! cmp -s <("$RECUR" decode s1.h5 --split val) <("$RECUR" decode s3.h5 --split val) || fail "other seed, same split"
cat <("$RECUR" decode s1.h5 --split train) <("$RECUR" decode s1.h5 --split val) <("$RECUR" decode s1.h5 --split test) | sort > u.txt
sort many.txt | cmp - u.txt || fail "splits do not partition the lines"
"$RECUR" prepare many.txt -o tail.h5 --val 0.1 --quiet
cat <("$RECUR" decode tail.h5) <("$RECUR" decode tail.h5 --split val) | cmp - many.txt || fail "stream tail split"
"$RECUR" decode tail.h5 --split val | cmp - <(tail -c "$("$RECUR" decode tail.h5 --split val | wc -c)" many.txt) || fail "val is not the tail"

# shard sets read exactly like the single file
for split in line none; do
  "$RECUR" prepare many.txt -o one-$split.h5 --split-on $split --val 0.1 --test 0.1 --seed 3 --quiet
  "$RECUR" prepare many.txt -o sh-$split.h5 --split-on $split --val 0.1 --test 0.1 --seed 3 --shard-tokens 1000 --quiet
  n=$(ls sh-$split-shard-*.h5 | wc -l)
  [ "$n" -gt 3 ] || fail "expected several shards, got $n"
  for s in train val test; do
    cmp <("$RECUR" decode one-$split.h5 --split $s) <("$RECUR" decode sh-$split.h5 --split $s) || fail "shard set differs ($split, $s)"
  done
done
j1=$("$RECUR" inspect one-line.h5 --json | sed 's/.*"splits"//'); j2=$("$RECUR" inspect sh-line.h5 --json | sed 's/.*"splits"//')
[ "$j1" = "$j2" ] || fail "inspect of shard set differs: $j1 vs $j2"
h5dump -a format one-line.h5 > dump.txt; grep -q '"recur-dataset"' dump.txt || fail "h5dump cannot read the format attribute"
echo "prepare round trips: ok"

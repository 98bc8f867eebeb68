# Memory is bounded by the vocabulary, not the corpus: prepare's peak RSS at char and word level on
# 200 MB is within 25% (+20 MiB) of its RSS on 20 MB, and at subword level on 10 MB of its RSS on
# 1 MB (the model trained on a sample of the same size); training on a 200 MB dataset takes no more
# memory than on 20 MB, undelimited (stream mode) and line-delimited (sequences mode: 5.5M
# sequences, whose offsets are read in blocks and shuffled in pools, and the default validation);
# and training's memory does not grow with its steps (oneDNN's primitives per shape).
source "$(dirname "$0")/../lib.sh"
MEASURE="python3 $(dirname "$0")/../bench/runmeasure.py"
F=$(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
cat $F > base.txt
make_corpus() { # make_corpus MB FILE: the fortunes repeated to MB megabytes, whole lines
  : > "$2"
  while [ "$(stat -c %s "$2")" -lt $(($1 * 1000000)) ]; do cat base.txt base.txt base.txt base.txt >> "$2"; done
}
rss_of() { sed -n 's/.*peak RSS \([0-9]*\) MiB.*/\1/p' "$1"; }
flat() { # flat NAME SMALL LARGE: LARGE <= 1.25 SMALL + 20
  python3 -c "import sys; s, l = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if l <= 1.25 * s + 20 else 1)" "$2" "$3" ||
    fail "$1: peak RSS grows with the corpus: $2 MiB small, $3 MiB large"
  echo "$1: peak RSS $2 MiB small, $3 MiB large"
}
make_corpus 1 c1.txt
make_corpus 10 c10.txt
make_corpus 20 c20.txt
make_corpus 200 c200.txt
for level in char word; do
  $MEASURE "$RECUR" prepare c20.txt -o $level-20.h5 --level $level --split-on line --val 0.01 --quiet 2> small.log
  $MEASURE "$RECUR" prepare c200.txt -o $level-200.h5 --level $level --split-on line --val 0.01 --quiet 2> large.log
  flat "prepare $level level 20 MB -> 200 MB" "$(rss_of small.log)" "$(rss_of large.log)"
done
for size in 1 10; do
  $MEASURE "$RECUR" prepare c$size.txt -o bpe-$size.h5 --level bpe --vocab-size 500 --spm-sample 20000 \
    --split-on line --val 0.01 --quiet 2> bpe-$size.log
done
flat "prepare subwords 1 MB -> 10 MB" "$(rss_of bpe-1.log)" "$(rss_of bpe-10.log)"
for size in 20 200; do
  "$RECUR" prepare c$size.txt -o stream-$size.h5 --split-on none --val 0.01 --quiet
  for d in stream char; do
    mode=stream
    [ $d = char ] && mode=sequences
    $MEASURE "$RECUR" train --data $d-$size.h5 --out run-$d-$size --layers 1 --hidden 64 --embed 32 --batch 16 \
      --mode $mode --seq-len 50 --steps 20 --eval-every 0 --quiet 2> train-$d-$size.log
  done
done
flat "train, undelimited, 20 MB -> 200 MB (20 steps, the final validation)" "$(rss_of train-stream-20.log)" \
  "$(rss_of train-stream-200.log)"
flat "train, by lines, 20 MB -> 200 MB ($("$RECUR" inspect char-200.h5 --json | python3 -c "import json, sys; print(json.load(sys.stdin)['splits']['train']['sequences'])") sequences)" \
  "$(rss_of train-char-20.log)" "$(rss_of train-char-200.log)"
# nor with the steps: oneDNN keeps a primitive per product shape, and sequences mode's batches hold
# every count of tokens; 400 steps take no more memory than 40
for steps in 40 400; do
  $MEASURE "$RECUR" train --data char-20.h5 --out run-shapes-$steps --layers 1 --hidden 256 --batch 32 \
    --mode sequences --max-len 100 --steps $steps --eval-every 0 --gemm onednn --quiet 2> shapes-$steps.log
done
flat "train with oneDNN, sequences, 40 -> 400 steps" "$(rss_of shapes-40.log)" "$(rss_of shapes-400.log)"
rm -f c1.txt c10.txt c20.txt c200.txt ./*.h5
echo "corpus_scale: ok"

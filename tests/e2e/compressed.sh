# Compressed inputs: gzip, xz and zstd files (and those streams on stdin) give the same dataset as
# the plain text, for a language model, a classifier and subwords, on 1 and 2 ranks; a cut or
# corrupted stream is an error naming the file and the compressed byte, and nothing is written.
source "$(dirname "$0")/../lib.sh"
for t in gzip xz zstd; do command -v $t > /dev/null || fail "$t is needed (launch/test installs it)"; done
MPIRUN="mpirun --oversubscribe"
python3 - <<'PY'
import random
r = random.Random(3)
w = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu naïve café".split()
for k in range(3):
    with open(f"part{k}.txt", "w") as f:
        for _ in range(1500):
            f.write(" ".join(r.choice(w) for _ in range(r.randint(1, 12))) + "\n")
with open("labels.txt", "w") as f:
    for _ in range(500):
        c = r.choice("ab")
        f.write(c + "\t" + c * r.randint(1, 4) + " " + " ".join(r.choice(w) for _ in range(4)) + "\n")
PY
cat part0.txt part1.txt part2.txt > all.txt
"$RECUR" prepare all.txt -o plain.h5 --split-on line --val 0.1 --quiet
"$RECUR" decode plain.h5 --split val > plain.val
for z in "gzip gz" "xz xz" "zstd zst"; do
  set -- $z
  $1 -k -q -f all.txt part0.txt part1.txt part2.txt labels.txt
  "$RECUR" prepare all.txt.$2 -o $2.h5 --split-on line --val 0.1 --quiet
  cmp <("$RECUR" decode $2.h5 --split val) plain.val || fail "$1: another dataset than the plain text's"
  cmp <("$RECUR" inspect $2.h5 --json | sed 's/.*"splits"//') <("$RECUR" inspect plain.h5 --json | sed 's/.*"splits"//') ||
    fail "$1: the splits differ"
  if [ -z "${RECUR_SANITIZED:-}" ] || [ $1 = gzip ]; then # (under the sanitizers: one compressor)
    "$RECUR" prepare - -o $2-stdin.h5 --split-on line --val 0.1 --quiet < all.txt.$2
    cmp <("$RECUR" decode $2-stdin.h5 --split val) plain.val || fail "$1 on stdin: another dataset"
    "$RECUR" prepare labels.txt.$2 -o cls-$2.h5 --task classify --val 0.1 --quiet
    [ -e cls-plain.h5 ] || "$RECUR" prepare labels.txt -o cls-plain.h5 --task classify --val 0.1 --quiet
    cmp <("$RECUR" decode cls-$2.h5) <("$RECUR" decode cls-plain.h5) || fail "$1: a classifier's lines differ"
  fi
  if [ $1 = zstd ]; then # whole compressed files to each of 2 ranks: the same dataset as one rank
    timeout 300 $MPIRUN -np 2 "$RECUR" prepare part0.txt.$2 part1.txt.$2 part2.txt.$2 -o $2-2r.h5 --split-on line \
      --val 0.1 --quiet
    cmp <("$RECUR" decode $2-2r.h5) <("$RECUR" decode plain.h5) || fail "$1: 2 ranks differ from the plain text"
  fi
  # cut short, and one byte flipped: named, with the compressed byte; no output left
  head -c 3000 all.txt.$2 > cut.$2
  expect_fail "$1 stream: unexpected end at compressed byte 3000 (cut.$2)" "$RECUR" prepare cut.$2 -o cut.h5
  python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[2000] ^= 0xff; open(sys.argv[2], 'wb').write(d)" \
    all.txt.$2 bad.$2
  expect_fail "$1 stream: " "$RECUR" prepare bad.$2 -o bad.h5
  [ -e cut.h5 ] || [ -e bad.h5 ] && fail "$1: a failed prepare left its output"
  echo "$1: the same dataset as the plain text (file, stdin, classify$([ $1 = zstd ] && echo ", 2 ranks")); damage named"
done
# subwords trained on a compressed input: the same model and ids
[ -n "${RECUR_SANITIZED:-}" ] && { echo "compressed: ok"; exit 0; }
"$RECUR" prepare all.txt -o spm-plain.h5 --level bpe --vocab-size 120 --split-on line --val 0 --quiet
"$RECUR" prepare all.txt.xz -o spm-xz.h5 --level bpe --vocab-size 120 --split-on line --val 0 --quiet
cmp <("$RECUR" decode spm-xz.h5) <("$RECUR" decode spm-plain.h5) || fail "subwords from xz differ"
echo "compressed: ok"

# Bad inputs to recur prepare and damaged datasets: each a clear one-line error naming the file
# (and object), a non-zero exit, and no output left behind.
source "$(dirname "$0")/../lib.sh"
mkdir out
expect_fail "cannot open input" "$RECUR" prepare missing.txt -o out/x.h5
no_leftovers out
: > empty.txt
expect_fail "input is empty" "$RECUR" prepare empty.txt -o out/x.h5
no_leftovers out
printf 'good text\nbad \xc3\x28 here\n' > bad.txt
expect_fail "invalid UTF-8 (bad.txt:byte 14)" "$RECUR" prepare bad.txt -o out/x.h5 --level char
grep -q "level byte" err.txt || fail "hint to use --level byte missing"
no_leftovers out
printf 'truncated \xe2\x82' > trunc.txt
expect_fail "invalid UTF-8" "$RECUR" prepare trunc.txt -o out/x.h5
no_leftovers out
printf 'some text\n' > ok.txt
expect_fail "--val must be in [0, 0.99], got 1.5" "$RECUR" prepare ok.txt -o out/x.h5 --val 1.5
expect_fail "--val + --test must be below 1" "$RECUR" prepare ok.txt -o out/x.h5 --val 0.6 --test 0.5
expect_fail "cannot create output file" "$RECUR" prepare ok.txt -o no/such/dir/x.h5
expect_fail "cannot create output file" "$RECUR" prepare ok.txt -o ok.txt/x.h5
expect_fail "unknown flag '--levle'" "$RECUR" prepare ok.txt -o out/x.h5 --levle char
expect_fail "--level must be one of byte|char|word" "$RECUR" prepare ok.txt -o out/x.h5 --level bytes
expect_fail "--split-on separator needs --separator" "$RECUR" prepare ok.txt -o out/x.h5 --split-on separator
no_leftovers out

# a disk that fills while the dataset is written: a clear error and no output (test hook: RLIMIT_FSIZE)
seq 1 200000 | sed 's/^/a longer line of text number /' > big.txt
expect_fail "is the disk full?" env RECUR_TEST_FSIZE_LIMIT=200000 "$RECUR" prepare big.txt -o out/big.h5 --split-on line
no_leftovers out

# damaged datasets
seq 1 3000 | sed 's/^/line /' > text.txt
"$RECUR" prepare text.txt -o good.h5 --split-on line --val 0.1 --quiet
"$RECUR" decode good.h5 > /dev/null
size=$(stat -c %s good.h5)
head -c $((size / 2)) good.h5 > truncated.h5
expect_fail "truncated.h5" "$RECUR" decode truncated.h5
cp good.h5 badtok.h5 && "$H5TOOL" set-token badtok.h5 train 100 250
expect_fail "token id 250 at index 100 >= vocabulary size" "$RECUR" decode badtok.h5
grep -qF "badtok.h5:/train/tokens" err.txt || fail "error does not name file and object"
cp good.h5 badfmt.h5 && "$H5TOOL" set-attr badfmt.h5 format not-recur
expect_fail "format is 'not-recur', expected 'recur-dataset' (badfmt.h5:/)" "$RECUR" inspect badfmt.h5
cp good.h5 badoff.h5 && "$H5TOOL" swap-offsets badoff.h5 train 5
expect_fail "offsets not monotonic at index 6" "$RECUR" inspect badoff.h5
grep -qF "badoff.h5:/train/offsets" err.txt || fail "error does not name the offsets object"
cp good.h5 notok.h5 && "$H5TOOL" delete notok.h5 /val/tokens
expect_fail "missing dataset (notok.h5:/val/tokens)" "$RECUR" inspect notok.h5
printf 'not hdf5 at all' > plain.h5
expect_fail "not an HDF5 file" "$RECUR" inspect plain.h5
# a shard set with a missing shard
"$RECUR" prepare text.txt -o sh.h5 --split-on line --shard-tokens 5000 --quiet
rm sh-shard-00001.h5
expect_fail "sh-shard-00001.h5" "$RECUR" inspect sh.h5
echo "prepare errors: ok"

# Training from the command line: a tiny model overfits a short text and greedy sampling then
# reproduces it; sampling is deterministic per seed; eval's JSON; bad flags and bad model files.
source "$(dirname "$0")/../lib.sh"
text='the quick brown fox jumps over the lazy dog; recurrent nets can copy this line.'
printf '%s' "$text" > tiny.txt
"$RECUR" prepare tiny.txt -o tiny.h5 --quiet
n=${#text}
"$RECUR" train --data tiny.h5 --out run --cell lstm --layers 1 --hidden 64 --embed 16 --batch 1 \
  --seq-len $((n - 1)) --steps 300 --lr 0.01 --log-every 50 --quiet
last=$(grep last_loss run/metrics.jsonl | tail -n 1)
python3 -c "import json,sys; l=json.loads(sys.argv[1])['last_loss']; print('final loss', l); sys.exit(0 if l < 0.05 else 1)" "$last" ||
  fail "did not overfit below 0.05 nats: $last"
out=$("$RECUR" sample run --prime t --temperature 0 --length $((n - 1)))
[ "$out" = "$text" ] || fail "greedy sample does not reproduce the text: '$out'"
# deterministic per seed
a=$("$RECUR" sample run/model.h5 --length 60 --seed 5 --temperature 1.5)
b=$("$RECUR" sample run/model.h5 --length 60 --seed 5 --temperature 1.5)
c=$("$RECUR" sample run/model.h5 --length 60 --seed 6 --temperature 1.5)
[ "$a" = "$b" ] || fail "same seed, different samples"
[ "$a" != "$c" ] || fail "different seeds, same sample"
"$RECUR" sample run --length 20 --top-k 1 --prime the > /dev/null
expect_fail "'Z' is not in the model's vocabulary" "$RECUR" sample run --prime "Zebra"
# eval json
seq 1 200 | sed 's/^/number /' > lines.txt
"$RECUR" prepare lines.txt -o lines.h5 --split-on line --val 0.2 --quiet
"$RECUR" train --data lines.h5 --out run2 --mode sequences --cell gru --layers 2 --hidden 32 --batch 8 --steps 30 --quiet \
  --optim adamw --weight-decay 0.01 --schedule cosine --warmup 5 --eval-every 10
"$RECUR" eval run2 --data lines.h5 --split val --json > ev.json
python3 - ev.json run2/metrics.jsonl <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
assert set(e) >= {"loss", "tokens", "bpc"}, e
rows = [json.loads(l) for l in open(sys.argv[2])]
vals = [r for r in rows if "val_loss" in r]
assert vals and abs(vals[-1]["val_loss"] - e["loss"]) < 1e-4, (vals[-1], e)
assert rows[0]["event"] == "start" and rows[0]["options"]["--cell"] == "gru", rows[0]
assert all(k in rows[1] for k in ("step", "epoch", "loss", "lr", "grad_norm", "tokens_per_s", "eta_s"))
print("eval json ok", e)
PY
test -f run2/model-best.h5 || fail "best model not kept"
"$RECUR" inspect run2 --json | grep -q '"cell":"gru"' || fail "inspect of a run directory"
# a non-finite gradient skips the step (counted, logged as null); too many in a row stop the run
RECUR_TEST_NAN_FROM=5 RECUR_TEST_NAN_TO=6 "$RECUR" train --data lines.h5 --out nan1 --mode sequences --hidden 16 --layers 1 --batch 8 --steps 12 --log-every 1 --quiet 2> nan1.err
grep -q "step 5: non-finite loss or gradient, step skipped" nan1.err || fail "no warning for a skipped step"
python3 - nan1/metrics.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"grad_norm"' in l]
assert [r["grad_norm"] is None for r in rows][4:6] == [True, True] and rows[-1]["skipped"] == 2, rows[4:7]
PY
expect_fail "3 steps in a row had a non-finite loss or gradient" env RECUR_TEST_NAN_FROM=4 "$RECUR" train --data lines.h5 --out nan2 --mode sequences --hidden 16 --layers 1 --batch 8 --steps 12 --max-bad-steps 3 --quiet
# bad flags
expect_fail "--cell must be one of" "$RECUR" train --data tiny.h5 --out r --cell lstmm
expect_fail "--hidden must be in [1, 65536], got -1" "$RECUR" train --data tiny.h5 --out r --hidden -1
expect_fail "--batch must be in [1, 1048576], got 0" "$RECUR" train --data tiny.h5 --out r --batch 0
expect_fail "--layers expects an integer, got 'two'" "$RECUR" train --data tiny.h5 --out r --layers two
expect_fail "unknown flag '--hiden'" "$RECUR" train --data tiny.h5 --out r --hiden 3
expect_fail "--data is required" "$RECUR" train --out r
expect_fail "too small for --batch" "$RECUR" train --data tiny.h5 --out r --batch 64 --seq-len 100
expect_fail "--bidirectional cannot be used with --task lm" "$RECUR" train --data tiny.h5 --out r --bidirectional
# bad model files
printf 'garbage' > junk.h5
expect_fail "not an HDF5 file" "$RECUR" sample junk.h5
expect_fail "format is 'recur-dataset', expected 'recur-model'" "$RECUR" sample tiny.h5
cp run/model.h5 cut.h5 && truncate -s 3000 cut.h5
expect_fail "cut.h5" "$RECUR" sample cut.h5
cp run/model.h5 nodec.h5 && "$H5TOOL" delete nodec.h5 decoder.weight
expect_fail "missing tensor (nodec.h5:/decoder.weight)" "$RECUR" sample nodec.h5
cp run/model.h5 badcell.h5 && "$H5TOOL" set-attr badcell.h5 cell transformer
expect_fail "attribute cell must be one of rnn_tanh|rnn_relu|lstm|gru, got 'transformer'" "$RECUR" eval badcell.h5 --data tiny.h5
expect_fail "no model.h5 found in directory" "$RECUR" sample .
expect_fail "vocabulary" "$RECUR" eval run --data lines.h5
# --eval-minutes (5 by default): validation by wall time, without --eval-every; 0 turns it off
seq 1 2000 | sed 's/^/a line numbered /' > evm.txt
"$RECUR" prepare evm.txt -o evm.h5 --split-on line --val 0.05 --quiet
RECUR_TEST_STEP_MS=40 "$RECUR" train --data evm.h5 --hidden 16 --steps 30 --eval-minutes 0.004 --out evm --quiet ||
  fail "a run with --eval-minutes failed"
n=$(grep -c '"val_loss"' evm/metrics.jsonl)
[ "$n" -ge 3 ] || fail "--eval-minutes 0.004 over ~1.2 s of steps validated $n time(s)"
RECUR_TEST_STEP_MS=40 "$RECUR" train --data evm.h5 --hidden 16 --steps 30 --eval-minutes 0 --out evm0 --quiet
[ "$(grep -c '"val_loss"' evm0/metrics.jsonl)" -eq 1 ] || fail "--eval-minutes 0 validated before the end"
echo "ok --eval-minutes: $n validations in ~1.2 s of steps; with 0, the final one only"
echo "train cli: ok"

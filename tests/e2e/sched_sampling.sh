# Scheduled sampling: with eps = 1 it is teacher forcing, bitwise; eps_i follows the schedule
# and is logged; with eps < 1 training runs and changes what the model sees.
source "$(dirname "$0")/../lib.sh"
seq 1 2000 | sed 's/^/sequence number /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --quiet
for mode in sequences stream; do
  args=(--data d.h5 --mode $mode --cell lstm --layers 2 --hidden 24 --embed 8 --batch 8 --seq-len 12 --steps 15 --log-every 1 --quiet)
  "$RECUR" train "${args[@]}" --out tf-$mode
  "$RECUR" train "${args[@]}" --out one-$mode --scheduled-sampling linear --ss-k 1 --ss-c 0
  "$H5TOOL" compare tf-$mode/model.h5 one-$mode/model.h5 0 || fail "$mode: eps = 1 is not teacher forcing"
  cmp <(grep -o '"last_loss":[^,]*' tf-$mode/metrics.jsonl) <(grep -o '"last_loss":[^,]*' one-$mode/metrics.jsonl) || fail "$mode: losses differ at eps = 1"
  "$RECUR" train "${args[@]}" --out ss-$mode --scheduled-sampling invsigmoid --ss-k 4
  python3 - ss-$mode/metrics.jsonl <<'PY'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "ss_eps" in l]
for r in rows:  # logged after step r["step"], i.e. i = step - 1
    want = 4 / (4 + math.exp((r["step"] - 1) / 4))
    assert abs(r["ss_eps"] - want) < 1e-6, (r["step"], r["ss_eps"], want)
print("inverse sigmoid eps follows k / (k + exp(i / k)):", [round(r["ss_eps"], 3) for r in rows][:6], "...")
PY
  ! "$H5TOOL" compare tf-$mode/model.h5 ss-$mode/model.h5 0 > /dev/null || fail "$mode: scheduled sampling changed nothing"
done
expect_fail "--scheduled-sampling needs --task lm, seq2seq or forecast" "$RECUR" train --data d.h5 --out x --scheduled-sampling exp --task classify
echo "scheduled sampling: ok"

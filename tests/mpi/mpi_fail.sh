# One rank fails (here through a test hook, as a rank that cannot read its data would): the whole
# job ends within seconds with that rank's message and a non-zero exit; no rank hangs.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
seq 1 3000 | sed 's/^/some line /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --quiet
start=$(date +%s)
expect_fail "[rank 1] recur: error: test hook: rank 1 fails at step 3" \
  timeout 60 $MPIRUN -np 2 -x RECUR_TEST_FAIL_RANK=1 -x RECUR_TEST_FAIL_STEP=3 "$RECUR" train --data d.h5 --out r --hidden 16 --layers 1 --batch 4 --seq-len 20 --steps 50 --quiet
took=$(( $(date +%s) - start ))
[ "$took" -lt 30 ] || fail "the job took ${took}s to end"
# a rank that finds a damaged token mid-run
ntok=$("$RECUR" inspect d.h5 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['splits']['train']['tokens'])")
# stream 1 (read by rank 1) starts at (ntok - 1) / 4
cp d.h5 bad.h5 && "$H5TOOL" set-token bad.h5 train $(( (ntok - 1) / 4 + 30 )) 200
expect_fail "[rank 1] recur: error: token id 200" timeout 60 $MPIRUN -np 2 "$RECUR" train --data bad.h5 --out r2 --hidden 16 --layers 1 --batch 4 --seq-len 20 --steps 50 --quiet
took=$(( $(date +%s) - start ))
[ "$took" -lt 60 ] || fail "the job took ${took}s to end"
# a non-finite gradient on one rank alone: every rank skips the same steps (the counters agree)
$MPIRUN -np 2 -x RECUR_TEST_NAN_RANK=1 -x RECUR_TEST_NAN_FROM=4 -x RECUR_TEST_NAN_TO=5 "$RECUR" train --data d.h5 \
  --out nan --hidden 16 --layers 1 --batch 4 --seq-len 20 --steps 8 --log-every 1 --quiet 2> nan.err ||
  fail "a NaN on one rank ended the run: $(cat nan.err)"
[ "$(grep -c 'non-finite loss or gradient, step skipped' nan.err)" -eq 2 ] || fail "skips not reported once each: $(cat nan.err)"
for r in 0 1; do
  h5dump -a bad_total nan/checkpoints/step-00000008/state-rank-0000$r.h5 > bad.txt
  grep -q "(0): 2" bad.txt || fail "rank $r counts $(grep '(0)' bad.txt) skipped steps, not 2"
done
python3 - nan/metrics.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"skipped"' in l]
assert [r["skipped"] for r in rows] == [0, 0, 0, 1, 2, 2, 2, 2], [r["skipped"] for r in rows]
print("a NaN on rank 1 alone: both ranks skipped steps 4 and 5")
PY
# a rank that stops answering (SIGSTOP: as a host whose network is cut) makes the others' waits
# time out after --comm-timeout seconds: the job ends with a message naming the wait, no hang
timeout 120 $MPIRUN -np 2 "$RECUR" train --data d.h5 --out stall --hidden 16 --layers 1 --batch 4 --seq-len 20 \
  --steps 1000000 --log-every 1 --comm-timeout 3 --quiet >stall.out 2>stall.err &
job=$!
for _ in $(seq 1 300); do grep -qs tokens_per_s stall/metrics.jsonl && break; sleep 0.1; done
grep -qs tokens_per_s stall/metrics.jsonl || fail "the stall run did not start: $(cat stall.err)"
pids=$(pgrep -f -- "--out stall --hidden" | grep -v "^$job\$" || true)
victim=$(for p in $pids; do [ "$(ps -o comm= -p "$p")" = recur ] && echo "$p"; done | tail -1)
[ -n "$victim" ] || fail "no rank process found"
t0=$(date +%s)
kill -STOP "$victim"
rc=0; wait $job || rc=$?
took=$(( $(date +%s) - t0 ))
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "the stalled job exited $rc"
grep -q "recur: error: waited 3 s for the other ranks (" stall.err || fail "no watchdog message: $(cat stall.err)"
[ "$took" -lt 20 ] || fail "the stalled job took ${took}s to end"
for _ in $(seq 1 50); do kill -0 "$victim" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$victim" 2>/dev/null || { kill -9 "$victim"; fail "the stopped rank was left behind"; }
echo "a rank stopped: the job ended after ${took}s: $(grep -m1 'waited' stall.err)"
echo "rank failure: ok"

# Kill soak: a 2-rank run with a checkpoint every 3 steps is killed with SIGKILL at 20 moments
# drawn from a seed (a random rank during a step, a rank in the middle of writing its checkpoint
# shard, or rank 0 between writing COMMIT and moving `latest`); after each kill the run resumes.
# The finished run's per-step losses and final parameters equal an uninterrupted run's bitwise.
# The seed is printed; RECUR_SOAK_SEED=S replays a failure. RECUR_SOAK_KILLS=N changes the number
# of kills. The kernel is named (--gemm openblas): two fresh runs under auto may time different ones.
source "$(dirname "$0")/../lib.sh"
# the survivor of a kill is ended at once (Open MPI sends SIGTERM, then SIGKILL after this many
# seconds; 1 by default): it could not finish its step without the dead rank anyway
MPIRUN="mpirun --oversubscribe --mca odls_base_sigkill_timeout 0"
seed=${RECUR_SOAK_SEED:-$(( $(date +%s) % 100000 ))}
KILLS=${RECUR_SOAK_KILLS:-20}
echo "kill soak: seed $seed (RECUR_SOAK_SEED=$seed replays it)"
python3 -c "
import random; r = random.Random(7)
open('text.txt', 'w').write(''.join(r.choice('abcdefgh ') for _ in range(400000)))"
"$RECUR" prepare text.txt -o d.h5 --val 0 --quiet
STEPS=600
# ~20 ms a step on 2 cores: a kill 0.02-0.4 s into training lands in a step or a checkpoint
args=(--data d.h5 --cell lstm --layers 2 --hidden 192 --embed 16 --batch 16 --seq-len 40 --steps $STEPS
      --ckpt-every 3 --log-every 1 --gemm openblas --quiet)
timeout 300 $MPIRUN -np 2 "$RECUR" train "${args[@]}" --out ref < /dev/null || fail "the uninterrupted run failed"
# the plan: KILLS (kind, rank, delay, checkpoints ahead) drawn from the seed
python3 - "$seed" "$KILLS" > plan.txt <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
for i in range(int(sys.argv[2])):
    kind = r.choice(["step", "step", "shard", "commit"])
    print(kind, 0 if kind == "commit" else r.randint(0, 1), f"{r.uniform(0.02, 0.4):.3f}", r.randint(1, 4))
PY
# the newest committed checkpoint (what --resume takes; `latest` may lag it by a kill at commit)
latest_step() { local best=0 d; for d in soak/checkpoints/step-*; do
  [ -f "$d/COMMIT" ] && best=$((10#${d##*step-})); done; echo $best; }
count_events() { if [ -f soak/metrics.jsonl ]; then grep -c '"event"' soak/metrics.jsonl || true; else echo 0; fi; }
kills=0
while read -r kind rank delay ahead; do
  from=$(latest_step)
  events=$(count_events)
  resume=(--out soak); [ "$from" -gt 0 ] && resume=(--resume soak)
  # no checkpoint committed yet (a kill before the first commit): the run starts afresh and
  # rewrites metrics.jsonl, so its start line is the first event line
  [ "$from" -gt 0 ] || events=0
  rm -f paused
  if [ "$kind" = step ]; then
    $MPIRUN -np 2 "$RECUR" train "${args[@]}" "${resume[@]}" < /dev/null > run.log 2>&1 &
  else # pause a save a few checkpoints ahead, then kill the paused rank there
    target=$(( (from / 3 + ahead) * 3 ))
    $MPIRUN -np 2 -x RECUR_TEST_PAUSE_SAVE_RANK=$rank -x RECUR_TEST_PAUSE_SAVE_STEP=$target \
      -x RECUR_TEST_PAUSE_SAVE_WHERE=$kind -x RECUR_TEST_PAUSE_FILE="$PWD/paused" \
      "$RECUR" train "${args[@]}" "${resume[@]}" < /dev/null > run.log 2>&1 &
  fi
  job=$!
  victim=""
  if [ "$kind" = step ]; then # training under way after the resume, then a random moment
    # this launch's start or resume line (one more event line than before), then a step after it
    for _ in $(seq 1 1500); do
      [ "$(count_events)" -gt "$events" ] &&
        tail -n 1 soak/metrics.jsonl | grep -q last_loss && break
      sleep 0.02
    done
    sleep "$delay"
    victim=$( (pgrep -f -- "--out soak|--resume soak" || true) | while read -r p; do
      [ "$(cat /proc/$p/comm 2>/dev/null)" = recur ] && echo "$p"; done | sed -n "$((rank + 1))p" || true)
  else
    for _ in $(seq 1 1500); do [ -s paused ] && break; sleep 0.02; done
    [ -s paused ] && victim=$(cut -d' ' -f1 paused)
  fi
  if [ -z "$victim" ] || ! kill -0 "$job" 2> /dev/null; then
    wait $job || true
    fail "kill $((kills + 1)) ($kind, rank $rank): the run was not there to kill ($(tail -3 run.log))"
  fi
  kill -9 "$victim"
  rc=0; timeout 60 tail --pid=$job -f /dev/null || fail "the job did not end after a rank was killed"
  wait $job || rc=$?
  [ "$rc" -ne 0 ] || fail "kill $((kills + 1)): mpirun exited 0 after a rank was killed"
  kills=$((kills + 1))
  echo "kill $kills: $kind, rank $rank, committed step $from -> $(latest_step)"
done < plan.txt
[ "$kills" -eq "$KILLS" ] || fail "only $kills kills"
# (every kill may have come before the first commit: slow sanitized steps, short delays; the run
# then starts afresh, as inside the loop)
resume=(--out soak); [ "$(latest_step)" -gt 0 ] && resume=(--resume soak)
timeout 300 $MPIRUN -np 2 "$RECUR" train "${args[@]}" "${resume[@]}" > run.log 2>&1 || fail "the last resume failed: $(tail -3 run.log)"
python3 - soak/metrics.jsonl ref/metrics.jsonl "$STEPS" <<'PY'
import sys
def losses(p):  # the text of each step's loss, as written (bitwise)
    d = {}
    for l in open(p):
        if '"last_loss"' in l:
            step = int(l.split('"step":')[1].split(",")[0])
            d[step] = l.split('"last_loss":')[1].split(",")[0]
    return d
a, b = losses(sys.argv[1]), losses(sys.argv[2])
n = int(sys.argv[3])
assert sorted(a) == sorted(b) == list(range(1, n + 1)), (len(a), len(b))
bad = [s for s in a if a[s] != b[s]]
assert not bad, f"steps whose loss differs from the uninterrupted run: {bad[:10]}"
print(f"all {n} step losses equal the uninterrupted run's bitwise")
PY
"$H5TOOL" compare soak/model.h5 ref/model.h5 0 || fail "the parameters differ from the uninterrupted run's"
echo "kill soak: $kills/$KILLS kills survived, seed $seed"

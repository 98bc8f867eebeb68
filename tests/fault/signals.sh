# Signals as they arrive in practice, each ending with a committed checkpoint of the step reached
# or the one before, within a bound (2 ranks, LSTM 2x256, --ckpt-every far away):
#   SIGTERM and SIGINT to mpirun (Open MPI: SIGTERM to the ranks 1 s later, SIGKILL 1 s after that);
#   srun-style (SIGTERM to every rank, SIGKILL after a grace period); SIGTERM to one rank only;
#   SIGUSR1 to mpirun (checkpoint now, training goes on), then SIGUSR2 (stop, exit 0);
#   Ctrl-C to launch/run-mpi, and kill -INT to it started with '&' by a script; --ckpt-minutes. Each stopped run resumes.
#   A burst of SIGUSR1 inside the products: no harm.
source "$(dirname "$0")/../lib.sh"
RUNMPI=$(cd "$(dirname "$0")/../../launch" && pwd)/run-mpi
# whatever happens, no job of this test outlives it: every process working in this directory
cleanup() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/cwd" 2>/dev/null)" = "$PWD" ] && [ "${p#/proc/}" != $$ ] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  return 0
}
trap cleanup EXIT
python3 -c "
import random
r = random.Random(5)
w = 'the of and to in is that it was for on are as with his they at be this from'.split()
print('\n'.join(' '.join(r.choice(w) for _ in range(r.randint(2, 14))) for _ in range(6000)))" > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --quiet
args=(--data d.h5 --cell lstm --layers 2 --hidden 256 --embed 64 --batch 32 --seq-len 100 --steps 100000
      --log-every 1 --ckpt-every 100000 --eval-every 100000)
BOUND=${RECUR_SIGNAL_BOUND:-10} # seconds from the signal to the end of the job

# wait_step RUN N: until RUN/metrics.jsonl has logged step N (60 s at most); prints the last step logged
last_step() { python3 -c "
import json, sys
s = [json.loads(l).get('step', 0) for l in open(sys.argv[1]) if '\"loss\"' in l]
print(s[-1] if s else 0)" "$1/metrics.jsonl" 2>/dev/null || echo 0; }
wait_step() {
  for _ in $(seq 600); do [ "$(last_step "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  fail "$1 did not reach step $2"
}
# check_stop RUN STEP_AT_SIGNAL: the newest checkpoint is committed and valid, at the step reached
# when the signal was sent or later (the ranks see it within a step of arriving), and resumes
check_stop() {
  local run=$1 at=$2 latest
  latest=$(cat "$run/checkpoints/latest" 2>/dev/null) || fail "$run: no checkpoint committed"
  "$RECUR" inspect "$run/checkpoints/$latest" --json > insp.json
  python3 -c "
import json, sys
c = json.load(open('insp.json'))['checkpoint']
at = int(sys.argv[1])
assert c['valid'], c
assert c['step'] >= at - 1, ('checkpoint older than the step reached', c['step'], at)
print('checkpoint step %d (signal sent at step %d)' % (c['step'], at))" "$at" || fail "$run: checkpoint"
  grep -q '"checkpoint_reason":"stop"' "$run/metrics.jsonl" || fail "$run: no stop checkpoint in metrics"
  cmp -s "$run/model.h5" "$run/checkpoints/$latest/model.h5" || fail "$run/model.h5 is not the checkpoint's model"
}
# run_bg RUN [mpirun flags]: start a training run in the background; sets PID
run_bg() {
  local run=$1; shift
  mpirun -np 2 "$@" "$RECUR" train "${args[@]}" --out "$run" > "$run.log" 2>&1 &
  PID=$!
}
# wait_end PID T0 NAME: the job ends within BOUND s of T0; sets RC
wait_end() {
  local pid=$1 t0=$2
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(date +%s%N)" -lt $((t0 + BOUND * 1000000000)) ] || { kill -KILL "$pid"; fail "$3: still running $BOUND s after the signal"; }
    sleep 0.05
  done
  RC=0; wait "$pid" || RC=$?
  echo "$3: ended $(( ($(date +%s%N) - t0) / 1000000 )) ms after the signal, exit $RC"
}
ranks_of() { pgrep -f -- "--out $1\$" | while read -r p; do [ "$(cat /proc/$p/comm)" = recur ] && echo "$p"; done; }

# 1, 2. SIGTERM and SIGINT to mpirun: mpirun itself exits 1 (it was signalled), the ranks save
for sig in TERM INT; do
  run=mpirun-$sig
  run_bg "$run"
  wait_step "$run" 5
  at=$(last_step "$run"); t0=$(date +%s%N)
  kill -$sig "$PID"
  wait_end "$PID" "$t0" "SIG$sig to mpirun"
  grep -q "recur: stopped by SIGTERM after step" "$run.log" || fail "$run: no stop line: $(tail -5 "$run.log")"
  [ "$(grep -c 'recur: stopped by' "$run.log")" -eq 1 ] || fail "$run: the stop line is printed more than once"
  check_stop "$run" "$at"
done

# 3. srun-style: SIGTERM to every rank, SIGKILL after a grace period; the job exits 0
run=srun-style
run_bg "$run"
wait_step "$run" 5
at=$(last_step "$run"); t0=$(date +%s%N)
pids=$(ranks_of "$run"); [ "$(echo "$pids" | wc -w)" -eq 2 ] || fail "expected 2 ranks, found: $pids"
kill -TERM $pids
( sleep "$BOUND"; kill -KILL $pids 2>/dev/null ) &
wait_end "$PID" "$t0" "SIGTERM to every rank"
[ "$RC" -eq 0 ] || fail "srun-style stop: exit $RC: $(tail -5 $run.log)"
check_stop "$run" "$at"

# 4. a direct kill of one rank: every rank stops after the same step
run=one-rank
run_bg "$run"
wait_step "$run" 5
at=$(last_step "$run"); t0=$(date +%s%N)
kill -TERM "$(ranks_of "$run" | tail -1)"
wait_end "$PID" "$t0" "SIGTERM to one rank"
[ "$RC" -eq 0 ] || fail "one-rank stop: exit $RC"
grep -q "stopped by a signal to another rank\|stopped by SIGTERM" "$run.log" || fail "one-rank stop line"
check_stop "$run" "$at"

# 5. SIGUSR1 to mpirun: a checkpoint now, training goes on; then SIGUSR2: stop, exit 0
run=usr
run_bg "$run"
wait_step "$run" 3
kill -USR1 "$PID"
for _ in $(seq 300); do grep -q '"checkpoint_reason":"request"' "$run/metrics.jsonl" && break; sleep 0.1; done
grep -q '"checkpoint_reason":"request"' "$run/metrics.jsonl" || fail "SIGUSR1 made no checkpoint"
req=$(python3 -c "
import json; print([json.loads(l)['step'] for l in open('$run/metrics.jsonl') if 'checkpoint_reason' in l][0])")
wait_step "$run" $((req + 3))
kill -0 "$PID" || fail "training did not go on after SIGUSR1"
at=$(last_step "$run"); t0=$(date +%s%N)
kill -USR2 "$PID"
wait_end "$PID" "$t0" "SIGUSR2 to mpirun"
[ "$RC" -eq 0 ] || fail "SIGUSR2 stop: mpirun exit $RC"
check_stop "$run" "$at"
[ -f "$run/checkpoints/step-$(printf %08d "$req")/COMMIT" ] || fail "the SIGUSR1 checkpoint is not committed"

# 6. Ctrl-C to launch/run-mpi (SIGINT to its process group, as a terminal sends it): exit 0
run=wrapper
# as a terminal starts it: its own process group, SIGINT not ignored (a shell's '&' would ignore it)
python3 -c "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.setsid(); os.execv(sys.argv[1], sys.argv[1:])" \
  "$RUNMPI" -np 2 "$RECUR" train "${args[@]}" --out "$run" > "$run.log" 2>&1 &
PID=$!
wait_step "$run" 5
at=$(last_step "$run"); t0=$(date +%s%N)
kill -INT -- -"$PID"
wait_end "$PID" "$t0" "Ctrl-C to launch/run-mpi"
[ "$RC" -eq 0 ] || fail "run-mpi: exit $RC: $(tail -5 $run.log)"
grep -q "recur: stopped by SIGUSR2" "$run.log" || fail "run-mpi did not stop the ranks with SIGUSR2"
check_stop "$run" "$at"

# 6b. launch/run-mpi started with '&' by a script (bash starts it with SIGINT ignored): kill -INT
run=scripted
"$RUNMPI" -np 2 "$RECUR" train "${args[@]}" --out "$run" > "$run.log" 2>&1 &
PID=$!
wait_step "$run" 5
at=$(last_step "$run"); t0=$(date +%s%N)
kill -INT "$PID"
wait_end "$PID" "$t0" "kill -INT to a scripted launch/run-mpi"
[ "$RC" -eq 0 ] || fail "scripted run-mpi: exit $RC: $(tail -5 $run.log)"
check_stop "$run" "$at"

# 7. the stopped runs resume where they stopped
"$RECUR" train --resume mpirun-TERM --steps $(( $(last_step mpirun-TERM) + 2 )) --quiet || fail "resume after SIGTERM"

# 8. --ckpt-minutes: checkpoints by wall time (every 0.6 s here)
mpirun -np 2 "$RECUR" train "${args[@]}" --steps 40 --ckpt-minutes 0.01 --out minutes --quiet
n=$(grep -c '"checkpoint_reason":"minutes"' minutes/metrics.jsonl || true)
[ "$n" -ge 2 ] || fail "--ckpt-minutes 0.01 made $n checkpoints in 40 steps"
# 9. signals that land inside the products (oneDNN's, of 512-row parts, in the backward): 15
# SIGUSR1 to each rank 0.13 s apart, each a checkpoint request; the run goes on to its last step.
# Handled on the interrupted stack, such signals corrupted the heap in 7 runs of 9 (cmd_train.c).
run=burst
mpirun -np 2 "$RECUR" train "${args[@]}" --steps 30 --gemm onednn --keep 100 --out "$run" > "$run.log" 2>&1 &
PID=$!
wait_step "$run" 3
for p in $(ranks_of "$run"); do ranks="${ranks:-} $p"; done
[ -n "${ranks:-}" ] || fail "no rank of $run found"
for _ in $(seq 15); do kill -USR1 $ranks 2>/dev/null || true; sleep 0.13; done
RC=0; wait "$PID" || RC=$?
[ "$RC" -eq 0 ] || fail "15 SIGUSR1 during the products: exit $RC: $(grep -v '^step' $run.log | tail -8)"
[ "$(last_step "$run")" -eq 30 ] || fail "the run signalled 15 times did not reach its step 30"
n=$(grep -c '"checkpoint_reason":"request"' "$run/metrics.jsonl" || true)
[ "$n" -ge 2 ] || fail "15 SIGUSR1 made $n checkpoints"
echo "ok 15 SIGUSR1 to each rank during the products: $n checkpoints, the run ended at step 30"
echo "signals: all passed"

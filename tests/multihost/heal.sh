# A run that heals itself without a scheduler: launch/run-mpi --max-restarts on three network-
# namespace hosts (hosts.sh). Two faults in one run: a rank killed (-9), then a host cut off the
# network. After each, run-mpi probes the hosts, restarts from the newest checkpoint (3 ranks
# after the kill, the 2 hosts left after the cut) and the run finishes by itself: its losses equal
# the uninterrupted run's bitwise up to the cut, and within 1e-2 after it (2 ranks). Printed: the
# seconds from each fault until the run is past that step again, and the steps redone. Also: a run that fails before
# its first checkpoint is not restarted, nor one a user stops. Skips (exit 77) without namespaces.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hosts.sh"
run_mpi=$(cd "$(dirname "$0")/../.." && pwd)/launch/run-mpi
if ! hosts_make 3 2>setup.err; then
  echo "SKIP: cannot create network namespaces here (needs root, iproute2 and unshare): $(head -c 300 setup.err)"
  exit 77
fi
: > hostfile
for h in "${hosts[@]}"; do echo "$(host_addr "$h") slots=1" >> hostfile; done
seq 1 4000 | sed 's/^/a line of text number /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --quiet
steps=300
# steps of 50 ms, asleep (a test hook): a run of ~20 s that leaves the CPUs to the other tests
net=(--mca btl tcp,self --mca plm_rsh_agent "$PWD/agent.sh" --mca oob_tcp_if_include 10.199.0.0/16
     --mca btl_tcp_if_include 10.199.0.0/16 --mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1
     --mca oob_tcp_keepalive_probes 3 --hostfile "$PWD/hostfile" -np 3 --map-by node
     -x OPENBLAS_NUM_THREADS=1 -x RECUR_TEST_STEP_MS=50)
train=("$RECUR" train --data "$PWD/d.h5" --cell gru --layers 2 --hidden 16 --embed 8 --batch 6 --seq-len 8
       --steps $steps --log-every 1 --ckpt-every 20 --comm-timeout 5 --quiet)
host_run "${hosts[0]}" "$run_mpi" "${net[@]}" "${train[@]}" --out "$PWD/ref" > ref.log 2>&1 ||
  fail "the uninterrupted run failed: $(tail -5 ref.log)"
last_step() { python3 -c "
import json
s=[json.loads(l)['step'] for l in open('$1/metrics.jsonl') if 'last_loss' in l]
print(s[-1] if s else 0)" 2>/dev/null || echo 0; }
wait_steps() { # RUN STEP SECONDS
  for _ in $(seq 1 $(($3 * 10))); do [ "$(last_step "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  fail "$1 did not reach step $2 in $3 s: $(tail -5 heal.log)"
}
# again_after T0 STEP K: seconds from T0 until the run, after its restart K, is past STEP again
# (the time a fault costs: detection, probe, restart and the steps redone)
again_after() {
  local t0=$1 at=$2
  for _ in $(seq 1 1200); do
    grep -q "restart $3 of" heal.log && [ "$(last_step heal)" -gt "$at" ] && break
    sleep 0.1
  done
  python3 -c "print(round($(date +%s.%N) - $t0, 1))"
}
host_run "${hosts[0]}" "$run_mpi" --max-restarts 3 --probe-timeout 5 "${net[@]}" "${train[@]}" --out "$PWD/heal" > heal.log 2>&1 &
job=$!
# fault 1: the rank on the third host killed
wait_steps heal 70 60
at1=$(last_step heal)
t0=$(date +%s.%N)
ip netns pids "${hosts[2]}" | xargs -r ps -o pid=,args= -p | awk '/recur train/ {print $1}' | xargs -r kill -9
took1=$(again_after "$t0" "$at1" 1)
grep -q "restart 1 of 3 from step-[0-9]*: 3 rank(s) on .*(3 slots)" heal.log || fail "no restart on the 3 hosts after a rank was killed: $(cat heal.log)"
from1=$(grep -o 'restart 1 of 3 from step-[0-9]*' heal.log | grep -o '[0-9]*$')
# fault 2: the third host cut off the network
wait_steps heal $((at1 + 80)) 60
at2=$(last_step heal)
t0=$(date +%s.%N)
host_cut "${hosts[2]}"
took2=$(again_after "$t0" "$at2" 2)
grep -q "restart 2 of 3 from step-[0-9]*: 2 rank(s) on .*(2 slots)" heal.log || fail "no restart on the 2 hosts left after a host was cut: $(cat heal.log)"
from2=$(grep -o 'restart 2 of 3 from step-[0-9]*' heal.log | grep -o '[0-9]*$')
rc=0
timeout 120 tail --pid=$job -f /dev/null || fail "the healed run did not finish"
wait $job || rc=$?
[ $rc -eq 0 ] || fail "the healed run exited $rc: $(tail -5 heal.log)"
[ "$(last_step heal)" -eq $steps ] || fail "the healed run ended at step $(last_step heal)"
python3 - heal/metrics.jsonl ref/metrics.jsonl $((10#$from2)) <<'PY'
import json, sys
def read(p):
    return {j["step"]: j["last_loss"] for j in map(json.loads, open(p)) if "last_loss" in j}
a, b, cut = read(sys.argv[1]), read(sys.argv[2]), int(sys.argv[3])
assert sorted(a) == sorted(b), "the healed run's steps differ"
same = [k for k in a if k <= cut and a[k] != b[k]]
assert not same, f"before the cut, losses differ from the uninterrupted run's at steps {same[:5]}"
worst = max(abs(a[k] - b[k]) / abs(b[k]) for k in a)
assert worst < 1e-2, f"after the cut (2 ranks), losses differ by {worst:.3g} relative"
print(f"final loss {a[max(a)]:.6f} (uninterrupted {b[max(b)]:.6f}); worst relative difference {worst:.2e}")
PY
echo "ok a rank killed at step $at1: back past it ${took1} s later on 3 hosts, $((at1 - 10#$from1)) steps redone"
echo "ok a host cut at step $at2: back past it ${took2} s later on the 2 hosts left, $((at2 - 10#$from2)) steps redone"
host_join "${hosts[2]}"

# no restart: a run that fails before its first checkpoint (a test hook at step 2), or one stopped
expect_fail "before its first checkpoint: not restarted" env RECUR_TEST_FAIL_RANK=1 RECUR_TEST_FAIL_STEP=2 \
  "$run_mpi" --max-restarts 3 -np 2 -x RECUR_TEST_FAIL_RANK -x RECUR_TEST_FAIL_STEP "${train[@]}" --out "$PWD/early"
expect_fail "--max-restarts restarts 'recur train'" "$run_mpi" --max-restarts 2 -np 2 "$RECUR" eval --data d.h5 --model ref/model.h5
"$run_mpi" --max-restarts 3 -np 2 -x RECUR_TEST_STEP_MS=50 "${train[@]}" --out "$PWD/stopped" > stopped.log 2>&1 &
job=$!
wait_steps stopped 30 60
kill -INT $job
rc=0
wait $job || rc=$?
[ $rc -eq 0 ] || fail "a stopped run exited $rc: $(tail -3 stopped.log)"
grep -q "restart" stopped.log && fail "a run stopped by the user was restarted: $(cat stopped.log)"
[ "$(last_step stopped)" -lt $steps ] || fail "the stopped run did not stop"
echo "ok a run that fails before its first checkpoint, and one a user stops, are not restarted"
echo "heal: ok"

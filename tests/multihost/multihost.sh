# Several hosts for real: three network namespaces on this machine (veth pairs on a bridge,
# addresses only inside the namespaces, their own host names), Open MPI across them over TCP
# alone with an rsh agent that enters a namespace instead of ssh-ing. Training for 20 steps
# matches the single-host run, and matches itself bitwise when one host's link is slowed and
# drops packets; every process of one host is killed mid-run and the job ends with an error
# instead of hanging; one host is cut off the network mid-run and every process on every host
# exits within a bound, and the last checkpoint resumes on the two hosts left. Skips (exit 77)
# where namespaces cannot be made.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
source "$(dirname "$0")/../hosts.sh"
if ! hosts_make 3 2>setup.err; then
  echo "SKIP: cannot create network namespaces here (needs root, iproute2 and unshare): $(head -c 300 setup.err 2>/dev/null)"
  exit 77
fi
addr() { host_addr "$1"; }
: > hostfile
for h in "${hosts[@]}"; do echo "$(addr "$h") slots=1" >> hostfile; done
cat hostfile
seq 1 4000 | sed 's/^/a line of text number /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --quiet
args=(train --data "$PWD/d.h5" --cell gru --layers 2 --hidden 32 --embed 8 --batch 6 --seq-len 16 --steps 20 --log-every 1 --quiet)
net=(--mca btl tcp,self --mca plm_rsh_agent "$PWD/agent.sh" --mca oob_tcp_if_include 10.199.0.0/16 --mca btl_tcp_if_include 10.199.0.0/16
     --hostfile "$PWD/hostfile" -np 3 --map-by node -x OPENBLAS_NUM_THREADS=1)
# mpirun itself runs on the first host
timeout 300 ip netns exec "${hosts[0]}" unshare --uts sh -c "hostname ${hosts[0]}; exec $MPIRUN ${net[*]} $RECUR ${args[*]} --out $PWD/multi" ||
  fail "training across 3 hosts failed"
timeout 300 $MPIRUN -np 3 "$RECUR" "${args[@]}" --out single
python3 - multi/metrics.jsonl single/metrics.jsonl <<'PY'
import json, sys
a = [json.loads(l)["last_loss"] for l in open(sys.argv[1]) if "last_loss" in l]
b = [json.loads(l)["last_loss"] for l in open(sys.argv[2]) if "last_loss" in l]
assert len(a) == len(b) == 20, (len(a), len(b))
w = max(abs(x - y) / abs(y) for x, y in zip(a, b))
print(f"3 hosts vs 1 host: worst relative loss difference {w:.2e}")
assert w < 1e-5
PY
"$H5TOOL" compare multi/model.h5 single/model.h5 1e-5 || fail "3 hosts and 1 host trained different parameters"
# a slow, lossy link: the third host's traffic both ways through a token bucket of 4 Mbit/s that
# drops what waits longer than 20 ms (this kernel has no netem; tbf gives real queueing delay and
# real drops, which TCP retransmits). The run finishes and equals the fault-free run bitwise.
tc qdisc add dev "v${hosts[2]}" root tbf rate 4mbit burst 8kb latency 20ms || fail "tc tbf unavailable"
ip netns exec "${hosts[2]}" tc qdisc add dev eth0 root tbf rate 4mbit burst 8kb latency 20ms
t0=$(date +%s.%N)
timeout 300 ip netns exec "${hosts[0]}" unshare --uts sh -c "hostname ${hosts[0]}; exec $MPIRUN ${net[*]} $RECUR ${args[*]} --out $PWD/lossy" ||
  fail "training across 3 hosts over a lossy link failed"
t1=$(date +%s.%N)
drops=$(( $(tc -s qdisc show dev "v${hosts[2]}" | grep -o 'dropped [0-9]*' | awk '{print $2}') +
          $(ip netns exec "${hosts[2]}" tc -s qdisc show dev eth0 | grep -o 'dropped [0-9]*' | awk '{print $2}') ))
tc qdisc del dev "v${hosts[2]}" root
ip netns exec "${hosts[2]}" tc qdisc del dev eth0 root
[ "$drops" -gt 0 ] || fail "the shaped link dropped no packets: not a lossy link"
"$H5TOOL" compare lossy/model.h5 multi/model.h5 0 || fail "a lossy link changed the trained parameters"
grep -o '"last_loss":[^,]*' lossy/metrics.jsonl > l1.txt
grep -o '"last_loss":[^,]*' multi/metrics.jsonl > l2.txt
cmp -s l1.txt l2.txt || fail "a lossy link changed the losses"
echo "lossy link: $drops packets dropped, 20 steps in $(python3 -c "print(round($t1 - $t0, 1))") s, losses and parameters bitwise equal"
# kill every process of the third host in the middle of a long run: the job must end, with an error
ip netns exec "${hosts[0]}" unshare --uts sh -c "hostname ${hosts[0]}; exec $MPIRUN ${net[*]} $RECUR ${args[*]} --steps 100000 --out $PWD/long" > long.log 2>&1 &
job=$!
for _ in $(seq 1 300); do grep -qs tokens_per_s long/metrics.jsonl && break; sleep 0.1; done # training under way
grep -qs tokens_per_s long/metrics.jsonl || fail "the long run did not start"
start=$(date +%s)
ip netns pids "${hosts[2]}" | xargs -r kill -9
for _ in $(seq 1 600); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
if kill -0 $job 2>/dev/null; then fail "the job hangs after a host died"; fi
rc=0; wait $job || rc=$?
[ $rc -ne 0 ] || fail "the job exited 0 after losing a host"
echo "a host died: the job ended with exit $rc after $(( $(date +%s) - start ))s"
# cut the third host off the network mid-run. Its processes live on, so nothing fails: a blocked
# collective would wait forever. recur's watchdog (--comm-timeout) ends every rank whose wait
# outlasts it, on both sides of the cut; mpirun's daemons notice the lost host by TCP keepalive
# (tuned here as launch/run-mpi does) and end. Bound: every process on every host gone in 60 s.
cut_args=(--steps 100000 --ckpt-every 10 --comm-timeout 5)
ka=(--mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3)
ip netns exec "${hosts[0]}" unshare --uts sh -c "hostname ${hosts[0]}; exec $MPIRUN ${ka[*]} ${net[*]} $RECUR ${args[*]} ${cut_args[*]} --out $PWD/cut" > cut.log 2>&1 &
job=$!
for _ in $(seq 1 300); do [ -s cut/checkpoints/latest ] && break; sleep 0.1; done
[ -s cut/checkpoints/latest ] || fail "the cut run committed no checkpoint: $(tail -5 cut.log)"
start=$(date +%s.%N)
host_cut "${hosts[2]}"
for _ in $(seq 1 600); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
kill -0 $job 2>/dev/null && fail "mpirun still runs 60 s after a host was cut off"
rc=0; wait $job || rc=$?
took=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
[ $rc -ne 0 ] || fail "the job exited 0 after losing a host"
left=$(hosts_left_cut 5 "${hosts[2]}")
[ -z "$left" ] || fail "processes left behind after the cut: $left"
grep -q "recur: error: waited 5 s for the other ranks" cut.log || fail "no rank reported the stalled wait: $(cat cut.log)"
echo "a host was cut off: every process on the 3 hosts ended, mpirun exit $rc, ${took}s after the cut"
# the last committed checkpoint goes on with the two hosts left
ckpt=$(cat cut/checkpoints/latest)
head -2 hostfile > hostfile2
net2=()
for a in "${net[@]}"; do
  case $a in "$PWD/hostfile") net2+=("$PWD/hostfile2") ;; 3) net2+=(2) ;; *) net2+=("$a") ;; esac
done
timeout 300 ip netns exec "${hosts[0]}" unshare --uts sh -c "hostname ${hosts[0]}; exec $MPIRUN ${net2[*]} $RECUR train --resume $PWD/cut --steps $(( 10#${ckpt#step-} + 6 )) --log-every 1 --quiet" > resume.log 2>&1 ||
  fail "resuming on the two hosts left failed: $(tail -5 resume.log)"
first=$(python3 -c "
import json
rows=[json.loads(l) for l in open('cut/metrics.jsonl') if 'last_loss' in l]
print(rows[-1]['step'])")
[ "$first" -eq $(( 10#${ckpt#step-} + 6 )) ] || fail "the resumed run ended at step $first"
echo "resumed $ckpt on 2 hosts: reached step $first"
# every command's waits are bounded, not only training's: prepare and eval with the third host's
# rank held 5 s before its first collective (a test hook), the others waiting in it.
# - without a fault they finish (--comm-timeout 8, longer than the hold);
# - the held rank stopped (SIGSTOP: a hung process, which mpirun cannot see): the watchdog ends
#   the ranks waiting (--comm-timeout 3), naming the wait, and the job ends;
# - the third host cut off during the hold: mpirun's keepalive (5 s here) notices the host and
#   ends the job before the watchdog (--comm-timeout 30; a watchdog shorter than the keepalive
#   makes mpirun abort through a connection with data in flight, which TCP retransmits for many
#   minutes: launch/run-mpi's keepalive, 50 s, is far below the default --comm-timeout, 1800 s).
# Each time every process on every host is gone within 30 s.
host_join "${hosts[2]}"
hold=(-x RECUR_TEST_HOLD_RANK=2 -x RECUR_TEST_HOLD_MS=5000)
held_pid() { ip netns pids "${hosts[2]}" | xargs -r ps -o pid=,args= -p | awk '/recur (prepare|eval)/ {print $1}'; }
for cmd in "prepare $PWD/text.txt -o $PWD/d2.h5 --split-on line --quiet" "eval $PWD/multi --data $PWD/d.h5"; do
  name=${cmd%% *}
  launch() { timeout 120 ip netns exec "${hosts[0]}" unshare --uts sh -c "hostname ${hosts[0]}; exec $MPIRUN ${ka[*]} ${net[*]} ${hold[*]} $RECUR $cmd $*"; }
  launch --comm-timeout 8 > "$name.log" 2>&1 ||
    fail "$name across 3 hosts with a rank held 5 s failed: $(tail -5 "$name.log")"
  for fault in stop cut; do
    t=3; [ $fault = cut ] && t=30
    launch --comm-timeout $t > "$name-$fault.log" 2>&1 &
    job=$!
    for _ in $(seq 1 30); do [ -n "$(held_pid)" ] && break; sleep 0.1; done
    sleep 1
    start=$(date +%s.%N)
    if [ $fault = stop ]; then kill -STOP $(held_pid) || fail "$name: no rank on the third host to stop"; else host_cut "${hosts[2]}"; fi
    for _ in $(seq 1 300); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
    kill -0 $job 2>/dev/null && fail "$name: mpirun still runs 30 s after a rank was stopped or its host cut ($fault)"
    rc=0; wait $job || rc=$?
    [ $rc -ne 0 ] || fail "$name exited 0 after a $fault"
    if [ $fault = stop ]; then
      grep -q "recur: error: waited 3 s for the other ranks" "$name-$fault.log" || fail "$name: no rank reported the stalled wait: $(cat "$name-$fault.log")"
    fi
    if [ $fault = cut ]; then left=$(hosts_left_cut 10 "${hosts[2]}"); else left=$(hosts_left 10); fi
    [ -z "$left" ] || fail "$name: processes left behind after a $fault: $left"
    echo "$name, the third host's rank $( [ $fault = stop ] && echo stopped || echo cut off): every process ended $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s later, exit $rc $(grep -m1 -o 'for the other ranks ([^)]*)' "$name-$fault.log" | sed 's/for the other ranks //' || true)"
    [ $fault = stop ] || host_join "${hosts[2]}"
  done
done
echo "multihost: ok"

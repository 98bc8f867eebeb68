#!/usr/bin/env bash
# The simulator against a real network of known rate: three network-namespace hosts on this
# machine (tests/hosts.sh), each host's link shaped by `tc tbf` to RATE Mbit/s, one rank each over
# Open MPI's TCP transport; the same run simulated (launch/simulate) on a platform of three nodes
# whose links have that rate and the latency measured between the hosts (a TCP ping-pong). The
# model's gradients are megabytes and its computation small, so the step is mostly the sums: the
# comparison is of the network model, not of this machine's cores (three real ranks share two).
#   tests/bench/bench_sim_tc.sh [RATE_MBIT...]     (default 100 400 1000; needs root)
# Prints, per rate: the real and simulated seconds a step (steps 5..N), the share of it rank 0
# spent waiting for the gradient sums, and the step's error. (The wait shares differ by where the
# waiting happens, not by how long the step is: at 3 ranks Open MPI sums binomially, rank 0 sending
# the result last; over TCP its sends complete once the kernel holds them and it waits for the
# others in the next collective, the step's statistics, where SMPI's large sends complete when
# received.) Writes under build/bench-sim-tc (removed first).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(100 400 1000)
source "$top/tests/lib.sh" "$top/build/recur" "$top/build/tests/h5tool" "$top/build/bench-sim-tc"
source "$top/tests/hosts.sh"
hosts_make 3 || { echo "bench_sim_tc: needs root, iproute2 and network namespaces" >&2; exit 1; }
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; kernel: --gemm auto (the default)"
: > hostfile
for h in "${hosts[@]}"; do echo "$(host_addr "$h") slots=1" >> hostfile; done
seq 1 4000 | sed 's/^/a line of text number /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0 --quiet
# the one-way latency between two hosts: half a TCP round trip of one byte (median of 2,000)
a=$(host_addr "${hosts[0]}")
host_run "${hosts[0]}" python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('$a', 7777)); s.listen(1)
c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while (b := c.recv(1)): c.sendall(b)
" &
sleep 1
lat_us=$(host_run "${hosts[1]}" python3 -c "
import socket, time, statistics
c = socket.create_connection(('$a', 7777)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t = []
for _ in range(2000):
    t0 = time.perf_counter(); c.sendall(b'x'); c.recv(1); t.append(time.perf_counter() - t0)
print(round(statistics.median(t) / 2 * 1e6, 1))
")
wait
echo "one-way latency between hosts: $lat_us us"
net=(--mca btl tcp,self --mca plm_rsh_agent "$PWD/agent.sh" --mca oob_tcp_if_include "$hosts_net.0.0/16"
     --mca btl_tcp_if_include "$hosts_net.0.0/16" --hostfile "$PWD/hostfile" -np 3 --map-by node
     -x OPENBLAS_NUM_THREADS=1)
steps=16
args=(train --data "$PWD/d.h5" --cell gru --layers 1 --hidden 384 --embed 16 --batch 6 --seq-len 8
      --steps $steps --log-every 1 --quiet --eval-minutes 0)
step_stats() { # RUN: seconds a step and the share waiting for the sums (steps 5..N)
  python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if "last_loss" in l]
a, b = rows[4], rows[-1]
n = b["step"] - a["step"]
dt = (b["elapsed_s"] - a["elapsed_s"]) / n
print(f"{dt:.4f} {sum(r['comm_wait_s'] for r in rows[5:]) / n / dt:.3f} {b['reduce_bytes']}")
PY
}
printf '%9s %12s %10s %12s %10s %8s\n' "Mbit/s" "real s/step" "real wait" "sim s/step" "sim wait" error
for rate in "${rates[@]}"; do
  for h in "${hosts[@]}"; do
    ip netns exec "$h" tc qdisc replace dev eth0 root tbf rate "${rate}mbit" burst 256kb latency 100ms
  done
  host_run "${hosts[0]}" mpirun "${net[@]}" "$RECUR" "${args[@]}" --out "$PWD/real$rate" > "real$rate.log" 2>&1 ||
    { echo "the real run at $rate Mbit/s failed: $(tail -5 "real$rate.log")"; exit 1; }
  # three nodes, each with a full-duplex link of the shaped rate; node to node = 2 links
  python3 - "$rate" "$lat_us" > "tc$rate.xml" <<'PY'
import sys
rate, lat = float(sys.argv[1]), float(sys.argv[2])
print(f"""<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="world" routing="Full">
    <cluster id="tc" prefix="node-" suffix="" radical="0-2" speed="1Gf" core="1"
             bw="{rate / 8:.3f}MBps" lat="{lat / 2:.2f}us" sharing_policy="SPLITDUPLEX"
             bb_bw="100GBps" bb_lat="0us" bb_sharing_policy="FATPIPE"/>
  </zone>
</platform>""")
PY
  "$top/launch/simulate" -np 3 --platform "tc$rate.xml" "${args[@]}" --out "sim$rate" > "sim$rate.log" 2>&1 ||
    { echo "the simulation at $rate Mbit/s failed: $(tail -5 "sim$rate.log")"; exit 1; }
  read -r rs rw bytes <<< "$(step_stats "real$rate")"
  read -r ss sw _ <<< "$(step_stats "sim$rate")"
  python3 -c "print(f'{$rate:>9} {$rs:>12.3f} {$rw:>10.1%} {$ss:>12.3f} {$sw:>10.1%} {($ss - $rs) / $rs:>+8.1%}')"
done
echo "(gradient bytes summed a step: $bytes; 3 ranks: Open MPI's binomial sum, rank 0's link carries them 4 times)"

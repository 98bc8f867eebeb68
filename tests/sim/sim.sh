# recur's real code on a simulated cluster (SimGrid's SMPI through launch/simulate, recur built
# with -DRECUR_SMPI=ON in build/sim). The simulated ranks train what real ranks train: 2 simulated
# ranks equal `mpirun -np 2` bitwise (losses and parameters), 8 equal 8 real ranks within float
# summation (Open MPI's allreduce algorithms, as SMPI runs them, may add in another order). A
# simulated run's checkpoint is resumed by the real build and ends bitwise where a real run does
# (the files are the same). The network shows in recur's own clock: on a slow network the step
# time grows by more than twice the gradients' bytes over the link (Open MPI sums 2 ranks binomially). 64 simulated ranks on
# the fat tree train in bounded time and memory. Sampled computation (one rank's step measured,
# then charged by every rank) gives the computed simulation's time within 25% here, and so does
# --shared (the sampled ranks' large buffers one for all).
source "$(dirname "$0")/../lib.sh"
SIM=$(dirname "$RECUR")/sim/recur
SIMULATE=$(cd "$(dirname "$0")/../../launch" && pwd)/simulate
[ -x "$SIM" ] || fail "no SMPI build at $SIM (the main build makes it when smpicc is installed)"
export RECUR_SIM=$SIM
seq 1 3000 | sed 's/^/the line of text number /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --quiet
args=(train --data d.h5 --cell gru --hidden 32 --embed 8 --batch 16 --seq-len 16 --log-every 1 --quiet)
losses() { grep -o '"last_loss":[^,]*' "$1/metrics.jsonl" | cut -d: -f2; }
"$SIMULATE" -np 2 "${args[@]}" --steps 20 --out s2 > s2.log 2>&1 || fail "2 simulated ranks failed: $(tail -5 s2.log)"
mpirun -np 2 "$RECUR" "${args[@]}" --steps 20 --out m2 || fail "2 real ranks failed"
[ "$(losses s2)" = "$(losses m2)" ] || fail "2 simulated ranks' losses differ from 2 real ranks'"
"$H5TOOL" compare s2/model.h5 m2/model.h5 0 || fail "2 simulated ranks trained other parameters than 2 real ranks"
echo "ok 2 simulated ranks = mpirun -np 2, bitwise"
"$SIMULATE" -np 8 --platform ib-fattree "${args[@]}" --steps 20 --out s8 > s8.log 2>&1 || fail "8 simulated ranks failed: $(tail -5 s8.log)"
mpirun --oversubscribe -np 8 "$RECUR" "${args[@]}" --steps 20 --out m8 || fail "8 real ranks failed"
python3 - <<'PY' || fail "8 simulated ranks are not within float summation of 8 real ranks"
import json
a = [json.loads(l)["last_loss"] for l in open("s8/metrics.jsonl") if "last_loss" in l]
b = [json.loads(l)["last_loss"] for l in open("m8/metrics.jsonl") if "last_loss" in l]
assert len(a) == len(b) == 20
w = max(abs(x - y) / abs(y) for x, y in zip(a, b))
print(f"ok 8 simulated ranks (fat tree) vs mpirun --oversubscribe -np 8: worst relative loss difference {w:.1e}")
assert w < 1e-5
PY
"$H5TOOL" compare s8/model.h5 m8/model.h5 1e-5 || fail "8 simulated ranks' parameters are not within 1e-5 of 8 real ranks'"
# the simulated sums are Open MPI 4.1's own schedules (libnbc's MPI_Iallreduce: Rabenseifner's for
# buckets of 64 KiB and more at 4 ranks or more, binomial below, a ring when asked): 6 ranks (not
# a power of two: two ranks folded into their neighbours) of a model whose buckets are 200 KB
# train bitwise what 6 real ranks train, with libnbc's default choice and with the ring chosen
# by the MCA variable both read, and with the sums in bf16; the two algorithms add in other orders
# (their results differ)
wide=(train --data d.h5 --cell gru --hidden 128 --embed 8 --batch 24 --seq-len 16 --steps 6 --quiet)
for alg in 0 1 bf16; do
  export OMPI_MCA_coll_libnbc_iallreduce_algorithm=${alg/bf16/0}
  more=()
  [ "$alg" = bf16 ] && more=(--grad-sum bf16) # bf16 sums: a user-defined MPI_Op, Rabenseifner's
  "$SIMULATE" -np 6 "${wide[@]}" ${more[@]+"${more[@]}"} --out w6s$alg > w6s$alg.log 2>&1 || fail "6 simulated ranks failed: $(tail -5 w6s$alg.log)"
  mpirun --oversubscribe -np 6 "$RECUR" "${wide[@]}" ${more[@]+"${more[@]}"} --out w6m$alg || fail "6 real ranks failed"
  "$H5TOOL" compare w6s$alg/model.h5 w6m$alg/model.h5 0 || fail "6 simulated ranks (libnbc algorithm $alg) differ from 6 real ranks"
done
unset OMPI_MCA_coll_libnbc_iallreduce_algorithm
! "$H5TOOL" compare w6s0/model.h5 w6s1/model.h5 0 > /dev/null || fail "the ring and Rabenseifner's sums gave the same bits: was the algorithm chosen?"
echo "ok 6 simulated ranks = 6 real ranks bitwise, with Open MPI's Rabenseifner sums, with its ring, with bf16 sums"
# the simulated run's last checkpoint (step 20) goes on in the real build: = a real 30-step run
mpirun -np 2 "$RECUR" train --resume s2 --steps 30 --quiet || fail "the real build cannot resume a simulated run"
mpirun -np 2 "$RECUR" "${args[@]}" --steps 30 --out m30 || fail "a real 30-step run failed"
[ "$(losses s2)" = "$(losses m30)" ] || fail "a simulated run resumed for real differs from a real run"
"$H5TOOL" compare s2/model.h5 m30/model.h5 0 || fail "a simulated run resumed for real: other parameters"
echo "ok a simulated run's checkpoint resumes in the real build, bitwise equal to a real run"
# a network 100 times slower than 10 GbE (12.5 MB/s, 1 ms per link): recur's own clock shows it.
# Each step the 2 ranks sum their gradients (n floats) and their statistics. At 2 ranks Open MPI's
# libnbc sums binomially (rank 1's gradients to rank 0, the sum back): the step grows by at least
# twice the gradients' bytes over the link, and rank 0 (whose metrics these are) waits for the
# sums at least once their bytes over the link (the way back it pays in the next collective). (It
# grows by more: SMPI's TCP model charges a medium message several latencies and a share of the
# bandwidth, as its calibration on real clusters found.)
sed 's/bw="1.25GBps" lat="25us"/bw="12.5MBps" lat="1ms"/' "$(dirname "$SIMULATE")/platforms/10gbe.xml" > slow.xml
"$SIMULATE" -np 2 --platform slow.xml "${args[@]}" --steps 20 --out slow > slow.log 2>&1 || fail "the slow network failed: $(tail -5 slow.log)"
"$SIMULATE" -np 2 --platform 10gbe "${args[@]}" --steps 20 --out fast > fast.log 2>&1 || fail "10 GbE failed"
python3 - <<'PY' || fail "the simulated network does not show in recur's step times"
import json
def run(d):
    rows = [json.loads(l) for l in open(d + "/metrics.jsonl")]
    steps = [r for r in rows if "last_loss" in r]
    first, last = steps[4], steps[-1]  # steps 5..20: past the first ones' start-up
    n = last["step"] - first["step"]
    return ((last["elapsed_s"] - first["elapsed_s"]) / n, sum(r["comm_wait_s"] for r in steps[5:]) / n,
            steps[-1]["reduce_bytes"])
fast, slow = run("fast"), run("slow")
grow, wait = slow[0] - fast[0], slow[1] - fast[1]
floor = slow[2] / 12.5e6
print(f"ok simulated step: 10 GbE {fast[0]*1e3:.2f} ms, slow network {slow[0]*1e3:.2f} ms "
      f"(+{grow*1e3:.2f} ms, of which the wait for the sums +{wait*1e3:.2f} ms; {slow[2]} bytes a "
      f"step over 12.5 MB/s: {floor*1e3:.2f} ms)")
assert grow > 2 * floor and wait > floor, (grow, wait, floor)
PY
# sampled computation (--sample): one rank's forward and backward measured for 4 steps, then 8
# simulated ranks charge that timeline instead of computing. The simulated time of 12 steps is
# the fully computed simulation's within 25% (both charge compute measured on this machine while
# other tests run, so a pair is measured up to three times: a test beside it can slow one of the
# two; docs/simulation.md has the figure on a quiet one), and the sampled ranks compute no loss.
"$RECUR" prepare text.txt -o dn.h5 --split-on line --val 0 --quiet
big=(train --data dn.h5 --cell lstm --hidden 128 --embed 16 --batch 64 --seq-len 32 --steps 12 --log-every 1 --quiet)
for try in 1 2 3; do
  "$SIMULATE" -np 8 "${big[@]}" --out full8 > full8.log 2>&1 || fail "8 computed ranks failed: $(tail -5 full8.log)"
  "$SIMULATE" -np 8 --sample 4 "${big[@]}" --out samp8 > samp8.log 2>&1 || fail "8 sampled ranks failed: $(tail -5 samp8.log)"
  python3 - "$try" <<'PY' && break
import json, sys
def last(d):
    return [json.loads(l) for l in open(d + "/metrics.jsonl") if "last_loss" in l][-1]
f, s = last("full8"), last("samp8")
assert s["last_loss"] == 0 and f["last_loss"] > 0, "the sampled ranks computed a loss, or the computed ones none"
e = abs(s["elapsed_s"] - f["elapsed_s"]) / f["elapsed_s"]
ok = e < 0.25
print(f"{'ok' if ok else 'measure ' + sys.argv[1] + ':'} 8 ranks, 12 steps: simulated {f['elapsed_s']:.3f} s computed, "
      f"{s['elapsed_s']:.3f} s sampled ({e:.1%}); allreduce wait {f['comm_wait_s']*1e3:.1f} vs "
      f"{s['comm_wait_s']*1e3:.1f} ms at the last step")
sys.exit(0 if ok else 1)
PY
  [ "$try" -lt 3 ] || fail "the sampled simulation is not within 25% of the computed one (three measures)"
  rm -rf full8 samp8
done
# --shared: the buffers whose values a replay never reads (here the 6 MB of parameters, their
# gradients, Adam's moments, the sums' buffers) are one for all ranks; the simulated step is the
# unshared one's within 25% (only the timeline is charged: the same here to the microsecond)
gw=(train --data dn.h5 --cell gru --hidden 512 --embed 16 --batch 64 --seq-len 16 --steps 6 --log-every 1 --quiet --gemm openblas)
"$SIMULATE" -np 8 --sample 3 --timeline gw.tl "${gw[@]}" --out own8 > own8.log 2>&1 || fail "8 sampled ranks failed: $(tail -5 own8.log)"
"$SIMULATE" -np 8 --timeline gw.tl --shared "${gw[@]}" --out shared8 > shared8.log 2>&1 || fail "8 ranks sharing their buffers failed: $(tail -5 shared8.log)"
python3 - <<'PY' || fail "sharing the sampled ranks' buffers changed the simulated step by more than 25%"
import json
def step(d):
    r = [json.loads(l) for l in open(d + "/metrics.jsonl") if "last_loss" in l]
    return (r[-1]["elapsed_s"] - r[2]["elapsed_s"]) / (r[-1]["step"] - r[2]["step"])
a, b = step("own8"), step("shared8")
print(f"ok 8 sampled ranks sharing their buffers: {b*1e3:.2f} ms a step, {a*1e3:.2f} each its own ({(b - a) / a:+.1%})")
assert abs(b - a) / a < 0.25
PY
# 64 simulated ranks on the fat tree: 5 steps, every rank's compute run for real one after another
t0=$(date +%s.%N)
/usr/bin/time -f "%M" -o rss.txt "$SIMULATE" -np 64 --platform ib-fattree "${args[@]}" --batch 128 --steps 5 --out s64 > s64.log 2>&1 ||
  fail "64 simulated ranks failed: $(tail -5 s64.log)"
python3 - "$t0" <<'PY' || fail "64 simulated ranks took too long or too much memory"
import json, sys, time
took = time.time() - float(sys.argv[1])
rss = int(open("rss.txt").read().split()[-1]) / 1024
rows = [json.loads(l) for l in open("s64/metrics.jsonl")]
start = next(r for r in rows if r.get("event") == "start")
last = [r for r in rows if "last_loss" in r][-1]
assert start["world_size"] == 64 and last["step"] == 5
print(f"ok 64 simulated ranks, 5 steps: {took:.1f} s of wall time, peak RSS {rss:.0f} MiB, "
      f"simulated {last['elapsed_s'] * 1e3:.1f} ms")
assert took < 120 and rss < 8192
PY
echo "sim: ok"

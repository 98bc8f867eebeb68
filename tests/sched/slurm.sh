# recur under a real Slurm (Debian's slurmctld, slurmd and munge 22.05, started here on three
# network-namespace hosts by cluster.sh), used as users use it: sbatch launch/slurm.sbatch, srun,
# scontrol, scancel.
# - srun starts the ranks through PMIx, and mpirun inside an allocation starts them through srun:
#   the two train the same numbers bitwise.
# - A job preempted three ways (its time limit's warning, `scancel --signal=USR1 --batch`,
#   `scontrol requeue`) commits a checkpoint of the step it reached each time, is requeued,
#   resumes by itself, and ends with the parameters of an uninterrupted job bitwise.
# - `scancel` ends a job with a checkpoint of the step it reached; sbatch again resumes it exactly.
# - A job with RECUR_TIME_BUDGET=job fits its run to its time limit and completes inside it.
# - A node set DOWN mid-job: the job goes on on the two nodes left (--no-kill), the script
#   resuming at world size 2 from the newest checkpoint; the seconds from the fault to training
#   again and the steps redone are printed.
# Skips (exit 77) where namespaces cannot be made or slurmctld cannot start.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hosts.sh"
source "$(dirname "$0")/cluster.sh"
# the jobs' ranks choose their pml as on a user's cluster (lib.sh forces ob1 for the other tests'
# start-up time): with ob1 forced, srun's ranks of the fitted job (5.) did not exit after their
# final checkpoint until the time limit's warning, 2 runs in 2 on the AMD EPYC
unset OMPI_MCA_pml
sbatch_script=$(cd "$(dirname "$0")/../.." && pwd)/launch/slurm.sbatch
if ! hosts_make 3 2>setup.err || ! cluster_up 2>>setup.err; then
  echo "SKIP: cannot start a Slurm cluster here (needs root, namespaces, slurmctld, slurmd, munged): $(tail -c 600 setup.err)"
  exit 77
fi
trap cluster_down EXIT
on_login sinfo
export RECUR
# the jobs' steps take 100 ms, asleep (a test hook): runs of a minute that leave the CPUs to others
export RECUR_TEST_STEP_MS=100
ulimit -c unlimited 2>/dev/null || true
seq 1 4000 | sed 's/^/a line of text number /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --quiet
# the ranks talk over the namespaces' network only; jobs inherit this environment
export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=10.199.0.0/16 OMPI_MCA_oob_tcp_if_include=10.199.0.0/16
model=(--cell gru --layers 2 --hidden 16 --embed 8 --batch 6 --seq-len 8 --log-every 1 --quiet)

# 1. srun (PMIx) and mpirun in an allocation. A rank that crashes (SIGSEGV or SIGABRT: seen
# inside Open MPI 4.1's MPI_Init, never in recur's code) gets one more try, said in the log, as
# launch/slurm.sbatch restarts a run after a crash; any other failure fails the test.
twice() { # NAME CMD...: CMD, again once if a rank crashed
  local name=$1 rc=0
  shift
  rm -rf "$PWD/$name"
  "$@" || rc=$?
  case $rc in 134 | 139)
    echo "note: a rank crashed (exit $rc) in $name's start; once more"
    rm -rf "$PWD/$name"
    rc=0
    "$@" || rc=$? ;;
  esac
  return $rc
}
twice srun on_login srun -N 3 -n 3 --mpi=pmix "$RECUR" train --data "$PWD/d.h5" "${model[@]}" --steps 20 \
  --out "$PWD/srun" || fail "srun --mpi=pmix could not start 3 ranks"
twice mpirun on_login salloc -N 3 -n 3 mpirun -q "$RECUR" train --data "$PWD/d.h5" "${model[@]}" --steps 20 \
  --out "$PWD/mpirun" || fail "mpirun inside salloc could not start 3 ranks"
grep -q '"world_size":3' srun/metrics.jsonl || fail "srun did not start 3 ranks in one job"
"$H5TOOL" compare srun/model.h5 mpirun/model.h5 0 || fail "srun and mpirun in an allocation trained different numbers"
echo "ok srun --mpi=pmix and mpirun inside salloc: 3 ranks on 3 nodes, the same parameters bitwise"

# submit NAME STEPS [SBATCH OPTIONS...]: launch/slurm.sbatch on run NAME; prints the job id
submit() {
  local name=$1 steps=$2
  shift 2
  on_login sbatch --parsable -o "$PWD/$name.out" "$@" "$sbatch_script" "$PWD/d.h5" "$PWD/$name" "${model[@]}" \
    --steps "$steps"
}
last_step() { python3 -c "
import json,sys
s=[json.loads(l)['step'] for l in open('$1/metrics.jsonl') if 'last_loss' in l]
print(s[-1] if s else 0)" 2>/dev/null || echo 0; }
ckpt_step() { local c; c=$(cat "$1/checkpoints/latest" 2>/dev/null) && echo $((10#${c#step-})) || echo 0; }
wait_steps() { # RUN STEP SECONDS: training reached STEP
  for _ in $(seq 1 $(($3 * 5))); do [ "$(last_step "$1")" -ge "$2" ] && return 0; sleep 0.2; done
  fail "$1 did not reach step $2 in $3 s: $(tail -3 "$1.out" 2>&1) $(on_login squeue -o '%i %j %T %r' 2>&1) $(on_login sinfo 2>&1)"
}
# interrupted RUN JOB HOW: after an interruption, the job is pending again (requeued) and its
# newest checkpoint is the step the run reached
interrupted() {
  local s
  cluster_wait_state "$2" PENDING 60 || fail "$3: the job was not requeued: $(tail -5 "$1.out")"
  s=$(last_step "$1")
  [ "$(ckpt_step "$1")" -eq "$s" ] || fail "$3: the checkpoint is of step $(ckpt_step "$1"), the run reached $s"
  echo "ok $3: checkpoint of step $s (the step reached) committed, job $2 requeued"
}
# losses RUN REF TOL: RUN's per-step losses equal REF's first ones (within TOL relative)
losses() {
  python3 - "$@" <<'PY'
import json, sys
run, ref, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
def read(r):
    return {j["step"]: j["last_loss"] for j in map(json.loads, open(r + "/metrics.jsonl")) if "last_loss" in j}
a, b = read(run), read(ref)
worst = max(abs(a[k] - b[k]) / abs(b[k]) for k in a)
assert worst <= tol, f"{run}: losses differ from {ref}'s by {worst:.3g} (relative), more than {tol}"
PY
}
# The uninterrupted job, a job preempted three times and one cancelled run at once (the partition
# lets them share the nodes)
steps=400
ref=$(submit ref $steps -N 3 --ntasks-per-node=1)
# 2. preempted three times: the time limit's warning (--time=1 with the warning 58 s before it:
# slurmctld looks at time limits every 30 s), then, with the limit raised, a warning sent by hand,
# then scontrol requeue (SIGTERM to every process of the job)
pre=$(submit pre $steps -N 3 --ntasks-per-node=1 --time=1 --signal=B:USR1@58)
# 3. scancel: a checkpoint of the step reached, and the job ends; sbatch again resumes it (200
# steps: the uninterrupted run's first 200 losses, the learning rate being constant)
can=$(submit can 200 -N 3 --ntasks-per-node=1)
wait_steps can 50 60
on_login scancel "$can"
for _ in $(seq 1 150); do [ -z "$(on_login squeue -h -j "$can" 2>/dev/null)" ] && break; sleep 0.2; done
[ "$(job_state "$can")" = CANCELLED ] || fail "scancel: the job is $(job_state "$can")"
s=$(last_step can)
[ "$(ckpt_step can)" -eq "$s" ] || fail "scancel: the checkpoint is of step $(ckpt_step can), the run reached $s"
[ "$s" -lt 200 ] || fail "the cancelled job had finished"
echo "ok scancel: checkpoint of step $s (the step reached) committed, job ended"
can2=$(submit can 200 -N 3 --ntasks-per-node=1)
# back to the preempted job
wait_steps pre 5 60
interrupted pre "$pre" "time limit's warning"
on_login scontrol update JobId="$pre" TimeLimit=30
cluster_wait_state "$pre" RUNNING 60 || fail "the requeued job did not start again"
wait_steps pre $(($(ckpt_step pre) + 30)) 60
on_login scancel --signal=USR1 --batch "$pre"
interrupted pre "$pre" "scancel --signal=USR1 --batch"
cluster_wait_state "$pre" RUNNING 60 || fail "the requeued job did not start again"
wait_steps pre $(($(ckpt_step pre) + 30)) 60
on_login scontrol requeue "$pre"
interrupted pre "$pre" "scontrol requeue"
cluster_wait_state "$can2" COMPLETED 180 || fail "the resubmitted job did not complete: $(tail -5 can.out)"
cluster_wait_state "$ref" COMPLETED 180 || fail "the uninterrupted job did not complete: $(tail -5 ref.out)"
losses can ref 0 || fail "cancelled and submitted again, the job's losses differ from the uninterrupted one's"
echo "ok submitted again after scancel: resumed, every step's loss equal to the uninterrupted job's"
cluster_wait_state "$pre" COMPLETED 180 || fail "the preempted job did not complete: $(tail -5 pre.out)"
n=$(grep -c 'resumes' pre.out)
[ "$n" -ge 3 ] || fail "the preempted job did not resume three times: $(cat pre.out)"
# more restarts than interruptions: the job requeued itself after a failure (named in its output)
[ "$n" -eq 3 ] || echo "note: the preempted job started $((n + 1)) times: $(grep -e 'recur-slurm' -e 'error' pre.out)"
"$H5TOOL" compare pre/model.h5 ref/model.h5 0 || fail "preempted three times, the job trained other parameters"
echo "ok preempted three times and requeued: the parameters equal the uninterrupted job's bitwise"

# 4. a node lost: a job on 3 nodes, one rank each (the script asks for --no-kill); the node of
# its second rank is set DOWN while it runs: Slurm ends that rank's step and leaves the job the
# other two nodes, where the script starts the run again from its newest checkpoint at world size
# 2 (a resharded resume: losses within 1e-2 of the uninterrupted run's)
for _ in $(seq 1 150); do [ "$(on_login sinfo -h -o %t | sort -u)" = idle ] && break; sleep 0.2; done
[ "$(on_login sinfo -h -o %t | sort -u)" = idle ] || fail "the nodes are not idle: $(on_login sinfo -R)"
model+=(--ckpt-every 20)
lost=$(submit lost 200 -N 3 --ntasks-per-node=1)
wait_steps lost 50 60
nodes=$(on_login scontrol show hostnames "$(on_login squeue -h -j "$lost" -o %N)")
down=$(echo "$nodes" | sed -n 2p)
[ -n "$down" ] || fail "the job runs on one node only: $nodes"
t0=$(date +%s.%N)
at=$(last_step lost)
on_login scontrol update NodeName="$down" State=DOWN Reason=recur-test
# training again: a step logged after the resumed run's "resume" event
trained_again() { python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$1/metrics.jsonl')]
r = [i for i, j in enumerate(rows) if j.get('event') == 'resume']
sys.exit(0 if r and any('last_loss' in j for j in rows[r[-1]:]) else 1)" 2>/dev/null; }
for _ in $(seq 1 600); do trained_again lost && break; sleep 0.1; done
grep 'restart 1 of' lost.out | grep -v "$down" | grep -q 'on 2 node(s).*2 rank(s)' ||
  fail "the job did not go on on the 2 nodes left: $(cat lost.out)"
took=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
from=$(grep -o 'from step-[0-9]*' lost.out | tail -1)
redone=$((at - 10#${from#from step-}))
[ "$redone" -le 20 ] || fail "$redone steps redone, more than the checkpoint interval (20)"
cluster_wait_state "$lost" COMPLETED 180 || fail "the job did not complete on 2 nodes: $(tail -5 lost.out)"
on_login scontrol update NodeName="$down" State=RESUME
losses lost ref 1e-2 || fail "resumed on the 2 nodes left, the losses are not within 1e-2 of the uninterrupted run's"
echo "ok a node set DOWN at step $at: training again on the 2 nodes left ${took} s after the fault (same job, no queueing), $redone steps redone, losses within 1e-2 of the uninterrupted job's"
# 5. a job that fits its run to its time limit (RECUR_TIME_BUDGET=job: --time-budget from what
# squeue says is left, less a 30 s margin here)
fit=$(RECUR_TIME_BUDGET=job RECUR_BUDGET_MARGIN=30 submit fit 100000 -N 3 --ntasks-per-node=1 --time=1 \
  --signal=B:USR1@5)
cluster_wait_state "$fit" COMPLETED 90 || fail "the job fitted to its time limit did not complete: $(job_state "$fit") $(tail -5 fit.out)"
grep -q "^recur-slurm: .* left in the job: --time-budget " fit.out || fail "the budget is not said: $(head -5 fit.out)"
s=$(last_step fit)
[ "$(ckpt_step fit)" -eq "$s" ] || fail "the fitted job's newest checkpoint is of step $(ckpt_step fit), its last step $s"
grep -q '"val_loss"' fit/metrics.jsonl || fail "the fitted job has no final validation"
grep -q requeue fit.out && fail "the fitted job was stopped by the time limit's warning: $(cat fit.out)"
[ "$s" -ge 100 ] || fail "the fitted job ran $s steps of 100 ms: the fit left most of its 30 s unused"
echo "ok a job fitted to its time limit (--time=1, 30 s margin): $s steps, its checkpoint and final validation inside the limit, $(grep -o '[^ ]* left in the job: --time-budget [^ ]* min' fit.out)"
echo "slurm: ok"

# A real Slurm on this machine for the sched tests, sourced after lib.sh and hosts.sh: munged (its
# own key and socket), slurmctld on the first host and a slurmd on each, in the namespaces
# hosts_make made (own address and host name each), two CPUs per node (as this machine has), one partition whose jobs may share
# them (OverSubscribe=FORCE:4: the test jobs mostly sleep). The clients
# (sbatch, srun, scontrol, scancel, squeue) run on the first host as on a login node:
#   cluster_up || skip;  on_login sbatch ...;  cluster_wait_state JOBID STATE SECONDS
# A requeued job waits cred_expire before it starts again: 10 s here (120 s by default).
# SLURM_CONF names this cluster's slurm.conf for every command (and for jobs, which inherit it).
cluster_dir=$PWD/slurm
export SLURM_CONF=$cluster_dir/slurm.conf
cluster_conf() {
  local h i=1
  cat <<CONF
ClusterName=recurtest
SlurmctldHost=${hosts[0]}($(host_addr "${hosts[0]}"))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$cluster_dir/munge.sock,cred_expire=10
CredType=cred/munge
StateSaveLocation=$cluster_dir/state
SlurmdSpoolDir=$cluster_dir/spool-%n
TmpFS=$cluster_dir/tmp-%n
SlurmctldPidFile=$cluster_dir/slurmctld.pid
SlurmdPidFile=$cluster_dir/slurmd-%n.pid
SlurmctldLogFile=$cluster_dir/slurmctld.log
SlurmdLogFile=$cluster_dir/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
ReturnToService=1
SlurmdTimeout=10
SlurmctldTimeout=10
MessageTimeout=5
InactiveLimit=0
MinJobAge=600
KillWait=20
OverTimeLimit=0
JobRequeue=1
CONF
  for h in "${hosts[@]}"; do
    echo "NodeName=$h NodeAddr=$(host_addr "$h") CPUs=2 RealMemory=1000 State=UNKNOWN"
    i=$((i + 1))
  done
  echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4"
}
# cluster_up: start munged, slurmctld and the slurmds; wait until every node is idle
cluster_up() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null ||
    { echo "slurmctld, slurmd or munged not installed" >&2; return 1; }
  mkdir -p "$cluster_dir/state" && chmod 711 "$cluster_dir"
  cluster_conf > "$SLURM_CONF"
  # slurmd sets up its cgroup plugin even when no cgroup plugin is configured, and its autodetect
  # fails on a hybrid hierarchy (v1 controllers under a tmpfs): name the version found
  if [ -d /sys/fs/cgroup/freezer ]; then echo "CgroupPlugin=cgroup/v1"; else echo "CgroupPlugin=cgroup/v2"; fi \
    > "$cluster_dir/cgroup.conf"
  dd if=/dev/urandom of="$cluster_dir/munge.key" bs=1024 count=1 2>/dev/null && chmod 600 "$cluster_dir/munge.key"
  munged --force --socket="$cluster_dir/munge.sock" --key-file="$cluster_dir/munge.key" \
    --pid-file="$cluster_dir/munged.pid" --log-file="$cluster_dir/munged.log" \
    --seed-file="$cluster_dir/munged.seed" || return 1
  host_run "${hosts[0]}" slurmctld -i || { cat "$cluster_dir/slurmctld.log" >&2; return 1; }
  local h
  for h in "${hosts[@]}"; do
    mkdir -p "$cluster_dir/spool-$h" "$cluster_dir/tmp-$h"
    host_run "$h" slurmd -N "$h" || { cat "$cluster_dir/slurmd-$h.log" >&2; return 1; }
  done
  for _ in $(seq 1 100); do
    [ "$(on_login sinfo -h -o %t 2>/dev/null | sort -u)" = idle ] && return 0
    sleep 0.2
  done
  echo "the nodes did not come up: $(on_login sinfo 2>&1)" >&2
  return 1
}
cluster_down() {
  [ -f "$cluster_dir/munged.pid" ] && kill "$(cat "$cluster_dir/munged.pid")" 2>/dev/null
  hosts_cleanup
}
on_login() { host_run "${hosts[0]}" "$@"; }
# job_state JOBID: PENDING, RUNNING, COMPLETED, ...
job_state() { on_login scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# cluster_wait_state JOBID STATE SECONDS: wait until the job is in STATE (or fail)
cluster_wait_state() {
  local s
  for _ in $(seq 1 $(($3 * 5))); do
    s=$(job_state "$1")
    [ "$s" = "$2" ] && return 0
    sleep 0.2
  done
  echo "job $1 is $s after $3 s, not $2" >&2
  return 1
}

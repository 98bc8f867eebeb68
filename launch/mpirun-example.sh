#!/usr/bin/env bash
# Examples of launching recur with Open MPI. One rank per core, one BLAS thread per rank.
#   launch/mpirun-example.sh DATA.h5 RUN [HOSTFILE]
# HOSTFILE lines look like "node1 slots=32"; the dataset and the recur binary must be at the
# same paths on every host (a shared file system), and ssh between hosts must work without a
# password (or set OMPI_MCA_plm_rsh_agent). Use --mca btl tcp,self to force TCP between hosts.
# launch/run-mpi runs mpirun so that Ctrl-C stops the run gracefully (a checkpoint of the step
# reached, exit 0); a second Ctrl-C aborts.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
data=${1:?usage: launch/mpirun-example.sh DATA.h5 RUN [HOSTFILE]}
run=${2:?usage: launch/mpirun-example.sh DATA.h5 RUN [HOSTFILE]}
args=(train --data "$data" --out "$run" --cell lstm --layers 2 --hidden 512 --batch 64 --seq-len 100 --steps 5000 --eval-every 500)
if [ $# -ge 3 ]; then
  # several hosts: every slot of the hostfile runs one rank
  exec "$top/launch/run-mpi" --hostfile "$3" --bind-to core --map-by core -x OPENBLAS_NUM_THREADS=1 "$top/build/recur" "${args[@]}"
else
  # one host: one rank per core
  exec "$top/launch/run-mpi" -np "$(nproc --all)" --bind-to core -x OPENBLAS_NUM_THREADS=1 "$top/build/recur" "${args[@]}"
fi

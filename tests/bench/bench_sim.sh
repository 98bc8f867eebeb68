#!/usr/bin/env bash
# The scaling table of docs/simulation.md: recur's real code on simulated clusters (launch/simulate,
# SimGrid's SMPI), weak scaling (the same rows per rank at every size), computation sampled
# (--sample: one rank's step measured on this machine once per model, then charged by every rank
# at every size and platform).
#   tests/bench/bench_sim.sh [RANKS...]     (default 1 8 32 64)
# For each model, platform and size: the simulated seconds a step takes (steps 4-8, past the
# start), tokens/s, the efficiency against 1 rank (its step time over this one: the same work a
# rank at every size, sampled compute the same every step), and the share of a step
# spent waiting for the gradient sums (comm_wait_s: the part the backward did not hide).
# Models (BENCH_SIM_MODELS, all by default): char, the char LM (LSTM 2x512, 32 windows of 100
# characters per rank, fortunes); word, the word LM (LSTM 2x512 on fortunes' words, adaptive
# softmax, sparse embedding sums, 32 x 35 per rank); s2s, the encoder-decoder (GRU 2x256 with
# attention, 32 pairs of 20-60 characters per rank, bench_seq2seq.sh's noisy copies).
# Also validates the simulator on what runs here: 1 and 2 real ranks (mpirun) against 1 and 2
# simulated ranks on launch/platforms/this-machine.xml (one node of 2 cores, shared memory;
# BENCH_SIM_VALIDATE=0 leaves it out).
# Platforms: BENCH_SIM_PLATFORMS (default: 10gbe ib-fattree 10gbe-nodes8). Above 128 ranks (the
# word LM: above 32, its ~300 MB a rank) the simulated ranks share their large buffers (launch/simulate --shared, with --gemm openblas: the
# sampled ranks compute no products), so 512 and 1,024 ranks fit in a few GB; SMPI then takes
# minutes of wall time a step (its network solver grows with the flows in flight).
# BENCH_SIM_FLAGS: more flags for every simulated run (e.g. --grad-sum bf16).
# Writes under build/bench-sim (removed first; BENCH_SIM_DIR=DIR for another, so that two runs can
# go side by side).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
R=$top/build/recur
work=${BENCH_SIM_DIR:-$top/build/bench-sim}
rm -rf "$work" && mkdir -p "$work" && cd "$work"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OPENBLAS_NUM_THREADS=1
ranks=("$@")
[ ${#ranks[@]} -gt 0 ] || ranks=(1 8 32 64)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; kernel: --gemm auto (the default)"
F=$(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
# the char LM's streams: 32 windows of 100 characters a rank; fortunes (2.6M characters) holds
# 780 ranks' worth, so for more its text is given as many times over as it takes (one file:
# prepare reads a path given twice once)
top_np=1
for np in "${ranks[@]}"; do [ "$np" -le "$top_np" ] || top_np=$np; done
copies=$(((top_np * 32 * 101) / 2500000 + 1))
FC=$F
if [ "$copies" -gt 1 ]; then
  for ((k = 0; k < copies; k++)); do cat $F; done > fortunes-x$copies.txt
  FC=fortunes-x$copies.txt
fi
"$R" prepare $FC -o char.h5 --split-on separator --separator % --val 0 --quiet
"$R" prepare $F -o word.h5 --level word --split-on separator --separator % --val 0 --quiet
python3 "$top/tests/bench/make_pairs.py" pairs.txt
"$R" prepare pairs.txt -o s2s.h5 --task seq2seq --val 0 --quiet
models=()
for m in ${BENCH_SIM_MODELS:-char word s2s}; do
  case $m in
    char) models+=("char|--data char.h5 --cell lstm --layers 2 --hidden 512 --embed 64 --seq-len 100") ;;
    word) models+=("word|--data word.h5 --cell lstm --layers 2 --hidden 512 --embed 512 --seq-len 35 --softmax adaptive --cutoffs 2000,10000") ;;
    s2s) models+=("s2s|--data s2s.h5 --task seq2seq --mode sequences --cell gru --layers 2 --hidden 256 --embed 64 --attention general") ;;
  esac
done
step_stats() { # RUN: seconds a step (steps 4..8), tokens/s, wait share
  python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if "last_loss" in l]
a, b = rows[3], rows[-1]
n = b["step"] - a["step"]
dt = (b["elapsed_s"] - a["elapsed_s"]) / n
wait = sum(r["comm_wait_s"] for r in rows[4:]) / n
# tokens/s over the same steps (each line's rate times its step's time: lengths vary by step)
tok = sum(q["tokens_per_s"] * (q["elapsed_s"] - p["elapsed_s"]) for p, q in zip(rows[3:], rows[4:]))
print(f"{dt:.4f} {tok / (b['elapsed_s'] - a['elapsed_s']):.0f} {wait / dt:.3f}")
PY
}
common=(--steps 8 --log-every 1 --quiet --eval-minutes 0)
echo
echo "validation: real ranks (mpirun, this machine) against simulated ranks (this-machine.xml), char LM"
[ "${BENCH_SIM_VALIDATE:-1}" = 1 ] || echo "  left out (BENCH_SIM_VALIDATE=0)"
for np in 1 2; do
  [ "${BENCH_SIM_VALIDATE:-1}" = 1 ] || break
  mpirun -np "$np" --bind-to core "$R" train ${models[0]#*|} "${common[@]}" --batch $((32 * np)) --out real$np > /dev/null
  "$top/launch/simulate" -np "$np" --platform this-machine train ${models[0]#*|} "${common[@]}" --batch $((32 * np)) --out sim$np > /dev/null 2>&1
  read -r rs rt rw <<< "$(step_stats real$np)"
  read -r ss st sw <<< "$(step_stats sim$np)"
  python3 -c "print(f'  {$np} rank(s): real {$rs:.3f} s a step (wait {$rw:.1%}), simulated {$ss:.3f} s (wait {$sw:.1%}): error {($ss - $rs) / $rs:+.1%}')"
done
echo
printf '%-6s %-13s %6s %10s %12s %8s %8s %9s\n' model platform ranks "step s" "tokens/s" "eff." "wait" "wall s"
for m in "${models[@]}"; do
  name=${m%%|*} args=${m#*|}
  # one rank's step measured once (6 steps, the first left out): every size and platform charges it
  # (BENCH_SIM_TIMELINES=DIR: DIR/$name.timeline, recorded by an earlier run, instead: rows added
  # to a table later share its measure)
  if [ -n "${BENCH_SIM_TIMELINES:-}" ] && [ -s "$BENCH_SIM_TIMELINES/$name.timeline" ]; then
    cp "$BENCH_SIM_TIMELINES/$name.timeline" .
  else
    "$top/launch/simulate" -np 1 --sample 6 --timeline "$name.timeline" train $args "${common[@]}" --batch 32 \
      --out "$name-calib" > "$name-calib.log" 2>&1 || { echo "$name: the sampling failed: $(tail -3 "$name-calib.log")"; continue; }
  fi
  echo "$name: one rank's step, as sampled: $(awk '{s += $2} END {printf "%.3f s", s}' "$name.timeline") of computation"
  for plat in ${BENCH_SIM_PLATFORMS:-10gbe ib-fattree 10gbe-nodes8}; do
    base=""
    for np in "${ranks[@]}"; do
      # every simulated rank holds its own parameters, gradients and Adam moments unless they
      # share them (--shared): above 128 ranks, and for the word LM (~300 MB a rank) above 32
      over=128
      [ "$name" != word ] || over=32
      shared=() kernel=()
      [ "$np" -le "$over" ] || shared=(--shared) kernel=(--gemm openblas)
      t0=$(date +%s.%N)
      "$top/launch/simulate" -np "$np" --platform "$plat" "${shared[@]}" --timeline "$name.timeline" train $args "${common[@]}" "${kernel[@]}" \
        ${BENCH_SIM_FLAGS:-} --batch $((32 * np)) --out "$name-$plat-$np" > "$name-$plat-$np.log" 2>&1 ||
        { echo "$name $plat $np: failed: $(tail -3 "$name-$plat-$np.log")"; continue; }
      wall=$(python3 -c "print(round($(date +%s.%N) - $t0))")
      read -r dt tps share <<< "$(step_stats "$name-$plat-$np")"
      [ -n "$base" ] || base=$dt
      python3 -c "print(f'{\"$name\":<6} {\"$plat\":<13} {$np:>6} {$dt:>10.4f} {$tps:>12.0f} {$base / $dt:>8.1%} {$share:>8.1%} {$wall:>9}')"
      rm -rf "$name-$plat-$np"
    done
  done
done

#!/usr/bin/env bash
# Generation speed, one stream (batch 1): recur sample against PyTorch running the same weights (a
# loop of nn.LSTM steps, one thread; bench_sample.py) and against the bound the weights' bytes per
# token allow at the bandwidth measured here. The model: the char LM (LSTM 2x512, fortunes),
# trained 20 steps (speed does not depend on the weights' values).
#   tests/bench/bench_sample.sh [TOKENS]     (10000 by default; writes under build/bench-sample)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
R=${RECUR:-$top/build/recur}
work=${BENCH_DIR:-$top/build/bench-sample}
rm -rf "$work" && mkdir -p "$work" && cd "$work"
n=${1:-10000}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
F=$(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
"$R" prepare $F -o char.h5 --split-on none --quiet  # no <eos>: a sample runs its whole length
"$R" train --data char.h5 --cell lstm --layers 2 --hidden 512 --embed 64 --batch 8 --seq-len 50 --steps 20 \
  --quiet --out run > /dev/null
# recur: the time of n tokens less that of 200 (the load and start), best of 3
gen() { # ARGS...: seconds a token
  python3 - "$R" "$n" "$@" <<'PY'
import subprocess, sys, time
R, n, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def t(k):
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([R, "sample", "run/model.h5", "--length", str(k), "--seed", "1", "--quiet"] + extra,
                       check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best
print((t(n + 200) - t(200)) / n)
PY
}
for k in "" "--gemm onednn" "--precision bf16"; do
  s=$(gen $k)
  python3 -c "print(f'recur sample ${k:-(default)}: {1 / $s:,.0f} tokens/s, {$s * 1e6:.0f} us a token')"
done
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3  # Debian's, with h5py and torch
"$PY" "$top/tests/bench/bench_sample.py" run/model.h5 "$n"

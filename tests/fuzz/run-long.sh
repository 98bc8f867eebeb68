#!/usr/bin/env bash
# Fuzz every harness for HOURS in all (fractional hours allowed), split evenly: builds the clang
# build (build-fuzz) if needed, starts from fresh seed corpora in build-fuzz/tests/work-fuzz-long,
# prints executions and coverage per harness, and exits non-zero on any finding (its input is
# left there as crash-*; fix it and keep it in tests/fuzz/regress/HARNESS).
#   tests/fuzz/run-long.sh HOURS
set -euo pipefail
hours=${1:?usage: tests/fuzz/run-long.sh HOURS}
top=$(cd "$(dirname "$0")/../.." && pwd)
b=$top/build-fuzz
CC=clang cmake -S "$top" -B "$b" -DRECUR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$b" -j"$(nproc)" > /dev/null
secs=$(python3 -c "print(max(1, int($hours * 3600 / 6)))")
work=$b/tests/work-fuzz-long
mkdir -p "$work"
RECUR_FUZZ_SECONDS=$secs bash "$top/tests/fuzz/fuzz.sh" "$b/recur" "$b/tests" "$work"

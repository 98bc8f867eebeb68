# The fuzz test: seed corpora from files recur writes (datasets of every level and task, a sharded
# index, a model, a checkpoint, metrics.jsonl lines, saved options, text), then every harness for
# RECUR_FUZZ_SECONDS (8) and over its regression inputs (tests/fuzz/regress/HARNESS). A finding
# (crash, sanitizer report, leak, timeout, allocation over the limit) fails it and leaves the
# input in WORK/crash-*. Prints executions and coverage per harness.
#   fuzz.sh RECUR TESTS_BUILD_DIR WORK
source "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
bin=$2
secs=${RECUR_FUZZ_SECONDS:-8}
ASAN_OPTIONS=detect_leaks=0 "$here/seeds.sh" "$RECUR" seeds # (Open MPI keeps memory until exit)
export RECUR_FUZZ_CKPT=$PWD/seeds/ckpt-template
# leaks count, except what HDF5 allocates inside itself and loses on some damaged files (the same
# suppressions as the sanitizer pass: recur's allocations are never suppressed)
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1
export LSAN_OPTIONS=suppressions=$here/../lsan.supp:print_suppressions=0
for h in json opts tokenize dataset model ckpt; do
  mkdir -p corpus-$h
  reg=$here/regress/$h
  dirs=(corpus-$h seeds/$h)
  [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ] && dirs+=("$reg")
  rc=0
  "$bin/fuzz_$h" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$PWD/crash-$h-" "${dirs[@]}" > fuzz-$h.log 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz-$h.log)
  cov=$(grep -o 'cov: [0-9]*' fuzz-$h.log | tail -1)
  [ "$rc" -eq 0 ] || fail "fuzz_$h found a problem: $(grep -m3 -E 'ERROR|SUMMARY|Test unit written' fuzz-$h.log)"
  echo "fuzz_$h: $runs executions in ${secs}s, $cov, corpus $(ls corpus-$h | wc -l) inputs"
done
echo "fuzz: ok"

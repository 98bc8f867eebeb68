# Shared helpers for the shell tests: lib.sh RECUR H5TOOL WORKDIR
set -euo pipefail
RECUR=$1
H5TOOL=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
# one machine: Open MPI's ob1 over shared memory and TCP, without probing for PSM/OFI hardware
# (100 ms each at every process start; recur's singletons set it themselves, src/cli/main.c)
export OMPI_MCA_pml=ob1
# Debian's python3 has what launch/test installs (h5py, torch); a pyenv or venv python3 found first
# on PATH may not (a link, not a shell function: `python3 ... &` must give the process's own pid)
if [ -x /usr/bin/python3 ]; then
  mkdir -p "$WORK/.bin" && ln -sf /usr/bin/python3 "$WORK/.bin/python3" && export PATH="$WORK/.bin:$PATH"
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_fail PATTERN CMD...: CMD must exit non-zero and print PATTERN (fixed string) on stderr
expect_fail() {
  local pat=$1; shift
  local rc=0
  "$@" >out.txt 2>err.txt || rc=$?
  [ "$rc" -ne 0 ] || fail "expected failure of: $* (stdout: $(head -c 300 out.txt))"
  [ "$rc" -lt 128 ] || fail "crashed (exit $rc) instead of failing cleanly: $* ($(tail -c 300 err.txt))"
  grep -qF -- "$pat" err.txt || fail "expected '$pat' in the error of: $*; got: $(cat err.txt)"
  echo "ok (exit $rc): $* -> $(grep -m1 'error' err.txt)"
}
# no_leftovers DIR: no dataset or temporary file left behind
no_leftovers() {
  local left
  left=$(find "${1:-.}" -maxdepth 1 \( -name '*.h5' -o -name '*.tmp-*' -o -name '*.stdin-*' \) | head -5)
  [ -z "$left" ] || fail "files left behind: $left"
}

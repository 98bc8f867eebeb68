# cmake --install puts librecur, the public headers, recur.pc and a CMake package in place: a small
# C program built against the installed copy, once with pkg-config and once with
# find_package(recur), opens a dataset and a model that the installed recur wrote.
source "$(dirname "$0")/../lib.sh"
BUILD=$(dirname "$RECUR")
cmake --install "$BUILD" --prefix "$PWD/prefix" > install.log || fail "cmake --install: $(tail -5 install.log)"
for f in prefix/lib/librecur.a prefix/bin/recur prefix/include/recur/model.h prefix/lib/pkgconfig/recur.pc \
         prefix/lib/cmake/recur/recurConfig.cmake; do
  [ -f "$f" ] || fail "not installed: $f"
done
grep -l "#include <hdf5.h>" prefix/include/recur/*.h && fail "a public header needs hdf5.h"
for f in h5.h hooks.h; do [ -e prefix/include/recur/$f ] && fail "the private header $f is installed"; done
grep -l '#include "recur/\(h5\|hooks\).h"' prefix/include/recur/*.h && fail "a public header includes a private one"
printf 'the cat sat on the mat\nthe dog sat on the log\n%.0s' $(seq 200) > text.txt
prefix/bin/recur prepare text.txt -o d.h5 --split-on line --val 0.1 --quiet
prefix/bin/recur train --data d.h5 --out run --cell gru --layers 1 --hidden 16 --embed 8 --batch 4 --seq-len 10 --steps 2 --quiet
cat > prog.c <<'C'
/* uses the installed library: a dataset's vocabulary and a model's parameters */
#include <stdio.h>
#include "recur/dataset.h"
#include "recur/model.h"
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  dataset *ds = dataset_open(argv[1]);
  model_vocab v;
  model *m = model_load(argv[2], &v, NULL);
  printf("vocab %lld params %lld\n", (long long)ds->vocab_size, (long long)m->n_params);
  int ok = ds->vocab_size == v.vocab_size && m->n_params > 0;
  model_vocab_free(&v);
  model_free(m);
  dataset_close(ds);
  return ok ? 0 : 1;
}
C
want=$(prefix/bin/recur inspect run/model.h5 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['parameters'])")
# pkg-config
PKG_CONFIG_PATH=$PWD/prefix/lib/pkgconfig cc -std=c11 -o prog-pc prog.c $(PKG_CONFIG_PATH=$PWD/prefix/lib/pkgconfig pkg-config --cflags --libs recur) ||
  fail "build with pkg-config"
./prog-pc d.h5 run/model.h5 > pc.txt || fail "prog-pc: $(cat pc.txt)"
grep -q "params $want\$" pc.txt || fail "prog-pc read $(cat pc.txt), inspect says $want parameters"
# CMake package
mkdir -p cm
cat > cm/CMakeLists.txt <<'C'
cmake_minimum_required(VERSION 3.20)
project(uses_recur C)
find_package(recur REQUIRED)
add_executable(prog ../prog.c)
target_link_libraries(prog PRIVATE recur::recur)
C
cmake -S cm -B cm/build -DCMAKE_PREFIX_PATH="$PWD/prefix" > cm.log 2>&1 || fail "find_package(recur): $(tail -20 cm.log)"
cmake --build cm/build >> cm.log 2>&1 || fail "build with find_package(recur): $(tail -20 cm.log)"
cm/build/prog d.h5 run/model.h5 > cm.txt || fail "prog (cmake): $(cat cm.txt)"
diff pc.txt cm.txt || fail "the two builds disagree"
# a program that trains through the installed library's API (train.h) on communicators it split
# itself: two groups of two ranks train the same model (bitwise the same, and the same as recur
# train on 2 ranks), one stops by request and resumes, a bad dataset returns an error
PKG_CONFIG_PATH=$PWD/prefix/lib/pkgconfig cc -std=c11 -o train_api "$(dirname "$0")/train_api.c" \
  $(PKG_CONFIG_PATH=$PWD/prefix/lib/pkgconfig pkg-config --cflags --libs recur) || fail "build train_api.c"
mkdir -p api
timeout 300 mpirun -np 4 ./train_api d.h5 api > api.txt 2> api.err || fail "train_api: $(cat api.txt api.err)"
cat api.txt
grep -q "group 1: stopped by request at step 4" api.txt || fail "the stop request: $(cat api.txt)"
[ "$(grep -c "error returned: .*train_api" api.txt)" = 2 ] || fail "the bad dataset's error: $(cat api.txt api.err)"
timeout 300 mpirun -np 2 prefix/bin/recur train --data d.h5 --out cli --cell gru --layers 1 --hidden 16 --embed 8 \
  --batch 4 --seq-len 10 --steps 12 --ckpt-every 6 --log-every 2 --eval-every 6 --quiet
for m in api/group1/model.h5 api/group1-stopped/model.h5 cli/model.h5; do
  "$H5TOOL" compare api/group0/model.h5 $m 0 > /dev/null || fail "$m differs from api/group0's model"
done
echo "install: $(cat cm.txt)"

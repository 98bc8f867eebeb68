/* Error-return mode (core.h RECUR_CATCH): readers handed damaged files, a bad command line and an
 * impossible allocation return to the caller with the CLI's message and exit status instead of
 * ending the process; every HDF5 object, tracked allocation and file they acquired is released
 * (the sanitizer pass of launch/test fails on any leak); catches nest. */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/h5.h"
#include "recur/model.h"
#include "recur/prepare.h"
#include "recur/train.h"

static unsigned char *slurp(const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)*n);
  if (fread(b, 1, (size_t)*n, f) != (size_t)*n) abort();
  fclose(f);
  return b;
}

static void spit(const char *path, const unsigned char *b, long n) {
  FILE *f = fopen(path, "wb");
  fwrite(b, 1, (size_t)n, f);
  fclose(f);
}

/* open (and read) a damaged copy under a catch: ok or a named error, never the end */
static int read_dataset(const char *path) {
  recur_catch c;
  if (RECUR_CATCH(&c) == 0) {
    dataset *ds = dataset_open(path);
    for (int s = 0; s < SPLIT_COUNT; s++) {
      uint64_t n = ds->split[s].n_tok < 4096 ? ds->split[s].n_tok : 4096;
      int32_t *t = xmalloc((n + 1) * sizeof(int32_t));
      if (n) dataset_read(ds, s, 0, n, t);
      xfree(t);
    }
    dataset_close(ds);
    recur_catch_end(&c);
    return 0;
  }
  CHECK(c.code == RECUR_EXIT_ERROR && strstr(c.msg, "recur: error: ") && strstr(c.msg, path),
        "a damaged dataset's error names it: code %d, %s", c.code, c.msg);
  return 1;
}

static int read_model(const char *path) {
  recur_catch c;
  if (RECUR_CATCH(&c) == 0) {
    model_vocab v;
    model *m = model_load(path, &v, NULL);
    model_vocab_free(&v);
    model_free(m);
    recur_catch_end(&c);
    return 0;
  }
  CHECK(c.code == RECUR_EXIT_ERROR && strstr(c.msg, path), "model error names it: %s", c.msg);
  return 1;
}

static void damage_all(const char *good, const char *kind, int (*reader)(const char *)) {
  long n;
  unsigned char *b = slurp(good, &n), *d = malloc((size_t)n);
  uint64_t key = 12345;
  int errors = 0, tries = 0;
  const ssize_t h5_before = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  for (int i = 0; i < 120; i++, tries++) {
    memcpy(d, b, (size_t)n);
    long len = n;
    key = rng_mix(key + (uint64_t)i);
    if (i % 3 == 0) {
      len = (long)(key % (uint64_t)n); /* truncated */
    } else {
      for (int k = 0; k < 1 + i % 4; k++) /* flipped bytes */
        d[rng_mix(key + (uint64_t)k) % (uint64_t)n] ^= (unsigned char)(1 + (key >> 8) % 255);
    }
    spit("damaged.h5", d, len);
    errors += reader("damaged.h5");
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == h5_before,
          "%s copy %d left %zd HDF5 objects open", kind, i,
          (ssize_t)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) - h5_before);
  }
  printf("%s: %d damaged copies, %d named errors returned to the caller, 0 exits\n", kind, tries,
         errors);
  CHECK(errors > tries / 3, "most damaged %s copies should fail (%d of %d)", kind, errors, tries);
  free(b);
  free(d);
}

int main(void) {
  h5_init();
  FILE *f = fopen("catch.txt", "w");
  for (int i = 0; i < 400; i++) fprintf(f, "line %d of some text for the catch test\n", i);
  fclose(f);
  char *inputs[1] = {"catch.txt"};
  prepare_opts o = {0};
  o.inputs = inputs;
  o.n_inputs = 1;
  o.out = "catch.h5";
  o.level = LEVEL_CHAR;
  o.split_on = SEG_LINE;
  o.val = 0.1;
  o.val_given = 1;
  o.min_count = 1;
  o.seed = 1;
  o.quiet = 1;
  prepare_run(&o);
  CHECK(read_dataset("catch.h5") == 0, "the good dataset reads");
  damage_all("catch.h5", "dataset", read_dataset);

  dataset *ds = dataset_open("catch.h5");
  model_config mc = {.cell = CELL_LSTM,
                     .layers = 1,
                     .hidden = 16,
                     .embed = 8,
                     .vocab = (int)ds->vocab_size,
                     .task = TASK_LM,
                     .pool = POOL_LAST};
  model *m = model_create(&mc, 1);
  model_vocab mv = {.level = ds->level,
                    .eos_id = ds->eos_id,
                    .unk_id = ds->unk_id,
                    .split_on = "line",
                    .vocab = ds->vocab,
                    .vocab_size = ds->vocab_size};
  model_save(m, &mv, 0, "catch-model.h5");
  model_free(m);
  dataset_close(ds);
  CHECK(read_model("catch-model.h5") == 0, "the good model reads");
  damage_all("catch-model.h5", "model", read_model);

  /* a bad command line: status 2, the parser's message */
  recur_catch c;
  train_opts to;
  train_opts_default(&to);
  char *argv[] = {"train", "--hiden", "3", NULL};
  if (RECUR_CATCH(&c) == 0) {
    opts_parse(train_options(), &to, to.given, 3, argv, NULL, 0, NULL);
    recur_catch_end(&c);
    CHECK(0, "an unknown flag was accepted");
  } else {
    CHECK(c.code == RECUR_EXIT_USAGE && strstr(c.msg, "did you mean --hidden?"), "usage: %s",
          c.msg);
  }
  train_opts_free(&to);
  /* an impossible allocation is an error, and nesting: the inner failure leaves the outer going */
  recur_catch outer, inner;
  if (RECUR_CATCH(&outer) == 0) {
    char *keep = xstrdup("allocated in the outer catch");
    if (RECUR_CATCH(&inner) == 0) {
      (void)xstrdup("allocated in the inner catch: released by its failure");
      (void)xmalloc((size_t)1 << 62);
      recur_catch_end(&inner);
      CHECK(0, "2^62 bytes were allocated");
    }
    CHECK(inner.code == RECUR_EXIT_ERROR && strstr(inner.msg, "out of memory"), "oom: %s",
          inner.msg);
    CHECK(!strcmp(keep, "allocated in the outer catch"), "the outer catch's memory survives");
    xfree(keep);
    recur_catch_end(&outer);
  } else {
    CHECK(0, "the outer catch failed: %s", outer.msg);
  }
  return check_done("test_catch");
}

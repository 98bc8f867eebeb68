/* the dataset reader: the input is an HDF5 file (index or single file), opened and read */
#include "fuzz.h"
#include "recur/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  const char *path = fuzz_path(".h5");
  fuzz_write(path, data, size);
  recur_catch c;
  if (RECUR_CATCH(&c) == 0) {
    dataset *ds = dataset_open(path);
    for (int s = 0; s < SPLIT_COUNT && ds->level == LEVEL_REAL; s++) { /* values, not tokens */
      uint64_t n = ds->split[s].n_tok < 256 ? ds->split[s].n_tok : 256;
      float *v = xmalloc((n * (uint64_t)ds->n_features + 1) * sizeof(float));
      if (n) dataset_read_values(ds, s, 0, n, v);
      xfree(v);
      int32_t *t = xmalloc((n + 1) * sizeof(int32_t)); /* tagged steps */
      if (n && ds->task == TASK_TAG) dataset_read_tags(ds, s, 0, n, t);
      xfree(t);
    }
    for (int s = 0; s < SPLIT_COUNT && ds->level != LEVEL_REAL; s++) {
      uint64_t n = ds->split[s].n_tok < 2048 ? ds->split[s].n_tok : 2048;
      int32_t *t = xmalloc((n + 1) * sizeof(int32_t));
      if (n) dataset_read(ds, s, 0, n, t);
      for (uint64_t q = 0; q < ds->split[s].n_seq && q < 64; q++) (void)dataset_seq_len(ds, s, q);
      const int D = ds->n_cond_features; /* --cond-features: vectors or source frames */
      float *v = xmalloc(((uint64_t)D * 64 + 1) * sizeof(float));
      if (D && ds->task == TASK_CONDLM && ds->split[s].n_seq) dataset_read_cond(ds, s, 0, v);
      if (ds->task == TASK_SEQ2SEQ) { /* the source stream */
        n = ds->split[s].n_src_tok < n ? ds->split[s].n_src_tok : n;
        if (n > 64) n = 64;
        if (n && D) dataset_read_src_values(ds, s, 0, n, v);
        if (n && !D) dataset_read_src(ds, s, 0, n, t);
        for (uint64_t q = 0; q < ds->split[s].n_seq && q < 64; q++) (void)dataset_src_len(ds, s, q);
      }
      xfree(v);
      xfree(t);
    }
    dataset_close(ds);
    recur_catch_end(&c);
  }
  unlink(path);
  return 0;
}

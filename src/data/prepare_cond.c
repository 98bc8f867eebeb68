/* prepare_cond: --cond-features, rows of numbers per id (a CSV `id,f1,..,fD` under a header, or an
 * HDF5 file with /ids and /features): condlm's vector per sequence, seq2seq's source frames (an
 * id's rows one after another). Loaded whole, grouped by id and sorted for lookups; the training
 * sequences' rows give the statistics written with the dataset. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>

#include "prepare-impl.h"

typedef struct {
  const char *id;
  int64_t row;
} cond_key;
static int cmp_key(const void *a, const void *b) {
  return strcmp(((const cond_key *)a)->id, ((const cond_key *)b)->id);
}

/* the ids, rows (n, D) and feature names of an HDF5 file: /ids (strings), /features (n, D) floats,
 * optionally /feature_names */
static void cond_load_h5(prep_cond *c, const char *path) {
  h5_init();
  hid_t f = h5_open(path, 0);
  char *where = core_path("%s:/features", path);
  hid_t d = H5Lexists(f, "features", H5P_DEFAULT) > 0 ? H5Dopen2(f, "features", H5P_DEFAULT) : -1;
  if (d < 0) recur_fail(where, "an HDF5 file of vectors holds /ids and /features", "missing");
  hid_t sp = H5Dget_space(d);
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(sp) != 2 || H5Sget_simple_extent_dims(sp, dims, NULL) != 2 ||
      dims[1] < 1 || dims[1] > 65536)
    recur_fail(where, NULL, "expected a (vectors, features) array of at most 65536 features");
  H5Sclose(sp);
  c->ids = h5_read_strings(f, "ids", &c->n, path);
  if ((uint64_t)c->n != dims[0])
    recur_fail(where, NULL, "%llu vectors for %lld ids", (unsigned long long)dims[0],
               (long long)c->n);
  c->D = (int)dims[1];
  c->rows = xmalloc((size_t)(c->n > 0 ? c->n : 1) * (size_t)c->D * sizeof(float));
  if (c->n > 0 && h5_read_rows(d, H5T_NATIVE_FLOAT, 0, (uint64_t)c->n, (uint64_t)c->D, c->rows) < 0)
    recur_fail(where, "the file is truncated or damaged", "cannot read the vectors");
  H5Dclose(d);
  for (int64_t i = 0; i < c->n * c->D; i++)
    if (!isfinite(c->rows[i]))
      recur_fail(where, "give finite numbers", "vector %lld, feature %lld is %g",
                 (long long)(i / c->D), (long long)(i % c->D), (double)c->rows[i]);
  int64_t nn = 0;
  if (H5Lexists(f, "feature_names", H5P_DEFAULT) > 0) {
    c->names = h5_read_strings(f, "feature_names", &nn, path);
    if (nn != c->D)
      recur_fail(where, NULL, "%lld feature names for %d features", (long long)nn, c->D);
  } else {
    c->names = xmalloc((size_t)c->D * sizeof(char *));
    for (int i = 0; i < c->D; i++) c->names[i] = core_path("f%d", i);
  }
  c->line = NULL;
  xfree(where);
  H5Fclose(f);
}

/* a CSV or TSV file: a header (the id column first, then the features), a row per id */
static void cond_load_csv(prep_cond *c, const char *path) {
  csv_lines L;
  csv_open(&L, path, path);
  char *line, **f = NULL, **cols = NULL, delim = ',';
  int n_cols = 0;
  int64_t cap_rows = 0;
  while ((line = csv_next(&L))) {
    const uint64_t lineno = L.lineno;
    if (lineno == 1) {
      char *where = core_path("%s:line 1", path);
      cols = csv_header(line, &n_cols, &delim);
      csv_check_names(cols, n_cols, where);
      if (n_cols < 2)
        recur_fail(where, "the header names the id column, then the features", "one column");
      xfree(where);
      c->D = n_cols - 1;
      c->names = xmalloc((size_t)c->D * sizeof(char *));
      for (int i = 0; i < c->D; i++) c->names[i] = xstrdup(cols[i + 1]);
      f = xmalloc((size_t)n_cols * sizeof(char *));
      continue;
    }
    if (!*csv_trim(line)) continue;
    char *where = core_path("%s:line %llu", path, (unsigned long long)lineno);
    int n = csv_fields(line, delim, f, n_cols);
    if (n != n_cols)
      recur_fail(where, "give every row an id and one number per feature",
                 "%d fields, the header has %d", n, n_cols);
    const char *id = csv_trim(f[0]);
    if (!*id) recur_fail(where, "give every row an id", "empty id");
    if (c->n == cap_rows) { /* room doubles */
      cap_rows = cap_rows ? 2 * cap_rows : 1024;
      c->ids = xrealloc(c->ids, (size_t)cap_rows * sizeof(char *));
      c->line = xrealloc(c->line, (size_t)cap_rows * sizeof(uint64_t));
      c->rows = xrealloc(c->rows, (size_t)cap_rows * (size_t)c->D * sizeof(float));
    }
    c->ids[c->n] = xstrdup(id);
    c->line[c->n] = lineno;
    for (int i = 0; i < c->D; i++)
      c->rows[c->n * c->D + i] = csv_num(csv_trim(f[i + 1]), path, lineno, c->names[i]);
    c->n++;
    xfree(where);
  }
  csv_close(&L, path, "give a header row: id, then the feature names");
  xfree(f);
  xfree(cols);
}

/* a row's place for an error: its CSV line, or the HDF5 file's /ids */
static char *cond_where(const prep_cond *c, int64_t row) {
  return c->line ? core_path("%s:line %llu", c->path, (unsigned long long)c->line[row])
                 : core_path("%s:/ids", c->path);
}

prep_cond *prep_cond_load(const char *path, int frames) {
  prep_cond *c = xcalloc(1, sizeof *c);
  c->path = xstrdup(path);
  const size_t n = strlen(path);
  if (n > 3 && !strcmp(path + n - 3, ".h5"))
    cond_load_h5(c, path);
  else
    cond_load_csv(c, path);
  if (c->n == 0) recur_fail(path, "give a vector per id", "no vectors");
  /* groups of consecutive rows with the same id (without frames each row alone) */
  c->start = xmalloc((size_t)(c->n + 1) * sizeof(int64_t));
  for (int64_t i = 0; i < c->n; i++) {
    if (i > 0 && !strcmp(c->ids[i], c->ids[i - 1])) {
      if (!frames)
        recur_fail(cond_where(c, i), "give each id one vector", "id '%s' repeats", c->ids[i]);
      continue;
    }
    c->start[c->ng++] = i;
  }
  c->start[c->ng] = c->n;
  /* groups sorted by id, for lookups; an id in two places is an error */
  cond_key *k = xmalloc((size_t)c->ng * sizeof(cond_key));
  for (int64_t g = 0; g < c->ng; g++) k[g] = (cond_key){c->ids[c->start[g]], g};
  qsort(k, (size_t)c->ng, sizeof(cond_key), cmp_key);
  c->order = xmalloc((size_t)c->ng * sizeof(int64_t));
  for (int64_t g = 0; g < c->ng; g++) c->order[g] = k[g].row;
  xfree(k);
  for (int64_t g = 1; g < c->ng; g++) {
    const int64_t a = c->start[c->order[g]], b = c->start[c->order[g - 1]];
    if (!strcmp(c->ids[a], c->ids[b]))
      recur_fail(cond_where(c, a > b ? a : b),
                 frames ? "give an id's rows one after another" : "give each id one vector",
                 "id '%s' repeats", c->ids[a]);
  }
  c->sum = xcalloc((size_t)c->D, sizeof(double));
  c->sum2 = xcalloc((size_t)c->D, sizeof(double));
  return c;
}

int64_t prep_cond_find(const prep_cond *c, const char *id, int len, const char *where) {
  int64_t lo = 0, hi = c->ng - 1;
  while (lo <= hi) {
    const int64_t mid = (lo + hi) / 2;
    const char *s = c->ids[c->start[c->order[mid]]];
    int k = strncmp(s, id, (size_t)len);
    if (k == 0 && s[len]) k = 1;
    if (k == 0) return c->order[mid];
    if (k < 0)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  recur_fail(where, "give every line's id a vector in --cond-features", "id '%.*s' is not in %s",
             len, id, c->path);
}

void prep_cond_add(prep_cond *c, int64_t g) {
  for (int64_t r = c->start[g]; r < c->start[g + 1]; r++) {
    prep_stats_add(c->sum, c->sum2, c->rows + r * c->D, c->D);
    c->n_train++;
  }
}

void prep_cond_write(const prep_cond *c, hid_t f) {
  h5_attr_set_i64(f, "n_cond_features", c->D);
  h5_write_strings(f, "cond_feature_names", c->names, c->D);
  prep_stats_write(f, "cond_mean", "cond_std", c->sum, c->sum2, c->n_train, c->D);
}

void prep_cond_free(prep_cond *c) {
  if (!c) return;
  for (int64_t i = 0; i < c->n; i++) xfree(c->ids[i]);
  for (int i = 0; i < c->D; i++) xfree(c->names[i]);
  xfree(c->start);
  xfree(c->ids), xfree(c->names), xfree(c->rows), xfree(c->line), xfree(c->order), xfree(c->sum),
      xfree(c->sum2), xfree(c->path), xfree(c);
}

/* prepare_real: real-valued sequences (--level real) -> dataset. Inputs are CSV or TSV files of
 * numbers, one row per time step and one column per feature, a header row naming the features (the
 * same in every file); a blank line or a new file starts a new sequence. Two passes: the first
 * checks every number and counts the sequences, the second writes float32 `values` (steps,
 * features) and `offsets` per split and the training split's per-feature mean and standard
 * deviation. Any bad number is a one-line error naming file, line and column; nothing is written.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "prepare-impl.h"

typedef struct {
  const prepare_opts *o;
  char **names; /* (D) feature names, from the first file's header */
  int D;
  char delim;
  uint64_t n_seq, seq, steps_in_seq;
  int pass;
  double val, test;
  /* pass 2 */
  h5_appender vals[SPLIT_COUNT], offs[SPLIT_COUNT];
  uint64_t nstep[SPLIT_COUNT], nseq[SPLIT_COUNT];
  int cur; /* the split of the sequence being written */
  double *sum, *sum2;
  float *row;
} rprep;

/* fields of line (no newline) split at delim, in place, into f (at most cap); returns how many */
static int split_fields(char *line, char delim, char **f, int cap) {
  int n = 0;
  char *s = line;
  for (;;) {
    char *e = strchr(s, delim);
    if (n < cap) f[n] = s;
    n++;
    if (!e) break;
    *e = 0;
    s = e + 1;
  }
  return n;
}

static int count_fields(const char *line, char delim) {
  int n = 1;
  for (; *line; line++) n += *line == delim;
  return n;
}

static char *trim(char *s) {
  while (*s == ' ') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r')) s[--n] = 0;
  return s;
}

static void header(rprep *r, char *line, const char *path) {
  char *where = core_path("%s:line 1", path);
  const char delim = strchr(line, '\t') ? '\t' : ',';
  int n = count_fields(line, delim);
  char **f = xmalloc((size_t)n * sizeof(char *));
  split_fields(line, delim, f, n);
  for (int i = 0; i < n; i++) f[i] = trim(f[i]);
  r->delim = delim; /* each file CSV or TSV */
  if (!r->names) {  /* the first file's header names the features */
    r->D = n;
    r->names = xmalloc((size_t)n * sizeof(char *));
    for (int i = 0; i < n; i++) {
      if (!*f[i])
        recur_fail(where, "the first row names the features, one name per column",
                   "column %d has no name", i + 1);
      for (int j = 0; j < i; j++)
        if (!strcmp(f[i], r->names[j]))
          recur_fail(where, "give every column its own name", "column name '%s' repeats", f[i]);
      r->names[i] = xstrdup(f[i]);
    }
  } else {
    int same = n == r->D;
    for (int i = 0; same && i < n; i++) same = !strcmp(f[i], r->names[i]);
    if (!same)
      recur_fail(where, "give every file the same header row",
                 "the header differs from the first file's");
  }
  xfree(f);
  xfree(where);
}

static void seq_end(rprep *r) {
  if (r->steps_in_seq == 0) return;
  if (r->pass == 2) {
    h5_appender_push(&r->offs[r->cur], &r->nstep[r->cur], 1);
    r->nseq[r->cur]++;
  }
  r->seq++;
  r->steps_in_seq = 0;
}

/* the split of sequence i: a pure function of (seed, i) */
static int split_of(const rprep *r, uint64_t i) {
  double u = rng_uniform(rng_key(r->o->seed, RNG_SPLIT, i, 7, 0));
  return u < r->test ? SPLIT_TEST : u < r->test + r->val ? SPLIT_VAL : SPLIT_TRAIN;
}

static void data_row(rprep *r, char *line, const char *path, uint64_t lineno, char **f) {
  int n = split_fields(line, r->delim, f, r->D);
  if (n != r->D) {
    char *where = core_path("%s:line %llu", path, (unsigned long long)lineno);
    recur_fail(where, "give every row one number per column of the header",
               "%d fields, the header has %d", n, r->D);
  }
  if (r->steps_in_seq == 0 && r->pass == 2) r->cur = split_of(r, r->seq);
  for (int i = 0; i < n; i++) {
    char *s = trim(f[i]), *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v) || !isfinite((float)v)) {
      char *where =
          core_path("%s:line %llu, column %s", path, (unsigned long long)lineno, r->names[i]);
      recur_fail(where, "give finite numbers (a blank line ends a sequence)",
                 !*s || *end ? "'%s' is not a number" : "'%s' is not a finite float32 number", s);
    }
    r->row[i] = (float)v;
  }
  r->steps_in_seq++;
  if (r->pass != 2) return;
  h5_appender_push(&r->vals[r->cur], r->row, 1);
  r->nstep[r->cur]++;
  if (r->cur == SPLIT_TRAIN)
    for (int i = 0; i < r->D; i++) {
      r->sum[i] += r->row[i];
      r->sum2[i] += (double)r->row[i] * r->row[i];
    }
}

static void pass_over(rprep *r, char **files, int nf) {
  char **f = NULL;
  for (int k = 0; k < nf; k++) {
    const char *path = prep_input_name(files[k]);
    FILE *in = xfopen(files[k], "rb");
    if (!in) recur_fail(path, NULL, "cannot open input: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t lineno = 0;
    while ((got = getline(&line, &cap, in)) > 0) {
      lineno++;
      while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
      if (lineno == 1) {
        header(r, line, path);
        if (!f) f = xmalloc((size_t)r->D * sizeof(char *));
        if (!r->row) r->row = xmalloc((size_t)r->D * sizeof(float));
        continue;
      }
      if (!*trim(line)) { /* a blank line ends the sequence */
        seq_end(r);
        continue;
      }
      data_row(r, line, path, lineno, f);
    }
    if (lineno == 0) recur_fail(path, "give a header row naming the features", "empty input");
    seq_end(r); /* a new file starts a new sequence */
    xfree(line);
    xfclose(in);
  }
  xfree(f);
}

float *prepare_real_read(const char *path, char *const *names, int D, int64_t *n) {
  rprep rr = {.pass = 1}, *r = &rr;
  FILE *in = xfopen(path, "rb");
  if (!in) recur_fail(path, NULL, "cannot open: %s", strerror(errno));
  char *line = NULL, **f = NULL;
  size_t cap = 0;
  ssize_t got;
  uint64_t lineno = 0;
  float *out = NULL;
  *n = 0;
  while ((got = getline(&line, &cap, in)) > 0) {
    lineno++;
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
    if (lineno == 1) {
      header(r, line, path);
      int same = r->D == D;
      for (int i = 0; same && i < D; i++) same = !strcmp(r->names[i], names[i]);
      if (!same) {
        char *where = core_path("%s:line 1", path);
        recur_fail(where, "give the features the model was trained on, in its order",
                   "the header differs from the model's features");
      }
      f = xmalloc((size_t)D * sizeof(char *));
      r->row = xmalloc((size_t)D * sizeof(float));
      continue;
    }
    if (!*trim(line)) {
      if (*n > 0) break; /* the first sequence only */
      continue;
    }
    data_row(r, line, path, lineno, f);
    out = xrealloc(out, (size_t)(*n + 1) * (size_t)D * sizeof(float));
    memcpy(out + *n * D, r->row, (size_t)D * sizeof(float));
    (*n)++;
  }
  if (lineno == 0) recur_fail(path, "give a header row naming the features", "empty input");
  xfree(line);
  xfree(f);
  xfree(r->row);
  for (int i = 0; i < r->D; i++) xfree(r->names[i]);
  xfree(r->names);
  xfclose(in);
  return out;
}

void prep_real_run(const prepare_opts *o, char **files, int nf) {
  if (o->task != TASK_LM && o->task != TASK_FORECAST)
    recur_usage_fail("real-valued sequences are prepared for forecasting for now",
                     "--level real takes --task forecast, not %s", task_names[o->task]);
  rprep rr = {.o = o, .pass = 1}, *r = &rr;
  pass_over(r, files, nf);
  r->n_seq = r->seq;
  if (r->n_seq == 0)
    recur_fail(nf == 1 ? prep_input_name(files[0]) : o->inputs[0],
               "give rows of numbers under the header", "no sequence found");
  r->val = o->val_given ? o->val : r->n_seq >= PREPARE_VAL_MIN_SEQ ? o->val : 0;
  r->test = o->test;
  /* pass 2: write under a temporary name */
  char *tmp = core_path("%s.tmp-%d", o->out, (int)getpid());
  hid_t fo =
      h5_create(tmp, "output file", "check that the output directory exists and is writable");
  core_tempfile_add(tmp);
  h5_attr_set_str(fo, "format", DATASET_FORMAT);
  h5_attr_set_str(fo, "recur_version", recur_version());
  h5_attr_set_i64(fo, "version", DATASET_VERSION);
  h5_attr_set_str(fo, "level", ds_level_names[LEVEL_REAL]);
  h5_attr_set_str(fo, "split_on", "line");
  h5_attr_set_str(fo, "task", task_names[TASK_FORECAST]);
  h5_attr_set_i64(fo, "vocab_size", 0);
  h5_attr_set_i64(fo, "n_features", r->D);
  h5_attr_set_i64(fo, "seed", (int64_t)o->seed);
  h5_write_strings(fo, "feature_names", r->names, r->D);
  hid_t g[SPLIT_COUNT];
  const uint64_t zero = 0;
  for (int k = 0; k < SPLIT_COUNT; k++) {
    g[k] = H5Gcreate2(fo, ds_split_names[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5_appender_open_rows(&r->vals[k], g[k], "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                          sizeof(float), (uint64_t)r->D, 4096, tmp);
    h5_appender_open(&r->offs[k], g[k], "offsets", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 8192, tmp);
    h5_appender_push(&r->offs[k], &zero, 1);
  }
  r->sum = xcalloc((size_t)r->D, sizeof(double));
  r->sum2 = xcalloc((size_t)r->D, sizeof(double));
  r->pass = 2;
  r->seq = 0;
  pass_over(r, files, nf);
  for (int k = 0; k < SPLIT_COUNT; k++) {
    h5_appender_close(&r->vals[k]);
    h5_appender_close(&r->offs[k]);
    h5_attr_set_i64(g[k], "n_sequences", (int64_t)r->nseq[k]);
    h5_attr_set_i64(g[k], "n_tokens", (int64_t)r->nstep[k]); /* time steps */
    H5Gclose(g[k]);
  }
  if (r->nstep[SPLIT_TRAIN] == 0)
    recur_fail(o->out, "lower --val and --test", "the train split is empty");
  /* the training split's per-feature statistics (a constant feature gets std 1) */
  double *mean = xmalloc((size_t)r->D * sizeof(double)),
         *sd = xmalloc((size_t)r->D * sizeof(double));
  const double n = (double)r->nstep[SPLIT_TRAIN];
  for (int i = 0; i < r->D; i++) {
    mean[i] = r->sum[i] / n;
    double var = r->sum2[i] / n - mean[i] * mean[i];
    sd[i] = var > 1e-12 * (1 + mean[i] * mean[i]) ? sqrt(var) : 1.0;
  }
  hsize_t dims[1] = {(hsize_t)r->D};
  h5_write_array(fo, "feature_mean", H5T_IEEE_F64LE, 1, dims, mean);
  h5_write_array(fo, "feature_std", H5T_IEEE_F64LE, 1, dims, sd);
  h5_close_file(fo, tmp);
  core_commit(tmp, o->out);
  if (!o->quiet)
    printf("wrote %s: real level, %d features, train %llu seq / %llu steps, val %llu / %llu, test "
           "%llu / %llu\n",
           o->out, r->D, (unsigned long long)r->nseq[0], (unsigned long long)r->nstep[0],
           (unsigned long long)r->nseq[1], (unsigned long long)r->nstep[1],
           (unsigned long long)r->nseq[2], (unsigned long long)r->nstep[2]);
  xfree(tmp);
  xfree(mean);
  xfree(sd);
  xfree(r->sum);
  xfree(r->sum2);
  xfree(r->row);
  for (int i = 0; i < r->D; i++) xfree(r->names[i]);
  xfree(r->names);
}

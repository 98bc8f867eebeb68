/* prepare_real: real-valued sequences (--level real) -> dataset. Inputs are CSV or TSV files of
 * numbers, one row per time step and one column per feature, a header row naming the features (the
 * same in every file); a blank line or a new file starts a new sequence. Two passes: the first
 * checks every number and counts the sequences, the second writes float32 `values` (steps,
 * features) and `offsets` per split and the training split's per-feature mean and standard
 * deviation. Any bad number is a one-line error naming file, line and column; nothing is written.
 * --label-column NAME (classify) takes each sequence's label from a column (the same on every row
 * of the sequence), --tag-column NAME (tag) each step's tag; that column is not a feature, and the
 * names it holds are numbered in sorted order (labels or tags per split, label_names/tag_names).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <unistd.h>

#include "prepare-impl.h"

#define REAL_MAX_NAMES 65536 /* distinct labels or tags */

typedef struct {
  const prepare_opts *o;
  char **names; /* (D) feature names, from the first file's header */
  int D;
  char **cols; /* (n_cols) every column of the first file's header */
  int n_cols;
  int ocol;            /* the label or tag column (-1: none) */
  unsigned char *skip; /* (n_cols) columns left unread (prepare_real_read), or NULL */
  int task;            /* TASK_FORECAST, TASK_CLASSIFY or TASK_TAG */
  /* label or tag names, sorted and unique (pass 1 collects them, pass 2 numbers them) */
  char **onames;
  int n_onames;
  char *seq_label; /* classify: the label of the sequence being read */
  uint32_t out_id; /* pass 2: the label (or tag) id of the row just read */
  char delim;
  uint64_t n_seq, seq, steps_in_seq;
  int pass;
  double val, test;
  /* pass 2 */
  h5_appender vals[SPLIT_COUNT], offs[SPLIT_COUNT], outs[SPLIT_COUNT];
  uint64_t nstep[SPLIT_COUNT], nseq[SPLIT_COUNT];
  int cur; /* the split of the sequence being written */
  double *sum, *sum2;
  float *row;
} rprep;

/* a file's header: the first one names the columns (and which is the label or tag column), every
 * later one must be the same */
static void header(rprep *r, char *line, const char *path) {
  char *where = core_path("%s:line 1", path);
  int n = 0;
  char **f = csv_header(line, &n, &r->delim); /* each file CSV or TSV */
  if (!r->cols) {                             /* the first file's header names the features */
    const char *want = r->o ? (r->o->label_column ? r->o->label_column : r->o->tag_column) : NULL;
    csv_check_names(f, n, where);
    r->n_cols = n;
    r->cols = xmalloc((size_t)n * sizeof(char *));
    r->names = xmalloc((size_t)n * sizeof(char *));
    r->ocol = -1;
    for (int i = 0; i < n; i++) {
      r->cols[i] = xstrdup(f[i]);
      if (want && !strcmp(f[i], want))
        r->ocol = i;
      else
        r->names[r->D++] = r->cols[i];
    }
    if (want && r->ocol < 0)
      recur_fail(where, "name a column of the header",
                 "no column '%s' (--label-column/--tag-column)", want);
    if (r->D == 0) recur_fail(where, "give at least one column of numbers", "no feature column");
  } else {
    int same = n == r->n_cols;
    for (int i = 0; same && i < n; i++) same = !strcmp(f[i], r->cols[i]);
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
    if (task_is(r->task)->pooled) h5_appender_push(&r->outs[r->cur], &r->out_id, 1);
    r->nseq[r->cur]++;
  }
  r->seq++;
  r->steps_in_seq = 0;
  xfree(r->seq_label);
  r->seq_label = NULL;
}

static void rprep_free(rprep *r) {
  for (int i = 0; i < r->n_cols; i++) xfree(r->cols[i]);
  xfree(r->cols);
  xfree(r->names); /* its entries are cols' */
  for (int i = 0; i < r->n_onames; i++) xfree(r->onames[i]);
  xfree(r->onames);
  xfree(r->seq_label);
  xfree(r->skip);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the label or tag column's value s of a row: kept (pass 1: a new name joins the sorted set) and
 * numbered (pass 2) */
static void out_value(rprep *r, const char *s, const char *path, uint64_t lineno) {
  char *where = NULL;
  if (!*s) {
    where =
        core_path("%s:line %llu, column %s", path, (unsigned long long)lineno, r->cols[r->ocol]);
    recur_fail(where, "give every row its label or tag", "empty");
  }
  if (task_is(r->task)->pooled) { /* one label per sequence */
    if (r->seq_label && strcmp(r->seq_label, s) != 0) {
      where =
          core_path("%s:line %llu, column %s", path, (unsigned long long)lineno, r->cols[r->ocol]);
      recur_fail(where, "give a sequence one label (a blank line starts the next sequence)",
                 "'%s' after '%s' in the same sequence", s, r->seq_label);
    }
    if (r->seq_label) return;
    r->seq_label = xstrdup(s);
  }
  char **hit =
      r->n_onames ? bsearch(&s, r->onames, (size_t)r->n_onames, sizeof(char *), cmp_str) : NULL;
  if (r->pass == 2) {
    RECUR_ASSERT(hit != NULL);
    r->out_id = (uint32_t)(hit - r->onames);
    return;
  }
  if (hit) return;
  if (r->n_onames == REAL_MAX_NAMES) {
    where =
        core_path("%s:line %llu, column %s", path, (unsigned long long)lineno, r->cols[r->ocol]);
    recur_fail(where, "is it a column of numbers? --label-column/--tag-column name classes",
               "more than %d different values", REAL_MAX_NAMES);
  }
  int at = 0; /* insert in order */
  while (at < r->n_onames && strcmp(r->onames[at], s) < 0) at++;
  r->onames = xrealloc(r->onames, (size_t)(r->n_onames + 1) * sizeof(char *));
  memmove(r->onames + at + 1, r->onames + at, (size_t)(r->n_onames - at) * sizeof(char *));
  r->onames[at] = xstrdup(s);
  r->n_onames++;
}

/* the split of sequence i: a pure function of (seed, i) */
static int split_of(const rprep *r, uint64_t i) {
  double u = rng_uniform(rng_key(r->o->seed, RNG_SPLIT, i, 7, 0));
  return u < r->test ? SPLIT_TEST : u < r->test + r->val ? SPLIT_VAL : SPLIT_TRAIN;
}

static void data_row(rprep *r, char *line, const char *path, uint64_t lineno, char **f) {
  int n = csv_fields(line, r->delim, f, r->n_cols);
  if (n != r->n_cols) {
    char *where = core_path("%s:line %llu", path, (unsigned long long)lineno);
    recur_fail(where, "give every row one value per column of the header",
               "%d fields, the header has %d", n, r->n_cols);
  }
  if (r->steps_in_seq == 0 && r->pass == 2) r->cur = split_of(r, r->seq);
  for (int i = 0, j = 0; i < n; i++) {
    char *s = csv_trim(f[i]);
    if (r->skip && r->skip[i]) continue;
    if (i == r->ocol) {
      out_value(r, s, path, lineno);
      continue;
    }
    r->row[j++] = csv_num(s, path, lineno, r->cols[i]);
  }
  r->steps_in_seq++;
  if (r->pass != 2) return;
  if (task_is(r->task)->tags) h5_appender_push(&r->outs[r->cur], &r->out_id, 1);
  h5_appender_push(&r->vals[r->cur], r->row, 1);
  r->nstep[r->cur]++;
  if (r->cur == SPLIT_TRAIN) prep_stats_add(r->sum, r->sum2, r->row, r->D);
}

static void pass_over(rprep *r, char **files, int nf) {
  char **f = NULL;
  for (int k = 0; k < nf; k++) {
    const char *path = prep_input_name(files[k]);
    csv_lines L;
    csv_open(&L, files[k], path);
    char *line;
    while ((line = csv_next(&L))) {
      const uint64_t lineno = L.lineno;
      if (lineno == 1) {
        header(r, line, path);
        if (!f) f = xmalloc((size_t)r->n_cols * sizeof(char *));
        if (!r->row) r->row = xmalloc((size_t)r->D * sizeof(float));
        continue;
      }
      if (!*csv_trim(line)) { /* a blank line ends the sequence */
        seq_end(r);
        continue;
      }
      data_row(r, line, path, lineno, f);
    }
    csv_close(&L, path, "give a header row naming the features");
    seq_end(r); /* a new file starts a new sequence */
  }
  xfree(f);
}

float *prepare_real_read(const char *path, char *const *names, int D, int64_t *n, int64_t **seq_off,
                         int64_t *n_seq) {
  rprep rr = {.pass = 1, .ocol = -1}, *r = &rr;
  csv_lines L;
  csv_open(&L, path, path);
  char *line, **f = NULL;
  float *out = NULL;
  int64_t cap_rows = 0;
  int *pos = xmalloc((size_t)D * sizeof(int)); /* feature i: its place among the parsed columns */
  int64_t *off = xmalloc(sizeof(int64_t)), ns = 0;
  off[0] = 0;
  *n = 0;
  while ((line = csv_next(&L))) {
    const uint64_t lineno = L.lineno;
    if (lineno == 1) { /* the model's features by name, in any order; other columns ignored */
      header(r, line, path);
      r->skip = xcalloc((size_t)r->n_cols, 1);
      for (int c = 0; c < r->n_cols; c++) r->skip[c] = 1;
      for (int i = 0; i < D; i++) {
        int c = 0;
        while (c < r->n_cols && strcmp(r->cols[c], names[i]) != 0) c++;
        if (c == r->n_cols) {
          char *where = core_path("%s:line 1", path);
          recur_fail(where, "give the features the model was trained on (any order)",
                     "no column '%s'", names[i]);
        }
        r->skip[c] = 0;
      }
      for (int i = 0; i < D; i++) { /* parsed columns keep their order */
        pos[i] = 0;
        for (int c = 0; c < r->n_cols && strcmp(r->cols[c], names[i]) != 0; c++)
          pos[i] += !r->skip[c];
      }
      f = xmalloc((size_t)r->n_cols * sizeof(char *));
      r->row = xmalloc((size_t)D * sizeof(float));
      continue;
    }
    if (!*csv_trim(line)) { /* a blank line ends a sequence */
      if (*n > off[ns]) {
        off = xrealloc(off, (size_t)(++ns + 1) * sizeof(int64_t));
        off[ns] = *n;
      }
      continue;
    }
    data_row(r, line, path, lineno, f);
    if (*n == cap_rows) { /* room doubles */
      cap_rows = cap_rows ? 2 * cap_rows : 256;
      out = xrealloc(out, (size_t)cap_rows * (size_t)D * sizeof(float));
    }
    for (int i = 0; i < D; i++) out[*n * D + i] = r->row[pos[i]];
    (*n)++;
  }
  csv_close(&L, path, "give a header row naming the features");
  if (*n > off[ns]) {
    off = xrealloc(off, (size_t)(++ns + 1) * sizeof(int64_t));
    off[ns] = *n;
  }
  *seq_off = off;
  *n_seq = ns;
  xfree(pos);
  xfree(f);
  xfree(r->row);
  rprep_free(r);
  return out;
}

void prep_real_run(const prepare_opts *o, char **files, int nf) {
  rprep rr = {.o = o, .pass = 1, .task = TASK_FORECAST}, *r = &rr;
  if (o->label_column && o->tag_column)
    recur_usage_fail("a sequence has a label (classify) or its steps have tags (tag)",
                     "give --label-column or --tag-column, not both");
  if (o->label_column || o->tag_column) {
    r->task = o->label_column ? TASK_CLASSIFY : TASK_TAG;
    if (o->task != TASK_LM && (int)o->task != r->task)
      recur_usage_fail(NULL, "%s goes with --task %s, not --task %s",
                       o->label_column ? "--label-column" : "--tag-column", task_names[r->task],
                       task_names[o->task]);
  } else if (task_is(o->task)->pooled || task_is(o->task)->tags) {
    recur_usage_fail("for example --label-column activity",
                     "--task %s on real-valued sequences takes its %s from a column: give %s NAME",
                     task_names[o->task], task_is(o->task)->pooled ? "labels" : "tags",
                     task_is(o->task)->pooled ? "--label-column" : "--tag-column");
  } else if (o->task != TASK_LM && !task_is(o->task)->frames) {
    recur_usage_fail("real-valued sequences are for forecast, classify or tag",
                     "--level real takes --task forecast, classify or tag, not %s",
                     task_names[o->task]);
  }
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
  h5_attr_set_str(fo, "task", task_names[r->task]);
  h5_attr_set_i64(fo, "vocab_size", 0);
  h5_attr_set_i64(fo, "n_features", r->D);
  h5_attr_set_i64(fo, "seed", (int64_t)o->seed);
  h5_write_strings(fo, "feature_names", r->names, r->D);
  const int cls = task_is(r->task)->pooled;
  if (!task_is(r->task)
           ->frames) { /* the names of the labels (tags) and the column they came from */
    h5_attr_set_i64(fo, cls ? "n_labels" : "n_tags", r->n_onames);
    h5_write_strings(fo, cls ? "label_names" : "tag_names", r->onames, r->n_onames);
    h5_attr_set_str(fo, cls ? "label_column" : "tag_column", r->cols[r->ocol]);
  }
  hid_t ot = r->n_onames <= 256 ? H5T_STD_U8LE : H5T_STD_U16LE;
  hid_t g[SPLIT_COUNT];
  const uint64_t zero = 0;
  for (int k = 0; k < SPLIT_COUNT; k++) {
    g[k] = H5Gcreate2(fo, ds_split_names[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5_appender_open_rows(&r->vals[k], g[k], "values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                          sizeof(float), (uint64_t)r->D, 4096, tmp);
    h5_appender_open(&r->offs[k], g[k], "offsets", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 8192, tmp);
    h5_appender_push(&r->offs[k], &zero, 1);
    if (!task_is(r->task)->frames)
      h5_appender_open(&r->outs[k], g[k], cls ? "labels" : "tags", ot, H5T_NATIVE_UINT32, 4,
                       cls ? 8192 : 4096, tmp);
  }
  r->sum = xcalloc((size_t)r->D, sizeof(double));
  r->sum2 = xcalloc((size_t)r->D, sizeof(double));
  r->pass = 2;
  r->seq = 0;
  pass_over(r, files, nf);
  for (int k = 0; k < SPLIT_COUNT; k++) {
    h5_appender_close(&r->vals[k]);
    h5_appender_close(&r->offs[k]);
    if (!task_is(r->task)->frames) h5_appender_close(&r->outs[k]);
    h5_attr_set_i64(g[k], "n_sequences", (int64_t)r->nseq[k]);
    h5_attr_set_i64(g[k], "n_tokens", (int64_t)r->nstep[k]); /* time steps */
    H5Gclose(g[k]);
  }
  if (r->nstep[SPLIT_TRAIN] == 0)
    recur_fail(o->out, "lower --val and --test", "the train split is empty");
  prep_stats_write(fo, "feature_mean", "feature_std", r->sum, r->sum2, r->nstep[SPLIT_TRAIN], r->D);
  h5_close_file(fo, tmp);
  core_commit(tmp, o->out);
  if (!o->quiet)
    printf("wrote %s: real level, %d features%s%s%s, train %llu seq / %llu steps, val %llu / %llu, "
           "test "
           "%llu / %llu\n",
           o->out, r->D, task_is(r->task)->frames ? "" : ", ",
           task_is(r->task)->frames ? "" : r->cols[r->ocol],
           task_is(r->task)->pooled ? " labels"
           : task_is(r->task)->tags ? " tags"
                                    : "",
           (unsigned long long)r->nseq[0], (unsigned long long)r->nstep[0],
           (unsigned long long)r->nseq[1], (unsigned long long)r->nstep[1],
           (unsigned long long)r->nseq[2], (unsigned long long)r->nstep[2]);
  xfree(tmp);
  xfree(r->sum);
  xfree(r->sum2);
  xfree(r->row);
  rprep_free(r);
}

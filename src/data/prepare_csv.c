/* prepare_csv: CSV and TSV reading shared by --level real (prepare_real.c) and --cond-features
 * (prepare_cond.c): lines without their ends, fields split at the header's delimiter, numbers as
 * finite float32 or one-line errors naming file, line and column; and the per-feature statistics
 * (mean, standard deviation) both write of their training rows. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>

#include "prepare-impl.h"
#include "recur/infile.h"

void csv_open(csv_lines *L, const char *file, const char *path) {
  memset(L, 0, sizeof *L);
  L->in = infile_open(file); /* gzip, xz or zstd too */
  if (!L->in) recur_fail(path, NULL, "cannot open: %s", strerror(errno));
}

char *csv_next(csv_lines *L) {
  ssize_t got = getline(&L->line, &L->cap, L->in);
  if (got <= 0) return NULL;
  L->lineno++;
  while (got > 0 && (L->line[got - 1] == '\n' || L->line[got - 1] == '\r')) L->line[--got] = 0;
  return L->line;
}

void csv_close(csv_lines *L, const char *path, const char *hint) {
  if (L->lineno == 0) recur_fail(path, hint, "empty input");
  xfree(L->line);
  xfclose(L->in);
}

int csv_fields(char *line, char delim, char **f, int cap) {
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

char *csv_trim(char *s) {
  while (*s == ' ') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r')) s[--n] = 0;
  return s;
}

float csv_num(const char *s, const char *path, uint64_t lineno, const char *col) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || !isfinite(v) || !isfinite((float)v)) {
    char *where = core_path("%s:line %llu, column %s", path, (unsigned long long)lineno, col);
    recur_fail(where, "give finite numbers (a blank line ends a sequence)",
               !*s || *end ? "'%s' is not a number" : "'%s' is not a finite float32 number", s);
  }
  return (float)v;
}

char **csv_header(char *line, int *n, char *delim) {
  *delim = strchr(line, '\t') ? '\t' : ',';
  int k = 1;
  for (const char *p = line; *p; p++) k += *p == *delim;
  char **f = xmalloc((size_t)k * sizeof(char *));
  csv_fields(line, *delim, f, k);
  for (int i = 0; i < k; i++) f[i] = csv_trim(f[i]);
  *n = k;
  return f;
}

void csv_check_names(char *const *f, int n, const char *where) {
  for (int i = 0; i < n; i++) {
    if (!*f[i])
      recur_fail(where, "the first row names the features, one name per column",
                 "column %d has no name", i + 1);
    for (int j = 0; j < i; j++)
      if (!strcmp(f[i], f[j]))
        recur_fail(where, "give every column its own name", "column name '%s' repeats", f[i]);
  }
}

void prep_stats_add(double *sum, double *sum2, const float *row, int D) {
  for (int i = 0; i < D; i++) {
    sum[i] += row[i];
    sum2[i] += (double)row[i] * row[i];
  }
}

void prep_stats_write(hid_t f, const char *mean_name, const char *std_name, const double *sum,
                      const double *sum2, uint64_t n_rows, int D) {
  double *mean = xmalloc((size_t)D * sizeof(double)), *sd = xmalloc((size_t)D * sizeof(double));
  const double n = n_rows > 0 ? (double)n_rows : 1.0;
  for (int i = 0; i < D; i++) { /* a constant feature gets std 1 */
    mean[i] = sum[i] / n;
    const double var = sum2[i] / n - mean[i] * mean[i];
    sd[i] = var > 1e-12 * (1 + mean[i] * mean[i]) ? sqrt(var) : 1.0;
  }
  hsize_t dims[1] = {(hsize_t)D};
  h5_write_array(f, mean_name, H5T_IEEE_F64LE, 1, dims, mean);
  h5_write_array(f, std_name, H5T_IEEE_F64LE, 1, dims, sd);
  xfree(mean);
  xfree(sd);
}

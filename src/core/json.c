/* json: a streaming writer; the caller states the structure, the writer the punctuation. */
#include "recur/json.h"

#include <math.h>

#include "recur/core.h"

void json_init(json_writer *j, FILE *f) {
  j->f = f;
  j->depth = 0;
  j->n[0] = 0;
}

void json_write_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p == '\r')
      fputs("\\r", f);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void put_key(json_writer *j, const char *k) {
  if (j->n[j->depth]++ > 0) fputc(',', j->f);
  if (k) {
    json_write_string(j->f, k);
    fputc(':', j->f);
  }
}

static void container_begin(json_writer *j, const char *k, char c) {
  put_key(j, k);
  fputc(c, j->f);
  RECUR_ASSERT(j->depth + 1 < JSON_MAX_DEPTH);
  j->n[++j->depth] = 0;
}

static void container_end(json_writer *j, char c) {
  RECUR_ASSERT(j->depth > 0);
  j->depth--;
  fputc(c, j->f);
  if (j->depth == 0) {
    fputc('\n', j->f);
    j->n[0] = 0;
  }
}

void json_object_begin(json_writer *j, const char *k) { container_begin(j, k, '{'); }
void json_object_end(json_writer *j) { container_end(j, '}'); }
void json_array_begin(json_writer *j, const char *k) { container_begin(j, k, '['); }
void json_array_end(json_writer *j) { container_end(j, ']'); }

void json_num(json_writer *j, const char *k, double x) {
  put_key(j, k);
  if (isfinite(x))
    fprintf(j->f, "%.9g", x);
  else
    fputs("null", j->f);
}

void json_int(json_writer *j, const char *k, int64_t x) {
  put_key(j, k);
  fprintf(j->f, "%lld", (long long)x);
}

void json_str(json_writer *j, const char *k, const char *s) {
  put_key(j, k);
  json_write_string(j->f, s);
}

void json_bool(json_writer *j, const char *k, int b) {
  put_key(j, k);
  fputs(b ? "true" : "false", j->f);
}

void json_null(json_writer *j, const char *k) {
  put_key(j, k);
  fputs("null", j->f);
}

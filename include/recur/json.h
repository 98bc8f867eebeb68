/* json: one writer for every JSON recur prints (metrics.jsonl, --json outputs, inspect): strings
 * escaped, non-finite numbers as null, commas placed by the writer. Keys are NULL inside arrays
 * and at the top level. */
#ifndef RECUR_JSON_H
#define RECUR_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct {
  FILE *f;
  int depth;
  int n[JSON_MAX_DEPTH]; /* values written at each depth */
} json_writer;

void json_init(json_writer *j, FILE *f);
void json_object_begin(json_writer *j, const char *key);
void json_object_end(json_writer *j); /* at depth 0 also ends the line */
void json_array_begin(json_writer *j, const char *key);
void json_array_end(json_writer *j);
void json_num(json_writer *j, const char *key, double x); /* %.9g; null if not finite */
void json_int(json_writer *j, const char *key, int64_t x);
void json_str(json_writer *j, const char *key, const char *s);
void json_bool(json_writer *j, const char *key, int b);
void json_null(json_writer *j, const char *key);
/* s as a JSON string literal (quoted, escaped) */
void json_write_string(FILE *f, const char *s);

#endif

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
/* s as a JSON string literal (quoted, escaped) */
void json_write_string(FILE *f, const char *s);

/* ---- reading: one JSON text into a tree (what recur reads back: metrics.jsonl lines) ---- */
typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } json_type;
typedef struct json_value {
  json_type type;
  double num;               /* JSON_NUM, JSON_BOOL (0 or 1) */
  char *str;                /* JSON_STR (UTF-8, NUL-terminated; \u0000 is refused) */
  int n;                    /* JSON_ARR, JSON_OBJ: members */
  char **keys;              /* JSON_OBJ: n keys */
  struct json_value *items; /* JSON_ARR, JSON_OBJ: n values */
} json_value;
/* Parse text[0..len) (one value, whitespace around it) into *v. Returns 0, or -1 with a reason
 * and the byte offset in err (v is then empty). Nesting deeper than JSON_MAX_DEPTH is an error. */
int json_parse(const char *text, size_t len, json_value *v, char *err, size_t cap);
void json_value_free(json_value *v);
/* Member key of an object (NULL if absent or v is not an object). */
const json_value *json_get(const json_value *v, const char *key);
/* Member key as a number: dflt when absent, null or not a number. */
double json_get_num(const json_value *v, const char *key, double dflt);

#endif

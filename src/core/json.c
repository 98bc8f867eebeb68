/* json: a streaming writer; the caller states the structure, the writer the punctuation. */
#include "recur/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

void json_init(json_writer *j, FILE *f) {
  j->f = f;
  j->depth = 0;
  j->n[0] = 0;
}

/* bytes of the well-formed UTF-8 character at p (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), 0 when p does not start one */
static int utf8_len(const unsigned char *p) {
  const unsigned c = p[0];
  int n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (c >= 0xF5) n = 0;
  for (int k = 1; k < n; k++)
    if ((p[k] & 0xC0) != 0x80) return 0;
  if (n == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))) return 0;
  if (n == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))) return 0;
  return n;
}

/* A JSON string: escapes, and U+FFFD for each byte that is not part of well-formed UTF-8 (a
 * byte-level model's sample may hold any bytes; JSON text must be Unicode) */
void json_write_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p >= 0x80) {
      const int n = utf8_len(p);
      if (n == 0) {
        fputs("\\ufffd", f);
      } else {
        fwrite(p, 1, (size_t)n, f);
        p += n - 1;
      }
    } else if (*p == '"' || *p == '\\')
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

/* ---- reading ---- */
typedef struct {
  const char *p, *end, *start;
  char *err;
  size_t cap;
  int failed;
} reader;

static void rd_fail(reader *r, const char *what) {
  if (!r->failed) snprintf(r->err, r->cap, "%s at byte %zu", what, (size_t)(r->p - r->start));
  r->failed = 1;
}

static void rd_space(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int rd_lit(reader *r, const char *lit) {
  size_t n = strlen(lit);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0) return 0;
  r->p += n;
  return 1;
}

static int hex4(const char *p, unsigned *u) {
  *u = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    *u = *u * 16 + (unsigned)d;
  }
  return 0;
}

static char *rd_string(reader *r) {
  r->p++; /* the opening quote */
  size_t cap = 16, n = 0;
  char *s = xmalloc(cap);
  while (r->p < r->end && *r->p != '"') {
    unsigned u = (unsigned char)*r->p++;
    int code_point = 0; /* u is a \\u code point to encode, not a byte */
    if (u < 0x20) return xfree(s), rd_fail(r, "control character in a string"), NULL;
    if (u == '\\') {
      if (r->p >= r->end) break;
      char e = *r->p++;
      const char *simple = strchr("\"\\/bfnrt", e);
      if (simple && e) {
        u = (unsigned char)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
      } else if (e == 'u') {
        if (r->end - r->p < 4 || hex4(r->p, &u) != 0)
          return xfree(s), rd_fail(r, "bad \\u escape"), NULL;
        r->p += 4;
        code_point = 1;
        if (u >= 0xd800 && u < 0xdc00) { /* a surrogate pair */
          unsigned lo;
          if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) != 0 ||
              lo < 0xdc00 || lo >= 0xe000)
            return xfree(s), rd_fail(r, "bad surrogate pair"), NULL;
          r->p += 6;
          u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        } else if (u >= 0xdc00 && u < 0xe000) {
          return xfree(s), rd_fail(r, "bad surrogate pair"), NULL;
        }
        if (u == 0) return xfree(s), rd_fail(r, "\\u0000 in a string"), NULL;
      } else {
        return xfree(s), rd_fail(r, "bad escape"), NULL;
      }
    }
    if (n + 5 >= cap) s = xrealloc(s, cap *= 2);
    if (!code_point || u < 0x80) {
      s[n++] = (char)u; /* a byte as it stands (UTF-8 passes through) */
    } else if (u < 0x800) {
      s[n++] = (char)(0xc0 | (u >> 6));
      s[n++] = (char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
      s[n++] = (char)(0xe0 | (u >> 12));
      s[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
      s[n++] = (char)(0x80 | (u & 0x3f));
    } else {
      s[n++] = (char)(0xf0 | (u >> 18));
      s[n++] = (char)(0x80 | ((u >> 12) & 0x3f));
      s[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
      s[n++] = (char)(0x80 | (u & 0x3f));
    }
  }
  if (r->p >= r->end) return xfree(s), rd_fail(r, "unterminated string"), NULL;
  r->p++;
  s[n] = 0;
  return s;
}

static void rd_value(reader *r, json_value *v, int depth);

static void rd_members(reader *r, json_value *v, int depth, char close) {
  int cap = 0;
  r->p++;
  rd_space(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    return;
  }
  for (;;) {
    char *key = NULL;
    if (close == '}') {
      rd_space(r);
      if (r->p >= r->end || *r->p != '"') return rd_fail(r, "expected a key");
      if (!(key = rd_string(r))) return;
      rd_space(r);
      if (r->p >= r->end || *r->p != ':') return xfree(key), rd_fail(r, "expected ':'");
      r->p++;
    }
    if (v->n == cap) {
      cap = cap ? cap * 2 : 4;
      v->items = xrealloc(v->items, (size_t)cap * sizeof(json_value));
      if (close == '}') v->keys = xrealloc(v->keys, (size_t)cap * sizeof(char *));
    }
    memset(&v->items[v->n], 0, sizeof(json_value));
    if (close == '}') v->keys[v->n] = key;
    v->n++;
    rd_value(r, &v->items[v->n - 1], depth + 1);
    if (r->failed) return;
    rd_space(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == close) {
      r->p++;
      return;
    }
    return rd_fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static void rd_value(reader *r, json_value *v, int depth) {
  memset(v, 0, sizeof *v);
  if (depth > JSON_MAX_DEPTH) return rd_fail(r, "nested too deeply");
  rd_space(r);
  if (r->p >= r->end) return rd_fail(r, "unexpected end");
  char c = *r->p;
  if (c == '{' || c == '[') {
    v->type = c == '{' ? JSON_OBJ : JSON_ARR;
    rd_members(r, v, depth, c == '{' ? '}' : ']');
  } else if (c == '"') {
    v->type = JSON_STR;
    v->str = rd_string(r);
  } else if (rd_lit(r, "null")) {
    v->type = JSON_NULL;
  } else if (rd_lit(r, "true") || rd_lit(r, "false")) {
    v->type = JSON_BOOL;
    v->num = r->p[-1] == 'e' && r->p[-2] == 'u';
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    char buf[64];
    size_t n = 0;
    while (r->p + n < r->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", r->p[n])) n++;
    memcpy(buf, r->p, n);
    buf[n] = 0;
    char *e;
    v->type = JSON_NUM;
    v->num = strtod(buf, &e);
    if (e != buf + n || n == 0) return rd_fail(r, "bad number");
    r->p += n;
  } else {
    rd_fail(r, "unexpected character");
  }
}

int json_parse(const char *text, size_t len, json_value *v, char *err, size_t cap) {
  reader r = {text, text + len, text, err, cap, 0};
  rd_value(&r, v, 0);
  rd_space(&r);
  if (!r.failed && r.p != r.end) rd_fail(&r, "text after the value");
  if (r.failed) {
    json_value_free(v);
    return -1;
  }
  return 0;
}

void json_value_free(json_value *v) {
  for (int i = 0; i < v->n; i++) {
    json_value_free(&v->items[i]);
    if (v->keys) xfree(v->keys[i]);
  }
  xfree(v->items);
  xfree(v->keys);
  xfree(v->str);
  memset(v, 0, sizeof *v);
}

const json_value *json_get(const json_value *v, const char *key) {
  if (!v || v->type != JSON_OBJ) return NULL;
  for (int i = 0; i < v->n; i++)
    if (!strcmp(v->keys[i], key)) return &v->items[i];
  return NULL;
}

double json_get_num(const json_value *v, const char *key, double dflt) {
  const json_value *m = json_get(v, key);
  return m && m->type == JSON_NUM ? m->num : dflt;
}

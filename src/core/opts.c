/* opts: one typed table per command gives parsing, bounds, defaults, --help and saved text. */
#include "recur/opts.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

static void *field(const opt_def *d, void *o) { return (char *)o + d->offset; }
static const void *cfield(const opt_def *d, const void *o) { return (const char *)o + d->offset; }

static const char *choice_name(const char *const *choices, int v) {
  for (int i = 0; choices[i]; i++)
    if (i == v) return choices[i];
  return "?";
}

int opts_find(const opt_table *t, const char *flag) {
  for (int i = 0; i < t->n; i++)
    if (!strcmp(t->defs[i].flag, flag) || (t->defs[i].alias && !strcmp(t->defs[i].alias, flag)))
      return i;
  return -1;
}

/* "a|b|c" */
static void join_choices(const opt_def *d, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (int k = 0; d->choices[k] && n < cap; k++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? "|" : "", d->choices[k]);
}

static int parse_i64(const char *s, int64_t *v) {
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (!*s || *end || errno) return -1;
  *v = x;
  return 0;
}

int opts_set(const opt_table *t, int i, void *o, const char *val, char *err, size_t cap) {
  const opt_def *d = &t->defs[i];
  void *p = field(d, o);
  switch (d->type) {
  case OPT_INT:
  case OPT_UINT: { /* OPT_UINT bounds are non-negative: the same parse */
    int64_t v;
    if (parse_i64(val, &v) != 0)
      return snprintf(err, cap, "%s expects an integer, got '%s'", d->flag, val), -1;
    if ((double)v < d->lo || (double)v > d->hi)
      return snprintf(err, cap, "%s must be in [%.0f, %.0f], got %lld", d->flag, d->lo, d->hi,
                      (long long)v),
             -1;
    if (d->type == OPT_UINT)
      *(uint64_t *)p = (uint64_t)v;
    else if (d->size == sizeof(int))
      *(int *)p = (int)v;
    else
      *(int64_t *)p = v;
    return 0;
  }
  case OPT_REAL: {
    char *end;
    double v = strtod(val, &end);
    if (!*val || *end) return snprintf(err, cap, "%s expects a number, got '%s'", d->flag, val), -1;
    if (!(v >= d->lo && v <= d->hi))
      return snprintf(err, cap, "%s must be in [%g, %g], got %g", d->flag, d->lo, d->hi, v), -1;
    if (d->size == sizeof(float))
      *(float *)p = (float)v;
    else
      *(double *)p = v;
    return 0;
  }
  case OPT_STR:
    xfree(*(char **)p);
    *(char **)p = xstrdup(val);
    return 0;
  case OPT_CHOICE: {
    RECUR_ASSERT(d->size == sizeof(int));
    int k = names_parse(d->choices, val);
    if (k >= 0) {
      *(int *)p = k;
      return 0;
    }
    char list[256];
    join_choices(d, list, sizeof list);
    return snprintf(err, cap, "%s must be one of %s, got '%s'", d->flag, list, val), -1;
  }
  case OPT_SWITCH:
    if (strcmp(val, "0") && strcmp(val, "1"))
      return snprintf(err, cap, "%s takes no value (or =0, =1), got '%s'", d->flag, val), -1;
    *(int *)p = val[0] == '1';
    return 0;
  case OPT_INTS: { /* "2000,10000" */
    const int max = (int)(d->size / sizeof(int));
    int n = 0, v[64];
    RECUR_ASSERT(max <= 64);
    for (const char *s = val; *s;) {
      char *end;
      errno = 0;
      long long x = strtoll(s, &end, 10);
      if (end == s || (*end && *end != ',') || errno || n == max)
        return snprintf(err, cap, "%s '%s': expected up to %d integers separated by commas",
                        d->flag, val, max),
               -1;
      if ((double)x < d->lo || (double)x > d->hi)
        return snprintf(err, cap, "%s must hold integers in [%.0f, %.0f], got %lld", d->flag, d->lo,
                        d->hi, x),
               -1;
      v[n++] = (int)x;
      s = *end ? end + 1 : end;
      if (*end && !*s) return snprintf(err, cap, "%s '%s' ends with a comma", d->flag, val), -1;
    }
    memcpy(p, v, (size_t)n * sizeof(int));
    ((int *)p)[-1] = n;
    return 0;
  }
  }
  return -1;
}

int opts_at(const opt_table *t, size_t offset) {
  for (int i = 0; i < t->n; i++)
    if (t->defs[i].offset == offset) return i;
  RECUR_ASSERT(!"an option sets this field");
  return -1;
}

void opts_default(const opt_table *t, void *o) {
  char err[512];
  for (int i = 0; i < t->n; i++) {
    const opt_def *d = &t->defs[i];
    if (d->type == OPT_STR) *(char **)field(d, o) = NULL;
    if (d->type == OPT_INTS) ((int *)field(d, o))[-1] = 0;
    if (d->def && d->def[0])
      RECUR_ASSERT(opts_set(t, i, o, d->def, err, sizeof err) == 0);
    else if (d->type == OPT_SWITCH)
      *(int *)field(d, o) = 0;
  }
}

void opts_free(const opt_table *t, void *o) {
  for (int i = 0; i < t->n; i++)
    if (t->defs[i].type == OPT_STR) {
      xfree(*(char **)field(&t->defs[i], o));
      *(char **)field(&t->defs[i], o) = NULL;
    }
}

/* a number, choice or switch as text (strings are copied whole by opts_value) */
static void format_scalar(const opt_table *t, int i, const void *o, char *buf, size_t cap) {
  const opt_def *d = &t->defs[i];
  const void *p = cfield(d, o);
  switch (d->type) {
  case OPT_INT:
    snprintf(buf, cap, "%lld",
             d->size == sizeof(int) ? (long long)*(const int *)p : (long long)*(const int64_t *)p);
    break;
  case OPT_UINT: snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p); break;
  case OPT_REAL: /* the shortest text that reads back as the same value: 0.001, not
                  0.00100000005 (a float field is compared as a float) */
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, cap, "%.*g", prec,
               d->size == sizeof(float) ? (double)*(const float *)p : *(const double *)p);
      double back = strtod(buf, NULL);
      if (d->size == sizeof(float) ? (float)back == *(const float *)p : back == *(const double *)p)
        break;
    }
    break;
  case OPT_STR: RECUR_ASSERT(0); break;
  case OPT_CHOICE: snprintf(buf, cap, "%s", choice_name(d->choices, *(const int *)p)); break;
  case OPT_SWITCH: snprintf(buf, cap, "%d", *(const int *)p); break;
  case OPT_INTS: {
    size_t n = 0;
    buf[0] = 0;
    for (int k = 0, m = ((const int *)p)[-1]; k < m && n < cap; k++)
      n += (size_t)snprintf(buf + n, cap - n, "%s%d", k ? "," : "", ((const int *)p)[k]);
    break;
  }
  }
}

char *opts_value(const opt_table *t, int i, const void *o) {
  if (t->defs[i].type == OPT_STR) {
    const char *v = *(char *const *)cfield(&t->defs[i], o);
    return xstrdup(v ? v : "");
  }
  char buf[1024];
  format_scalar(t, i, o, buf, sizeof buf);
  return xstrdup(buf);
}

void opts_copy(const opt_table *t, int i, void *dst, const void *src) {
  const opt_def *d = &t->defs[i];
  if (d->type == OPT_STR) {
    const char *from = *(char *const *)cfield(d, src);
    xfree(*(char **)field(d, dst));
    *(char **)field(d, dst) = from ? xstrdup(from) : NULL;
  } else {
    memcpy(field(d, dst), cfield(d, src), d->size);
    if (d->type == OPT_INTS) ((int *)field(d, dst))[-1] = ((const int *)cfield(d, src))[-1];
  }
}

void opts_load_text(const opt_table *t, void *o, const char *text, const char *where) {
  char err[1024];
  char *copy = xstrdup(text), *line = copy;
  while (line && *line) { /* "--flag value" lines, as opts_text writes them */
    char *nl = strchr(line, '\n'), *sp = strchr(line, ' ');
    if (nl) *nl = 0;
    if (sp) {
      *sp = 0;
      int i = opts_find(t, line);
      if (i < 0) recur_fail(where, NULL, "saved options name an unknown option '%s'", line);
      if (opts_set(t, i, o, sp + 1, err, sizeof err) != 0)
        recur_fail(where, NULL, "saved option: %s", err);
    }
    line = nl ? nl + 1 : NULL;
  }
  xfree(copy);
}

char *opts_text(const opt_table *t, const void *o) {
  size_t cap = 256, n = 0;
  char *s = xmalloc(cap);
  s[0] = 0;
  for (int i = 0; i < t->n; i++) {
    if (t->defs[i].flags & OPT_NOT_SAVED) continue;
    if (t->defs[i].type == OPT_STR && !*(char *const *)cfield(&t->defs[i], o)) continue;
    if (t->defs[i].type == OPT_INTS && !((const int *)cfield(&t->defs[i], o))[-1]) continue;
    char *v = opts_value(t, i, o);
    size_t need = strlen(t->defs[i].flag) + strlen(v) + 3;
    while (n + need >= cap) s = xrealloc(s, cap *= 2);
    n += (size_t)snprintf(s + n, cap - n, "%s %s\n", t->defs[i].flag, v);
    xfree(v);
  }
  return s;
}

/* edit distance with a swap of neighbours as one edit (optimal string alignment), for "did you
 * mean" */
static int distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > 64 || lb > 64) return 99;
  int d[65][65];
  for (int i = 0; i <= la; i++) d[i][0] = i;
  for (int j = 0; j <= lb; j++) d[0][j] = j;
  for (int i = 1; i <= la; i++)
    for (int j = 1; j <= lb; j++) {
      int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

int opts_suggest(const char *word, const char *const *names, int n) {
  int best = -1, bd = 99;
  for (int i = 0; i < n; i++) {
    int dd = distance(word, names[i]);
    if (dd < bd) bd = dd, best = i;
  }
  int len = (int)strlen(word);
  while (len > 0 && *word == '-') word++, len--; /* a near miss, not any short flag */
  return best >= 0 && bd <= (len < 6 ? 1 : len / 3) ? best : -1;
}

static _Noreturn void unknown_flag(const opt_table *t, const char *flag) {
  const char **names = xmalloc((size_t)(t->n > 0 ? t->n : 1) * sizeof *names);
  for (int i = 0; i < t->n; i++) names[i] = t->defs[i].flag;
  int best = opts_suggest(flag, names, t->n);
  xfree(names);
  char hint[256];
  if (best >= 0)
    snprintf(hint, sizeof hint, "did you mean %s? (`recur %s --help` lists every flag)",
             t->defs[best].flag, t->name);
  else
    snprintf(hint, sizeof hint, "`recur %s --help` lists every flag", t->name);
  recur_usage_fail(hint, "unknown flag '%s' for %s", flag, t->name);
}

int opts_parse(const opt_table *t, void *o, unsigned char *given, int argc, char **argv,
               const char **pos, int max_pos, int *n_pos) {
  char err[1024];
  int np = 0, only_pos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || !a[1]) { /* a positional argument ("-" is stdin) */
      if (np >= max_pos) {
        char hint[128];
        snprintf(hint, sizeof hint, "see `recur %s --help`", t->name);
        recur_usage_fail(hint, "unexpected argument '%s' for %s", a, t->name);
      }
      pos[np++] = a;
      continue;
    }
    if (!strcmp(a, "--")) {
      only_pos = 1;
      continue;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      opts_help(t, stdout);
      if (n_pos) *n_pos = np;
      return 1;
    }
    char name[256];
    const char *eq = strchr(a, '='), *val = NULL;
    snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
    int k = opts_find(t, name);
    if (k < 0) unknown_flag(t, name);
    if (strcmp(name, t->defs[k].flag) && !strncmp(name, "--", 2) && core_rank() == 0)
      fprintf(stderr, "recur: note: %s is now called %s (the old name still works)\n", name,
              t->defs[k].flag); /* a long alias is an older name of the flag */
    if (eq)
      val = eq + 1;
    else if (t->defs[k].type == OPT_SWITCH)
      val = "1";
    else if (i + 1 < argc)
      val = argv[++i];
    else
      recur_usage_fail(NULL, "%s needs a value", name);
    if (opts_set(t, k, o, val, err, sizeof err) != 0) recur_usage_fail(NULL, "%s", err);
    if (given) given[k] = 1;
  }
  if (n_pos) *n_pos = np;
  return 0;
}

/* text from column `col` to HELP_WIDTH, continuing lines at column HELP_INDENT, broken at spaces */
#define HELP_WIDTH  100
#define HELP_INDENT 37
static void help_wrap(FILE *f, const char *text, int col) {
  const char *w = text;
  while (*w) {
    while (*w == ' ') w++;
    size_t n = strcspn(w, " ");
    if (!n) break;
    if (col > HELP_INDENT && col + 1 + (int)n > HELP_WIDTH) { /* the next line */
      fprintf(f, "\n%*s", HELP_INDENT, "");
      col = HELP_INDENT;
    } else if (col > HELP_INDENT) {
      fputc(' ', f);
      col++;
    }
    fwrite(w, 1, n, f);
    col += (int)n;
    w += n;
  }
  fputc('\n', f);
}

void opts_help(const opt_table *t, FILE *f) {
  fprintf(f, "%s\n", t->usage);
  for (int i = 0; i < t->n; i++) {
    const opt_def *d = &t->defs[i];
    char left[160], meta[128], text[1024];
    if (d->type == OPT_CHOICE)
      join_choices(d, meta, sizeof meta);
    else
      snprintf(meta, sizeof meta, "%s", d->type == OPT_SWITCH ? "" : d->meta ? d->meta : "X");
    snprintf(left, sizeof left, "  %s%s%s%s%s", d->alias ? d->alias : "", d->alias ? ", " : "",
             d->flag, meta[0] ? " " : "", meta);
    int show_def = d->def && d->def[0] && d->type != OPT_SWITCH && !strstr(d->help, "(default");
    snprintf(text, sizeof text, "%s%s%s%s%s", d->help, show_def ? " (default " : "",
             show_def ? d->def : "", show_def ? ")" : "",
             d->flags & OPT_RESUME_SAFE ? " [may change on resume]" : "");
    if (strlen(left) >= HELP_INDENT) /* a long flag and its choices: the text below */
      fprintf(f, "%s\n%*s", left, HELP_INDENT, "");
    else
      fprintf(f, "%-*s", HELP_INDENT, left);
    help_wrap(f, text, HELP_INDENT);
  }
  if (t->notes) fputs(t->notes, f);
}

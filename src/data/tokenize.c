/* tokenize: text -> symbols for prepare and for every later use of a model (see tokenize.h). */
#include "recur/tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

/* deliver a word-level token: glued when nothing separated it from the token before */
static void word_put(tokenizer *t, const char *w, int n) {
  t->glued = t->joined;
  t->on_word(t->ctx, w, n);
  t->joined = 1;
}

static void word_end(tokenizer *t) {
  if (t->wlen) word_put(t, t->word, t->wlen);
  t->wlen = 0;
}

int token_is_word_byte(unsigned c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '_';
}

/* spm level, a second pass: the next line's ids from the spool the first pass wrote */
static void spm_replay(tokenizer *t) {
  uint32_t n = 0;
  uint16_t narrow[256];
  int32_t wide[256];
  if (fread(&n, sizeof n, 1, t->spool) != 1)
    recur_fail(t->spool_path, "is the input changing while it is prepared?",
               "the first pass's ids end early");
  while (n > 0) {
    const uint32_t k = n < 256 ? n : 256;
    if (fread(t->spool_wide ? (void *)wide : (void *)narrow, t->spool_wide ? 4 : 2, k, t->spool) !=
        k)
      recur_fail(t->spool_path, NULL, "the first pass's ids end early");
    for (uint32_t i = 0; i < k; i++) t->on_id(t->ctx, t->spool_wide ? wide[i] : narrow[i]);
    n -= k;
  }
}

/* spm level: the line gathered so far, encoded (or, replaying, read back), its ids delivered */
static void spm_line_end(tokenizer *t) {
  const size_t len = t->line_len;
  if (!len) return;
  t->line_len = 0;
  if (t->spool && t->spool_replay) return spm_replay(t);
  int32_t *ids = NULL;
  int64_t n = 0;
  char err[256];
  if (spm_encode(t->spm, t->line, len, &ids, &n, err, sizeof err) != 0)
    recur_fail("SentencePiece", NULL, "cannot encode a line: %s", err);
  for (int64_t i = 0; i < n; i++) t->on_id(t->ctx, ids[i]);
  if (t->spool) { /* the first pass: its ids kept for the second */
    const uint32_t c = (uint32_t)n;
    int ok = fwrite(&c, sizeof c, 1, t->spool) == 1;
    if (t->spool_wide) ok = ok && fwrite(ids, 4, (size_t)n, t->spool) == (size_t)n;
    for (int64_t i = 0; !t->spool_wide && ok && i < n; i += 256) { /* as uint16, 256 at a time */
      uint16_t narrow[256];
      const int64_t k = n - i < 256 ? n - i : 256;
      for (int64_t j = 0; j < k; j++) narrow[j] = (uint16_t)ids[i + j];
      ok = fwrite(narrow, 2, (size_t)k, t->spool) == (size_t)k;
    }
    if (!ok) recur_fail(t->spool_path, "is the disk full?", "cannot write the encoded ids");
  }
  free(ids);
}

void tokenizer_free(tokenizer *t) {
  xfree(t->line);
  t->line = NULL;
  t->line_len = t->line_cap = 0;
}

void tokenizer_feed(tokenizer *t, const unsigned char *b, size_t n, uint64_t off) {
  if (t->level == LEVEL_SPM) {
    for (size_t i = 0; i < n; i++) {
      if (b[i] == '\n') {
        spm_line_end(t);
        continue;
      }
      if (b[i] == 0) t->on_error(t->ctx, TOKEN_ERR_NUL, off + i);
      if (t->line_len + 1 >= t->line_cap)
        t->line = xrealloc(t->line, t->line_cap = t->line_cap ? 2 * t->line_cap : 4096);
      t->line[t->line_len++] = (char)b[i];
    }
    return;
  }
  if (t->level == LEVEL_BYTE) {
    if (n) t->on_run(t->ctx, b, n, off);
    return;
  }
  if (t->level == LEVEL_CHAR) {
    for (size_t i = 0; i < n; i++) {
      unsigned c = b[i];
      if (t->u8_need == 0 && c - 1u < 0x7Fu) { /* a run of ASCII (not NUL): the common case */
        size_t e = i;
        while (e < n && b[e] - 1u < 0x7Fu) e++;
        t->on_run(t->ctx, b + i, e - i, off + i);
        i = e - 1;
        continue;
      }
      if (t->u8_need == 0) {
        t->u8_off = off + i;
        if (c == 0)
          t->on_error(t->ctx, TOKEN_ERR_NUL, off + i);
        else if (c >= 0xC2 && c <= 0xDF) {
          t->u8_cp = c & 0x1F;
          t->u8_need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
          t->u8_cp = c & 0x0F;
          t->u8_need = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
          t->u8_cp = c & 0x07;
          t->u8_need = 3;
        } else
          t->on_error(t->ctx, TOKEN_ERR_UTF8, off + i);
      } else {
        if ((c & 0xC0) != 0x80) t->on_error(t->ctx, TOKEN_ERR_UTF8, t->u8_off);
        t->u8_cp = (t->u8_cp << 6) | (c & 0x3F);
        if (--t->u8_need == 0) {
          uint32_t cp = t->u8_cp;
          if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            t->on_error(t->ctx, TOKEN_ERR_UTF8, t->u8_off);
          if ((cp < 0x800 && off + i - t->u8_off == 2) ||
              (cp < 0x10000 && off + i - t->u8_off == 3))
            t->on_error(t->ctx, TOKEN_ERR_UTF8, t->u8_off); /* overlong */
          t->on_char(t->ctx, cp, t->u8_off);
        }
      }
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned c = b[i];
    if (token_is_word_byte(c)) {
      if (t->wlen == TOKEN_WORD_MAX && c < 0xC0)
        word_end(t); /* cut very long words at a char boundary */
      else if (t->wlen >= TOKEN_WORD_MAX - 4 && c >= 0xC0)
        word_end(t);
      t->word[t->wlen++] = (char)c;
    } else {
      word_end(t);
      if (c == '\n') {
        t->joined = 0; /* a newline glues to nothing, and a line's first word follows none */
        word_put(t, "\n", 1);
        t->joined = 0;
      } else if (c > ' ' && c < 0x7f) {
        char ch = (char)c;
        word_put(t, &ch, 1);
      } else {
        t->joined = 0; /* a space or another control character */
      }
    }
  }
}

void tokenizer_end(tokenizer *t) {
  if (t->level == LEVEL_SPM) spm_line_end(t);
  if (t->level == LEVEL_CHAR && t->u8_need) {
    t->u8_need = 0;
    t->on_error(t->ctx, TOKEN_ERR_UTF8, t->u8_off);
  }
  if (t->level == LEVEL_WORD) word_end(t);
  t->joined = 0;
}

int token_is_word(const char *w) {
  unsigned c = (unsigned char)w[0];
  return (c && token_is_word_byte(c)) || (c == '<' && w[1]);
}

int token_spacer_next(token_spacer *s, const unsigned char *glue, char *const *names, int64_t id) {
  const int64_t a = s->prev;
  const char *at = a >= 0 ? names[a] : "", *bt = names[id];
  s->prev = id;
  const int quote = glue && !strcmp(bt, "\""),
            after_open = glue && !strcmp(at, "\"") && s->quotes % 2;
  s->quotes += quote;
  if (a < 0 || !strcmp(at, "\n") || !strcmp(bt, "\n")) return 0;
  if (!glue) return 1;
  if (quote) /* an opening quote is spaced as a word; a closing one glues to what it closes */
    return s->quotes % 2 ? !(glue[a] & TOKEN_GLUE_AFTER) : 0;
  if (after_open) return 0;
  if (!token_is_word(at) && !token_is_word(bt) && strcmp(at, "\""))
    return !(glue[id] & TOKEN_GLUE_MARK);
  return !(glue[id] & TOKEN_GLUE_BEFORE) && !(glue[a] & TOKEN_GLUE_AFTER);
}

const char *tokenize_field(const char **s, const char *end, int *n) {
  const char *a = *s;
  while (a < end && (*a == ' ' || *a == '\t')) a++;
  const char *b = a;
  while (b < end && *b != ' ' && *b != '\t') b++;
  *s = b;
  *n = (int)(b - a);
  return b > a ? a : NULL;
}

/* ---- encoding a string with a model's vocabulary ---- */

static int name_cmp(const vocab_index *v, int64_t a, const char *s, int n) {
  const char *x = v->names[a];
  int r = strncmp(x, s, (size_t)n);
  if (r) return r;
  return x[n] ? 1 : 0;
}

static int by_name(const void *a, const void *b, void *ctx) {
  const vocab_index *v = ctx;
  return strcmp(v->names[*(const int64_t *)a], v->names[*(const int64_t *)b]);
}

void vocab_index_spm(vocab_index *v, const void *proto, int64_t n) {
  char err[512];
  spm_model *s = spm_load(proto, (size_t)n, err, sizeof err);
  if (!s) recur_fail("model.h5:/spm_model", NULL, "the SentencePiece model does not load: %s", err);
  v->spm = s;
  v->own_spm = 1;
}

void vocab_index_init(vocab_index *v, enum ds_level level, char *const *names, int64_t size,
                      int64_t eos_id, int64_t unk_id) {
  v->spm = NULL;
  v->own_spm = 0;
  v->level = level;
  v->names = names;
  v->size = 0;
  v->eos_id = eos_id;
  v->unk_id = unk_id;
  v->sorted = xmalloc((size_t)(size > 0 ? size : 1) * sizeof(int64_t));
  for (int64_t i = 0; i < size; i++)
    if (i != eos_id && i != unk_id) v->sorted[v->size++] = i;
  core_sort(v->sorted, (size_t)v->size, sizeof *v->sorted, by_name, v);
}

void vocab_index_free(vocab_index *v) {
  if (v->own_spm) spm_free((spm_model *)v->spm);
  xfree(v->sorted);
  v->sorted = NULL;
}

int64_t vocab_index_find(const vocab_index *v, const char *s, int n) {
  int64_t lo = 0, hi = v->size;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    int r = name_cmp(v, v->sorted[mid], s, n);
    if (r == 0) return v->sorted[mid];
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

typedef struct {
  const vocab_index *v;
  int32_t *ids;
  int64_t n;
  int use_unk;
  const char *what, *text;
} encoder;

static void enc_push(encoder *e, const char *s, int n) {
  int64_t id = vocab_index_find(e->v, s, n);
  if (id < 0 && e->use_unk && e->v->unk_id >= 0) {
    id = e->v->unk_id;
    if (e->use_unk == TOKENIZE_UNK_NOTE)
      fprintf(stderr, "recur: note: %s: '%.*s' is not in the model's vocabulary: read as <unk>\n",
              e->what, n, s);
  }
  if (id < 0)
    recur_fail(e->what, "use only symbols that occur in the training data",
               "'%.*s' is not in the model's vocabulary", n, s);
  e->ids[e->n++] = (int32_t)id;
}

static void enc_run(void *ctx, const unsigned char *b, size_t n, uint64_t off) {
  encoder *e = ctx;
  (void)off;
  for (size_t i = 0; i < n; i++) {
    if (e->v->level == LEVEL_BYTE)
      e->ids[e->n++] = b[i];
    else
      enc_push(e, (const char *)b + i, 1);
  }
}

static void enc_char(void *ctx, uint32_t cp, uint64_t off) {
  encoder *e = ctx;
  int len = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  enc_push(e, e->text + off, len);
}

static void enc_word(void *ctx, const char *w, int n) { enc_push(ctx, w, n); }

static void enc_id(void *ctx, int32_t id) {
  encoder *e = ctx;
  e->ids[e->n++] = id;
}

static void enc_error(void *ctx, enum token_error err, uint64_t off) {
  encoder *e = ctx;
  recur_fail(e->what,
             err == TOKEN_ERR_NUL ? "text for a model may not hold NUL bytes" : "give UTF-8 text",
             "%s at byte %llu", err == TOKEN_ERR_NUL ? "NUL character" : "invalid UTF-8",
             (unsigned long long)off);
}

int32_t *tokenize_encode(const vocab_index *v, const char *text, int64_t *n, int use_unk,
                         int words_by_space, const char *what) {
  size_t len = strlen(text);
  encoder e = {v, xmalloc((len + 2) * sizeof(int32_t)), 0, use_unk, what, text};
  if (words_by_space && v->level == LEVEL_WORD) { /* as prepare reads word/TAG lines */
    const char *s = text, *w;
    int wn;
    while ((w = tokenize_field(&s, text + len, &wn))) enc_push(&e, w, wn);
  } else {
    tokenizer t = {0};
    t.level = v->level;
    t.ctx = &e;
    t.on_run = enc_run;
    t.on_char = enc_char;
    t.on_word = enc_word;
    t.on_error = enc_error;
    t.spm = v->spm;
    t.on_id = enc_id;
    tokenizer_feed(&t, (const unsigned char *)text, len, 0);
    tokenizer_end(&t);
    tokenizer_free(&t);
  }
  *n = e.n;
  return e.ids;
}

/* prepare: two streaming passes over the input. Pass 1 counts symbols, sequences and tokens
 * per split; pass 2 encodes and appends to chunked, checksummed HDF5 datasets. Memory is bounded
 * by the vocabulary, never by the corpus. */
#define _POSIX_C_SOURCE 200809L
#include "recur/prepare.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/h5.h"
#include "recur/tokenize.h"

#define MAX_CP 0x110000
#define READ_BLOCK (1 << 20)
#define TBUF 65536

enum seg_mode { SEG_NONE, SEG_LINE, SEG_PARAGRAPH, SEG_FILE, SEG_SEPARATOR };

/* ---- word hash table: string -> (count, id) ---- */
typedef struct {
  uint64_t hash, count;
  uint32_t off, len;
  int32_t id;
} wentry;
typedef struct {
  wentry *e;
  uint64_t cap, n;
  char *arena;
  uint64_t arena_n, arena_cap;
} wtable;

static uint64_t str_hash(const char *s, int n) {
  uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return rng_mix(h);
}

static wentry *wt_find(wtable *t, const char *s, int n, int insert) {
  if (insert && (t->n + 1) * 2 > t->cap) {
    uint64_t nc = t->cap ? t->cap * 2 : 1024;
    wentry *ne = xcalloc(nc, sizeof(wentry));
    for (uint64_t i = 0; i < t->cap; i++)
      if (t->e[i].len || t->e[i].count) {
        uint64_t j = t->e[i].hash & (nc - 1);
        while (ne[j].count) j = (j + 1) & (nc - 1);
        ne[j] = t->e[i];
      }
    free(t->e);
    t->e = ne;
    t->cap = nc;
  }
  if (!t->cap) return NULL;
  uint64_t h = str_hash(s, n), j = h & (t->cap - 1);
  while (t->e[j].count) {
    if (t->e[j].hash == h && t->e[j].len == (uint32_t)n && memcmp(t->arena + t->e[j].off, s, (size_t)n) == 0)
      return &t->e[j];
    j = (j + 1) & (t->cap - 1);
  }
  if (!insert) return NULL;
  if (t->arena_n + (uint64_t)n + 1 > t->arena_cap) {
    t->arena_cap = (t->arena_cap + (uint64_t)n + 1) * 2;
    t->arena = xrealloc(t->arena, t->arena_cap);
  }
  memcpy(t->arena + t->arena_n, s, (size_t)n);
  t->arena[t->arena_n + (uint64_t)n] = 0;
  wentry *e = &t->e[j];
  e->hash = h;
  e->off = (uint32_t)t->arena_n;
  e->len = (uint32_t)n;
  e->count = 0;
  e->id = -1;
  t->arena_n += (uint64_t)n + 1;
  t->n++;
  return e;
}

/* ---- split writers ---- */
typedef struct {
  h5_appender tok, off;
  uint64_t ntok, nseq;
  uint32_t tbuf[TBUF];
  int nt;
  int width; /* bytes per token in the file: 1, 2 or 4 */
  unsigned char nbuf[TBUF * 4];
  h5_appender lab;  /* classify: a label per sequence */
  h5_appender tag;  /* tag: a tag per token */
  uint64_t seq_start;
} split_writer;

typedef struct {
  hid_t f;
  char *tmp, *final; /* written under tmp, renamed to final when every shard is complete */
  split_writer w[SPLIT_COUNT];
  uint64_t ntok;
} shard;

/* ---- the whole preparation ---- */
typedef struct {
  const prepare_opts *o;
  int mode, delimited, pass;
  const char *cur_file;
  /* pass 1 */
  uint64_t *cp_count; /* (MAX_CP) char level */
  uint64_t byte_count[256];
  wtable words;
  uint64_t n_seq, n_tok, n_content, seq_tok;
  uint64_t split_seq[SPLIT_COUNT];
  uint64_t force_val, force_test; /* train sequences with the smallest draws */
  /* vocabulary */
  int64_t vocab_size, eos_id, unk_id;
  char **vocab;
  int32_t *cp_id; /* (MAX_CP) char -> id */
  hid_t tok_type;
  /* pass 2 */
  int cur_split;
  uint64_t gpos, cut[2]; /* none mode: global token cut points train|val|test */
  uint64_t limit;        /* see update_limit */
  uint64_t split_key;
  int rank, world;        /* ranks sharing the work (1 when one rank does it all) */
  int sharded;            /* output is an index plus shard files */
  uint64_t seq_base, tok_base; /* global index of this rank's first sequence and token */
  /* classify / tag */
  wtable outs;            /* label or tag names -> (count, id) */
  char **out_names;
  int64_t n_out;
  uint32_t cur_label;
  uint32_t *line_tags;
  uint64_t n_line_tags, cap_line_tags;
  uint64_t lineno;
  shard *sh;              /* the shard being written */
  shard **done;           /* finished shards, renamed at the end */
  int n_done;
  int n_shards;
  char **shard_names;
  int seq_open;
  tokenizer tok;
  uint64_t u8_off;        /* byte offset of the code point being emitted (for messages) */
  /* segmenter state */
  int line_bytes, pending_nl, in_par, seq_has_content;
  char pend[512];
  int npend, pend_match, in_content_line;
  uint64_t pend_off;
} prep;

/* the split draw of sequence i: uniform in [0,1), a pure function of (seed, i) */
static inline float split_draw(const prep *p, uint64_t i) {
  return rng_uniform(rng_mix(p->split_key ^ (i * 0x9e3779b97f4a7c15ULL)));
}

static int split_of_seq(prep *p, uint64_t i) {
  if (i == p->force_val) return SPLIT_VAL;
  if (i == p->force_test) return SPLIT_TEST;
  float u = split_draw(p, i);
  if (u < p->o->val) return SPLIT_VAL;
  if (u < p->o->val + p->o->test) return SPLIT_TEST;
  return SPLIT_TRAIN;
}

static void writer_flush_tokens(split_writer *w) {
  if (w->width == 1) {
    for (int i = 0; i < w->nt; i++) w->nbuf[i] = (uint8_t)w->tbuf[i];
  } else if (w->width == 2) {
    uint16_t *d = (uint16_t *)(void *)w->nbuf;
    for (int i = 0; i < w->nt; i++) d[i] = (uint16_t)w->tbuf[i];
  } else {
    memcpy(w->nbuf, w->tbuf, (size_t)w->nt * 4);
  }
  h5_appender_push(&w->tok, w->nbuf, (uint64_t)w->nt);
  w->nt = 0;
}

static void shard_open(prep *p) {
  const prepare_opts *o = p->o;
  p->sh = xcalloc(1, sizeof(shard));
  shard *s = p->sh;
  if (p->sharded) {
    char *base = xstrdup(o->out);
    size_t bl = strlen(base);
    if (bl > 3 && strcmp(base + bl - 3, ".h5") == 0) base[bl - 3] = 0;
    if (p->world > 1) s->final = core_path("%s-r%03d-shard-%05d.h5", base, p->rank, p->n_shards);
    else s->final = core_path("%s-shard-%05d.h5", base, p->n_shards);
    free(base);
    const char *slash = strrchr(s->final, '/');
    p->shard_names = xrealloc(p->shard_names, (size_t)(p->n_shards + 1) * sizeof(char *));
    p->shard_names[p->n_shards] = xstrdup(slash ? slash + 1 : s->final);
  } else {
    s->final = xstrdup(o->out);
  }
  p->n_shards++;
  s->tmp = core_path("%s.tmp-%d", s->final, (int)getpid());
  s->f = h5_create(s->tmp, "output file", "check that the output directory exists and is writable");
  core_tempfile_add(s->tmp);
  h5_attr_set_str(s->f, "format", p->sharded ? DATASET_SHARD_FORMAT : DATASET_FORMAT);
  h5_attr_set_i64(s->f, "version", DATASET_VERSION);
  h5_attr_set_i64(s->f, "vocab_size", p->vocab_size);
  for (int k = 0; k < SPLIT_COUNT; k++) {
    hid_t g = H5Gcreate2(s->f, ds_split_names[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int width = (int)H5Tget_size(p->tok_type);
    hid_t mem = width == 1 ? H5T_NATIVE_UINT8 : width == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT32;
    s->w[k].width = width;
    h5_appender_open(&s->w[k].tok, g, "tokens", p->tok_type, mem, (size_t)width, DATASET_CHUNK, s->tmp);
    h5_appender_open(&s->w[k].off, g, "offsets", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 8192, s->tmp);
    uint64_t zero = 0;
    h5_appender_push(&s->w[k].off, &zero, 1);
    hid_t ot = p->n_out <= 256 ? H5T_STD_U8LE : p->n_out <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE;
    if (o->task == TASK_CLASSIFY) h5_appender_open(&s->w[k].lab, g, "labels", ot, H5T_NATIVE_UINT32, 4, 8192, s->tmp);
    if (o->task == TASK_TAG) h5_appender_open(&s->w[k].tag, g, "tags", ot, H5T_NATIVE_UINT32, 4, DATASET_CHUNK, s->tmp);
    H5Gclose(g);
  }
}

static void shard_close(prep *p) {
  shard *s = p->sh;
  for (int k = 0; k < SPLIT_COUNT; k++) {
    writer_flush_tokens(&s->w[k]);
    h5_appender_close(&s->w[k].tok);
    h5_appender_close(&s->w[k].off);
    if (p->o->task == TASK_CLASSIFY) h5_appender_close(&s->w[k].lab);
    if (p->o->task == TASK_TAG) h5_appender_close(&s->w[k].tag);
    hid_t g = H5Gopen2(s->f, ds_split_names[k], H5P_DEFAULT);
    h5_attr_set_i64(g, "n_sequences", (int64_t)s->w[k].nseq);
    h5_attr_set_i64(g, "n_tokens", (int64_t)s->w[k].ntok);
    H5Gclose(g);
  }
  if (!p->sharded) return; /* the single file gets its metadata before closing */
  h5_close_file(s->f, s->tmp);
}

/* end the open sequence of the current split (append its end offset) */
static void seq_close(prep *p) {
  split_writer *w = &p->sh->w[p->cur_split];
  if (p->o->task == TASK_CLASSIFY) h5_appender_push(&w->lab, &p->cur_label, 1);
  if (p->o->task == TASK_TAG) {
    if (w->ntok - w->seq_start != p->n_line_tags) {
      char *where = core_path("%s:line %llu", p->cur_file, (unsigned long long)p->lineno);
      recur_fail(where, "give one tag per character (char level) or word/TAG tokens (word level)",
                 "%llu tokens but %llu tags", (unsigned long long)(w->ntok - w->seq_start), (unsigned long long)p->n_line_tags);
    }
    h5_appender_push(&w->tag, p->line_tags, p->n_line_tags);
  }
  h5_appender_push(&w->off, &w->ntok, 1);
  w->seq_start = w->ntok;
  w->nseq++;
  p->seq_open = 0;
}

static void shard_rotate(prep *p) {
  shard_close(p);
  p->done = xrealloc(p->done, (size_t)(p->n_done + 1) * sizeof(shard *));
  p->done[p->n_done++] = p->sh; /* kept for its paths: renamed when all are complete */
  shard_open(p);
}

/* the next global position at which emit_id must look at cuts and shard sizes */
static void update_limit(prep *p) {
  uint64_t lim = UINT64_MAX;
  if (p->mode == SEG_NONE && p->cur_split < SPLIT_TEST) lim = p->cut[p->cur_split];
  if (p->o->shard_tokens && p->mode == SEG_NONE) {
    uint64_t room = p->sh->ntok < p->o->shard_tokens ? p->o->shard_tokens - p->sh->ntok : 0;
    if (p->gpos + room < lim) lim = p->gpos + room;
  }
  p->limit = lim;
}

static void emit_slow(prep *p) {
  if (p->mode == SEG_NONE && p->cur_split < SPLIT_TEST && p->gpos == p->cut[p->cur_split]) {
    /* undelimited stream: the tail goes to val, then test */
    if (p->seq_open) seq_close(p);
    while (p->cur_split < SPLIT_TEST && p->gpos == p->cut[p->cur_split]) p->cur_split++;
  }
  if (p->o->shard_tokens && p->mode == SEG_NONE && p->sh->ntok >= p->o->shard_tokens) {
    if (p->seq_open) seq_close(p);
    shard_rotate(p);
  }
  update_limit(p);
}

/* k ids were placed at w->tbuf[w->nt..]: count them, flush a full buffer */
static inline void emitted(prep *p, split_writer *w, size_t k) {
  w->nt += (int)k;
  w->ntok += k;
  p->sh->ntok += k;
  p->gpos += k;
  p->seq_open = 1;
  if (w->nt == TBUF) writer_flush_tokens(w);
}

static _Noreturn void fail_not_in_vocab(const prep *p, uint32_t cp, uint64_t off) {
  char *where = core_path("%s:%llu", p->cur_file, (unsigned long long)off);
  recur_fail(where, "the vocabulary given with --vocab lacks this character", "character U+%04X is not in the vocabulary", cp);
}

static inline void emit_id(prep *p, uint32_t id) {
  if (p->gpos >= p->limit) emit_slow(p);
  split_writer *w = &p->sh->w[p->cur_split];
  w->tbuf[w->nt] = id;
  emitted(p, w, 1);
}

/* Pass 2: emit the ids map[b[0..n)] as one run (the hot path of byte and char levels). */
static void emit_run(prep *p, const unsigned char *b, size_t n, const int32_t *map, uint64_t off) {
  while (n > 0) {
    if (p->gpos >= p->limit) emit_slow(p);
    split_writer *w = &p->sh->w[p->cur_split];
    size_t k = n;
    if (p->limit - p->gpos < k) k = (size_t)(p->limit - p->gpos);
    if ((size_t)(TBUF - w->nt) < k) k = (size_t)(TBUF - w->nt);
    uint32_t *dst = w->tbuf + w->nt;
    int32_t bad = 0;
    for (size_t i = 0; i < k; i++) {
      int32_t id = map[b[i]];
      bad |= id;
      dst[i] = (uint32_t)id;
    }
    if (bad < 0)
      for (size_t i = 0; i < k; i++)
        if (map[b[i]] < 0) fail_not_in_vocab(p, b[i], off + i);
    emitted(p, w, k);
    b += k;
    n -= k;
    off += k;
  }
}

static const int32_t *identity_map(void) {
  static int32_t id[256];
  if (id[255] == 0)
    for (int i = 0; i < 256; i++) id[i] = i;
  return id;
}

/* one symbol (byte value or code point) of content */
static inline void on_sym(prep *p, uint32_t sym) {
  p->n_content++;
  if (p->pass == 1) {
    p->seq_tok++;
    if (p->o->level == LEVEL_BYTE) p->byte_count[sym]++;
    else p->cp_count[sym]++;
    return;
  }
  if (p->o->level == LEVEL_BYTE) {
    emit_id(p, sym);
    return;
  }
  int32_t id = p->cp_id[sym];
  if (id < 0) fail_not_in_vocab(p, sym, p->u8_off);
  emit_id(p, (uint32_t)id);
}

static void on_word(prep *p, const char *w, int n) {
  p->n_content++;
  if (p->pass == 1) {
    p->seq_tok++;
    if (!p->o->vocab_from) wt_find(&p->words, w, n, 1)->count++;
    return;
  }
  wentry *e = wt_find(&p->words, w, n, 0);
  int64_t id = e && e->id >= 0 ? e->id : p->unk_id;
  emit_id(p, (uint32_t)id);
}

static void tok_fail(void *ctx, enum token_error e, uint64_t off) {
  prep *p = ctx;
  if (e == TOKEN_ERR_NUL)
    recur_fail(p->cur_file, "use --level byte for text with NUL bytes", "NUL character at byte %llu", (unsigned long long)off);
  char *where = core_path("%s:byte %llu", p->cur_file, (unsigned long long)off);
  recur_fail(where, "use --level byte for text that is not UTF-8", "invalid UTF-8");
}

/* byte level: any run; char level: a run of ASCII */
static void tok_run(void *ctx, const unsigned char *b, size_t n, uint64_t off) {
  prep *p = ctx;
  p->n_content += n;
  if (p->pass == 1) {
    uint64_t *cnt = p->o->level == LEVEL_BYTE ? p->byte_count : p->cp_count;
    for (size_t k = 0; k < n; k++) cnt[b[k]]++;
    p->seq_tok += n;
  } else {
    emit_run(p, b, n, p->o->level == LEVEL_BYTE ? identity_map() : p->cp_id, off);
  }
}

static void tok_char(void *ctx, uint32_t cp, uint64_t off) {
  prep *p = ctx;
  p->u8_off = off;
  on_sym(p, cp);
}

static void tok_word(void *ctx, const char *w, int n) { on_word(ctx, w, n); }

/* content bytes -> symbols (the tokenizer of tokenize.h) */
static void tok_feed(prep *p, const unsigned char *b, size_t n, uint64_t off) {
  p->seq_has_content = 1;
  tokenizer_feed(&p->tok, b, n, off);
}

static void on_end(prep *p) {
  tokenizer_end(&p->tok);
  if (p->pass == 1) {
    uint64_t t = p->seq_tok + (uint64_t)p->delimited;
    if (t > 0) {
      p->n_seq++;
      p->n_tok += t;
    }
    p->seq_tok = 0;
    return;
  }
  if (p->mode == SEG_NONE) {
    if (p->seq_open) seq_close(p);
  } else {
    if (p->delimited) emit_id(p, (uint32_t)p->eos_id);
    if (p->seq_open) {
      seq_close(p);
      p->n_seq++;
      p->cur_split = split_of_seq(p, p->n_seq);
      if (p->o->shard_tokens && p->sh->ntok >= p->o->shard_tokens) shard_rotate(p);
    }
  }
}

/* ---- segmentation: bytes -> content + sequence ends ---- */
static void seg_block(prep *p, const unsigned char *b, size_t n, uint64_t off) {
  size_t i = 0;
  switch (p->mode) {
  case SEG_NONE:
  case SEG_FILE:
    tok_feed(p, b, n, off);
    return;
  case SEG_LINE:
    while (i < n) {
      const unsigned char *nl = memchr(b + i, '\n', n - i);
      size_t e = nl ? (size_t)(nl - b) : n;
      if (e > i) { tok_feed(p, b + i, e - i, off + i); p->line_bytes = 1; }
      if (nl) { on_end(p); p->line_bytes = 0; i = e + 1; } else i = n;
    }
    return;
  case SEG_PARAGRAPH:
    for (; i < n; i++) {
      if (b[i] == '\n') { p->pending_nl++; continue; }
      if (p->in_par && p->pending_nl >= 2) { on_end(p); p->in_par = 0; }
      if (p->in_par && p->pending_nl == 1) tok_feed(p, (const unsigned char *)"\n", 1, off + i - 1);
      p->pending_nl = 0;
      tok_feed(p, b + i, 1, off + i);
      p->in_par = 1;
    }
    return;
  case SEG_SEPARATOR: {
    const char *sep = p->o->separator;
    int sl = (int)strlen(sep);
    for (; i < n; i++) {
      unsigned char c = b[i];
      if (!p->in_content_line) {
        if (c == '\n') {
          if (p->npend == sl) { /* a separator line */
            if (p->seq_has_content) on_end(p);
            p->seq_has_content = 0;
          } else {
            if (p->npend) tok_feed(p, (unsigned char *)p->pend, (size_t)p->npend, p->pend_off);
            tok_feed(p, b + i, 1, off + i);
          }
          p->npend = 0;
          continue;
        }
        if (p->npend == 0) p->pend_off = off + i;
        if (p->npend < sl && (char)c == sep[p->npend]) { p->pend[p->npend++] = (char)c; continue; }
        if (p->npend) tok_feed(p, (unsigned char *)p->pend, (size_t)p->npend, p->pend_off);
        p->npend = 0;
        p->in_content_line = 1;
      }
      tok_feed(p, b + i, 1, off + i);
      if (c == '\n') p->in_content_line = 0;
    }
    return;
  }
  }
}

static void seg_file_end(prep *p) {
  switch (p->mode) {
  case SEG_NONE: on_end(p); break;
  case SEG_FILE: if (p->seq_has_content) on_end(p); break;
  case SEG_LINE: if (p->line_bytes) on_end(p); break;
  case SEG_PARAGRAPH: if (p->in_par) on_end(p); break;
  case SEG_SEPARATOR:
    if (!p->in_content_line && p->npend && p->npend != (int)strlen(p->o->separator))
      tok_feed(p, (unsigned char *)p->pend, (size_t)p->npend, p->pend_off);
    if (p->seq_has_content) on_end(p);
    break;
  }
  p->line_bytes = p->pending_nl = p->in_par = p->seq_has_content = 0;
  p->npend = p->in_content_line = 0;
}

/* ---- classify and tag inputs: one sequence per line ---- */
static uint32_t out_id(prep *p, const char *s, int n) {
  if (p->pass == 1) {
    wt_find(&p->outs, s, n, 1)->count++;
    return 0;
  }
  wentry *e = wt_find(&p->outs, s, n, 0);
  RECUR_ASSERT(e && e->id >= 0);
  return (uint32_t)e->id;
}

static void push_tag(prep *p, uint32_t id) {
  if (p->n_line_tags == p->cap_line_tags) {
    p->cap_line_tags = p->cap_line_tags ? 2 * p->cap_line_tags : 1024;
    p->line_tags = xrealloc(p->line_tags, p->cap_line_tags * sizeof(uint32_t));
  }
  p->line_tags[p->n_line_tags++] = id;
}

static void labeled_line(prep *p, char *line, size_t len, uint64_t off) {
  char *where = core_path("%s:line %llu", p->cur_file, (unsigned long long)p->lineno);
  if (len && line[len - 1] == '\r') line[--len] = 0;
  if (len == 0) return free(where);
  char *tab = memchr(line, '\t', len);
  p->n_line_tags = 0;
  if (p->o->task == TASK_CLASSIFY) {
    if (!tab || tab == line) recur_fail(where, "classification lines are label<TAB>text", "no label before a tab");
    p->cur_label = out_id(p, line, (int)(tab - line));
    tok_feed(p, (unsigned char *)tab + 1, len - (size_t)(tab + 1 - line), off + (uint64_t)(tab + 1 - line));
    on_end(p);
    free(where);
    return;
  }
  if (p->o->level == LEVEL_WORD) { /* word/TAG tokens */
    char *s = line, *end = line + len;
    while (s < end) {
      while (s < end && (*s == ' ' || *s == '\t')) s++;
      char *e = s;
      while (e < end && *e != ' ' && *e != '\t') e++;
      if (e == s) break;
      char *sl = e - 1;
      while (sl > s && *sl != '/') sl--;
      if (sl == s || sl + 1 == e) recur_fail(where, "word-level tagging lines are word/TAG tokens", "'%.*s' is not word/TAG", (int)(e - s), s);
      p->seq_has_content = 1;
      on_word(p, s, (int)(sl - s));
      uint32_t t = out_id(p, sl + 1, (int)(e - sl - 1));
      if (p->pass == 2) push_tag(p, t);
      else p->n_line_tags++;
      s = e;
    }
    on_end(p);
    free(where);
    return;
  }
  if (!tab) recur_fail(where, "character tagging lines are text<TAB>tags, a tag character per character", "no tab");
  uint64_t before = p->seq_tok;
  tok_feed(p, (unsigned char *)line, (size_t)(tab - line), off);
  const unsigned char *t = (unsigned char *)tab + 1, *te = (unsigned char *)line + len;
  while (t < te) { /* one tag per UTF-8 character */
    int n = *t < 0x80 ? 1 : *t < 0xE0 ? 2 : *t < 0xF0 ? 3 : 4;
    if (t + n > te) n = (int)(te - t);
    uint32_t id = out_id(p, (const char *)t, n);
    if (p->pass == 2) push_tag(p, id);
    else p->n_line_tags++;
    t += n;
  }
  if (p->pass == 1 && p->seq_tok - before != p->n_line_tags)
    recur_fail(where, "give one tag character per text character", "%llu characters but %llu tags",
               (unsigned long long)(p->seq_tok - before), (unsigned long long)p->n_line_tags);
  on_end(p);
  free(where);
}

static void labeled_file(prep *p, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) recur_fail(path, NULL, "cannot open input: %s", strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  uint64_t off = 0;
  p->lineno = 0;
  while ((n = getline(&line, &cap, f)) > 0) {
    p->lineno++;
    size_t len = (size_t)n;
    if (line[len - 1] == '\n') line[--len] = 0;
    labeled_line(p, line, len, off);
    off += (uint64_t)n;
  }
  free(line);
  fclose(f);
}

static void pass_over(prep *p, char **files, int nf) {
  unsigned char *buf = xmalloc(READ_BLOCK);
  for (int f = 0; f < nf; f++) {
    p->cur_file = files[f];
    if (p->o->task != TASK_LM) {
      labeled_file(p, files[f]);
      continue;
    }
    int fd = open(files[f], O_RDONLY);
    if (fd < 0) recur_fail(files[f], NULL, "cannot open input: %s", strerror(errno));
    uint64_t off = 0;
    for (;;) {
      ssize_t r = read(fd, buf, READ_BLOCK);
      if (r < 0) recur_fail(files[f], NULL, "cannot read input: %s", strerror(errno));
      if (r == 0) break;
      seg_block(p, buf, (size_t)r, off);
      off += (uint64_t)r;
    }
    close(fd);
    seg_file_end(p);
  }
  free(buf);
}

/* ---- inputs ---- */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_input(char ***files, int *nf, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) recur_fail(path, NULL, "cannot open input: %s", strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (!d) recur_fail(path, NULL, "cannot read directory: %s", strerror(errno));
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      names = xrealloc(names, (size_t)(n + 1) * sizeof(char *));
      size_t len = strlen(path) + strlen(e->d_name) + 2;
      names[n] = xmalloc(len);
      snprintf(names[n], len, "%s/%s", path, e->d_name);
      n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    for (int i = 0; i < n; i++) {
      add_input(files, nf, names[i]);
      free(names[i]);
    }
    free(names);
    return;
  }
  if (!S_ISREG(st.st_mode)) return;
  *files = xrealloc(*files, (size_t)(*nf + 1) * sizeof(char *));
  (*files)[(*nf)++] = xstrdup(path);
}

static char *spool_stdin(const char *out) {
  size_t len = strlen(out) + 32;
  char *path = xmalloc(len);
  snprintf(path, len, "%s.stdin-%d", out, (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) recur_fail(path, "check that the output directory exists and is writable", "cannot create spool file for stdin");
  core_tempfile_add(path);
  char *buf = xmalloc(READ_BLOCK);
  ssize_t r;
  while ((r = read(0, buf, READ_BLOCK)) > 0)
    if (write(fd, buf, (size_t)r) != r) recur_fail(path, "is the disk full?", "cannot write spool file");
  free(buf);
  close(fd);
  return path;
}

/* ---- vocabulary ---- */
/* most frequent first (by count), ties and names by bytes */
typedef struct {
  const wtable *t;
  int by_count;
} entry_order;

static int entry_cmp(const void *a, const void *b, void *ctx) {
  const entry_order *o = ctx;
  const wentry *x = *(wentry *const *)a, *y = *(wentry *const *)b;
  if (o->by_count && x->count != y->count) return x->count > y->count ? -1 : 1;
  return strcmp(o->t->arena + x->off, o->t->arena + y->off);
}

/* the entries of t (count > 0), sorted; malloc'd, n in *n */
static wentry **wt_sorted(const wtable *t, int by_count, uint64_t *n) {
  wentry **all = xmalloc((t->n + 1) * sizeof(wentry *));
  uint64_t k = 0;
  for (uint64_t i = 0; i < t->cap; i++)
    if (t->e[i].count) all[k++] = &t->e[i];
  entry_order order = {t, by_count};
  core_sort(all, k, sizeof *all, entry_cmp, &order);
  *n = k;
  return all;
}

static void wt_free(wtable *t) {
  free(t->e);
  free(t->arena);
}

static void vocab_push(prep *p, const char *s) {
  p->vocab = xrealloc(p->vocab, (size_t)(p->vocab_size + 1) * sizeof(char *));
  p->vocab[p->vocab_size++] = xstrdup(s);
}

static int utf8_encode(uint32_t cp, char *out) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* decode a vocabulary name that is exactly one code point; -1 otherwise */
static int64_t single_cp(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  int n = u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
  if (!u[0] || (int)strlen(s) != n) return -1;
  uint32_t cp = n == 1 ? u[0] : n == 2 ? (u[0] & 0x1Fu) : n == 3 ? (u[0] & 0x0Fu) : (u[0] & 0x07u);
  for (int i = 1; i < n; i++) cp = (cp << 6) | (u[i] & 0x3Fu);
  return cp;
}

static void build_vocab(prep *p) {
  const prepare_opts *o = p->o;
  p->eos_id = p->unk_id = -1;
  if (o->vocab_from) {
    dataset *src = dataset_open(o->vocab_from);
    if (src->level != o->level)
      recur_fail(o->vocab_from, "use a vocabulary of the same --level", "vocabulary is %s level, not %s",
                 ds_level_names[src->level], ds_level_names[o->level]);
    for (int64_t i = 0; i < src->vocab_size; i++) vocab_push(p, src->vocab[i]);
    p->eos_id = src->eos_id;
    p->unk_id = src->unk_id;
    dataset_close(src);
    if (p->delimited && p->eos_id < 0)
      recur_fail(o->vocab_from, "prepare with the same --split-on", "vocabulary has no <eos> for delimited sequences");
    if (o->level == LEVEL_WORD && p->unk_id < 0) recur_fail(o->vocab_from, NULL, "word vocabulary has no <unk>");
  } else if (o->level == LEVEL_BYTE) {
    for (int b = 0; b < 256; b++) {
      char name[16];
      if (b > 0 && b < 0x80) { name[0] = (char)b; name[1] = 0; }
      else snprintf(name, sizeof name, "<0x%02X>", b);
      vocab_push(p, name);
    }
    if (p->delimited) { p->eos_id = 256; vocab_push(p, "<eos>"); }
  } else if (o->level == LEVEL_CHAR) {
    if (p->delimited) { p->eos_id = 0; vocab_push(p, "<eos>"); }
    for (uint32_t cp = 0; cp < MAX_CP; cp++)
      if (p->cp_count[cp]) {
        char s[8];
        s[utf8_encode(cp, s)] = 0;
        vocab_push(p, s);
      }
  } else {
    if (p->delimited) { p->eos_id = p->vocab_size; vocab_push(p, "<eos>"); }
    p->unk_id = p->vocab_size;
    vocab_push(p, "<unk>");
    uint64_t n;
    wentry **all = wt_sorted(&p->words, 1, &n);
    for (uint64_t i = 0; i < n; i++) {
      if ((int64_t)all[i]->count < o->min_count) break;
      if (o->max_vocab > 0 && p->vocab_size >= o->max_vocab) break;
      all[i]->id = (int32_t)p->vocab_size;
      vocab_push(p, p->words.arena + all[i]->off);
    }
    free(all);
  }
  /* lookup tables for pass 2 */
  if (o->level == LEVEL_CHAR) {
    p->cp_id = xmalloc(MAX_CP * sizeof(int32_t));
    for (uint32_t i = 0; i < MAX_CP; i++) p->cp_id[i] = -1;
    for (int64_t i = 0; i < p->vocab_size; i++) {
      if (i == p->eos_id || i == p->unk_id) continue;
      int64_t cp = single_cp(p->vocab[i]);
      if (cp < 0) recur_fail(o->vocab_from, NULL, "char-level vocabulary entry %lld is not one character", (long long)i);
      p->cp_id[cp] = (int32_t)i;
    }
  }
  if (o->level == LEVEL_WORD && o->vocab_from)
    for (int64_t i = 0; i < p->vocab_size; i++) {
      if (i == p->eos_id || i == p->unk_id) continue;
      wentry *e = wt_find(&p->words, p->vocab[i], (int)strlen(p->vocab[i]), 1);
      e->count = 1;
      e->id = (int32_t)i;
    }
  p->tok_type = p->vocab_size <= 256 ? H5T_STD_U8LE : p->vocab_size <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE;
}

static void write_metadata(prep *p, hid_t f) {
  const prepare_opts *o = p->o;
  h5_attr_set_str(f, "format", DATASET_FORMAT);
  h5_attr_set_i64(f, "version", DATASET_VERSION);
  h5_attr_set_str(f, "level", ds_level_names[o->level]);
  h5_attr_set_str(f, "split_on", o->task != TASK_LM ? "line" : o->split_on);
  h5_attr_set_str(f, "separator", o->separator ? o->separator : "");
  h5_attr_set_str(f, "task", o->task == TASK_CLASSIFY ? "classify" : o->task == TASK_TAG ? "tag" : "lm");
  if (o->task != TASK_LM) {
    h5_attr_set_i64(f, o->task == TASK_CLASSIFY ? "n_labels" : "n_tags", p->n_out);
    h5_write_strings(f, o->task == TASK_CLASSIFY ? "label_names" : "tag_names", p->out_names, p->n_out);
  }
  h5_attr_set_i64(f, "vocab_size", p->vocab_size);
  h5_attr_set_i64(f, "eos_id", p->eos_id);
  h5_attr_set_i64(f, "unk_id", p->unk_id);
  h5_attr_set_i64(f, "seed", (int64_t)o->seed);
  h5_attr_set_f64(f, "val_fraction", o->val);
  h5_attr_set_f64(f, "test_fraction", o->test);
  h5_attr_set_str(f, "created_by", "recur prepare");
  h5_write_strings(f, "vocab", p->vocab, p->vocab_size);
}

/* Which split each sequence goes to, over all n_seq sequences (a pure function of the seed):
 * counts per split, and when a requested split drew nothing, the train sequences with the
 * smallest draws are moved there. */
static void plan_splits(prep *p) {
  const prepare_opts *o = p->o;
  uint64_t best[2] = {UINT64_MAX, UINT64_MAX};
  float bu[2] = {2.0f, 2.0f};
  p->force_val = p->force_test = UINT64_MAX;
  memset(p->split_seq, 0, sizeof p->split_seq);
  for (uint64_t i = 0; i < p->n_seq; i++) {
    int s = split_of_seq(p, i);
    p->split_seq[s]++;
    if (s != SPLIT_TRAIN) continue;
    float u = split_draw(p, i);
    if (u < bu[0]) { bu[1] = bu[0]; best[1] = best[0]; bu[0] = u; best[0] = i; }
    else if (u < bu[1]) { bu[1] = u; best[1] = i; }
  }
  if (o->val > 0 && p->split_seq[SPLIT_VAL] == 0) p->force_val = best[0];
  if (o->test > 0 && p->split_seq[SPLIT_TEST] == 0) p->force_test = p->force_val == UINT64_MAX ? best[0] : best[1];
  if ((o->val > 0 && p->split_seq[SPLIT_VAL] == 0 && p->force_val == UINT64_MAX) ||
      (o->test > 0 && p->split_seq[SPLIT_TEST] == 0 && p->force_test == UINT64_MAX))
    recur_fail(o->out, "give more sequences or set --val/--test to 0", "too few sequences (%llu) for the requested splits",
               (unsigned long long)p->n_seq);
}

/* this rank's files: contiguous runs of about equal bytes, in input order */
static void my_files(prep *p, char **files, int nf, int *lo, int *hi) {
  uint64_t total = 0, cum = 0;
  struct stat st;
  uint64_t *sz = xmalloc((size_t)nf * sizeof(uint64_t));
  for (int i = 0; i < nf; i++) {
    sz[i] = stat(files[i], &st) == 0 ? (uint64_t)st.st_size : 0;
    total += sz[i];
  }
  *lo = nf;
  *hi = 0;
  for (int i = 0; i < nf; i++) {
    uint64_t mid = cum + sz[i] / 2;
    int r = total ? (int)((double)mid * p->world / (double)total) : 0;
    if (r >= p->world) r = p->world - 1;
    if (r == p->rank) {
      if (i < *lo) *lo = i;
      *hi = i + 1;
    }
    cum += sz[i];
  }
  if (*lo > *hi) *lo = *hi = 0;
  free(sz);
}

static void shard_free(shard *s) {
  if (!s) return;
  free(s->tmp);
  free(s->final);
  free(s);
}

static void prep_free(prep *p) {
  for (int i = 0; i < p->n_done; i++) shard_free(p->done[i]);
  free(p->done);
  shard_free(p->sh);
  for (int i = 0; i < (p->sharded ? p->n_shards : 0); i++) free(p->shard_names[i]);
  free(p->shard_names);
  for (int64_t i = 0; i < p->vocab_size; i++) free(p->vocab[i]);
  free(p->vocab);
  for (int64_t i = 0; i < p->n_out; i++) free(p->out_names[i]);
  free(p->out_names);
  free(p->line_tags);
  free(p->cp_id);
  free(p->cp_count);
  wt_free(&p->words);
  wt_free(&p->outs);
  free(p);
}

void prepare_run(const prepare_opts *o) {
  h5_init();
  prep *p = xcalloc(1, sizeof(prep));
  p->o = o;
  p->tok.level = o->level;
  p->tok.ctx = p;
  p->tok.on_run = tok_run;
  p->tok.on_char = tok_char;
  p->tok.on_word = tok_word;
  p->tok.on_error = tok_fail;
  const char *modes[] = {"none", "line", "paragraph", "file", "separator"};
  p->mode = -1;
  for (int i = 0; i < 5; i++)
    if (strcmp(o->split_on, modes[i]) == 0) p->mode = i;
  RECUR_ASSERT(p->mode >= 0);
  p->delimited = p->mode != SEG_NONE;
  if (o->task != TASK_LM) { /* classify/tag: one sequence per line, no <eos> */
    p->mode = SEG_LINE;
    p->delimited = 0;
  }
  p->split_key = rng_key(o->seed, RNG_SPLIT, 0, 0, 0);
  /* several ranks split the input files between them, except for stdin and for a word-level
   * vocabulary still to be counted (rank 0 then does it all) */
  int use_stdin = 0;
  for (int i = 0; i < o->n_inputs; i++) use_stdin |= strcmp(o->inputs[i], "-") == 0;
  p->rank = core_rank();
  p->world = core_world();
  if (p->world > 1 && (use_stdin || o->task != TASK_LM || (o->level == LEVEL_WORD && !o->vocab_from))) {
    if (p->rank != 0) { free(p); return; }
    if (!o->quiet)
      fprintf(stderr, "recur: note: %s: rank 0 prepares alone\n",
              use_stdin ? "standard input" : o->task ? "labels and tags are counted on one rank" : "word level counts words on one rank");
    p->world = 1;
  }
  p->sharded = o->shard_tokens > 0 || p->world > 1;

  char **files = NULL;
  int nf = 0;
  for (int i = 0; i < o->n_inputs; i++) {
    if (strcmp(o->inputs[i], "-") == 0) {
      char *sp = spool_stdin(o->out);
      add_input(&files, &nf, sp);
      free(sp);
    } else {
      add_input(&files, &nf, o->inputs[i]);
    }
  }
  if (nf == 0) recur_fail(o->inputs[0], NULL, "no input files found");
  int flo = 0, fhi = nf;
  if (p->world > 1) my_files(p, files, nf, &flo, &fhi);

  /* pass 1: counts */
  p->pass = 1;
  if (o->level == LEVEL_CHAR) p->cp_count = xcalloc(MAX_CP, sizeof(uint64_t));
  pass_over(p, files + flo, fhi - flo);
  if (p->world > 1) {
    uint64_t mine[3] = {p->n_seq, p->n_tok, p->n_content}, base[3] = {0, 0, 0}, all[3];
    MPI_Exscan(mine, base, 3, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(mine, all, 3, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (p->rank == 0) base[0] = base[1] = 0;
    p->seq_base = base[0];
    p->tok_base = base[1];
    p->n_seq = all[0];
    p->n_tok = all[1];
    p->n_content = all[2];
    if (o->level == LEVEL_CHAR) MPI_Allreduce(MPI_IN_PLACE, p->cp_count, MAX_CP, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (o->level == LEVEL_BYTE) MPI_Allreduce(MPI_IN_PLACE, p->byte_count, 256, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  }
  if (p->n_content == 0)
    recur_fail(nf == 1 ? files[0] : o->inputs[0], "give a file with some text in it", "input is empty: no text found");
  build_vocab(p);
  if (o->task != TASK_LM) { /* label or tag names, sorted; ids are their indices */
    uint64_t n;
    wentry **all = wt_sorted(&p->outs, 0, &n);
    p->out_names = xmalloc((n + 1) * sizeof(char *));
    for (uint64_t i = 0; i < n; i++) {
      all[i]->id = (int32_t)i;
      p->out_names[i] = xstrdup(p->outs.arena + all[i]->off);
    }
    p->n_out = (int64_t)n;
    free(all);
    if (n < 1) recur_fail(o->out, NULL, "no labels or tags found");
  }

  if (p->mode != SEG_NONE) {
    plan_splits(p);
  } else { /* an undelimited stream: val and test are its tail */
    uint64_t nt = (uint64_t)((double)p->n_tok * o->test), nv = (uint64_t)((double)p->n_tok * o->val);
    if (o->test > 0 && nt == 0) nt = 1;
    if (o->val > 0 && nv == 0) nv = 1;
    if (nt + nv >= p->n_tok)
      recur_fail(o->out, "give more text or smaller --val/--test", "too little text (%llu tokens) for the requested splits",
                 (unsigned long long)p->n_tok);
    p->cut[1] = p->n_tok - nt;
    p->cut[0] = p->cut[1] - nv;
  }

  /* pass 2: encode and write, this rank's sequences from global index seq_base on */
  p->pass = 2;
  p->n_seq = p->seq_base;
  p->gpos = p->tok_base;
  p->n_content = 0;
  if (p->mode == SEG_NONE) p->cur_split = p->gpos < p->cut[0] ? SPLIT_TRAIN : p->gpos < p->cut[1] ? SPLIT_VAL : SPLIT_TEST;
  else p->cur_split = split_of_seq(p, p->seq_base);
  shard_open(p);
  update_limit(p);
  pass_over(p, files + flo, fhi - flo);
  shard_close(p);

  uint64_t cnt[2 * SPLIT_COUNT] = {0}; /* tokens, then sequences, per split */
  for (int i = 0; i < p->n_done; i++)
    for (int k = 0; k < SPLIT_COUNT; k++) {
      cnt[k] += p->done[i]->w[k].ntok;
      cnt[SPLIT_COUNT + k] += p->done[i]->w[k].nseq;
    }
  for (int k = 0; k < SPLIT_COUNT; k++) {
    cnt[k] += p->sh->w[k].ntok;
    cnt[SPLIT_COUNT + k] += p->sh->w[k].nseq;
  }

  if (p->sharded) {
    /* every rank's shard names, in rank order, to rank 0 */
    char *names = NULL;
    int nlen = 0, *lens = NULL, *displs = NULL, total = 0;
    for (int i = 0; i < p->n_shards; i++) {
      int l = (int)strlen(p->shard_names[i]) + 1;
      names = xrealloc(names, (size_t)(nlen + l));
      memcpy(names + nlen, p->shard_names[i], (size_t)l);
      nlen += l;
    }
    char *alln = NULL;
    if (p->world > 1) {
      MPI_Allreduce(MPI_IN_PLACE, cnt, 2 * SPLIT_COUNT, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
      lens = xmalloc((size_t)p->world * sizeof(int));
      displs = xmalloc((size_t)p->world * sizeof(int));
      MPI_Gather(&nlen, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
      for (int r = 0; r < p->world && p->rank == 0; r++) { displs[r] = total; total += lens[r]; }
      alln = xmalloc((size_t)(total > 0 ? total : 1));
      MPI_Gatherv(names, nlen, MPI_CHAR, alln, lens, displs, MPI_CHAR, 0, MPI_COMM_WORLD);
    } else {
      alln = names;
      total = nlen;
      names = NULL;
    }
    /* every shard is complete on every rank before any becomes visible */
    if (p->world > 1) MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < p->n_done; i++) core_commit(p->done[i]->tmp, p->done[i]->final);
    core_commit(p->sh->tmp, p->sh->final);
    if (p->world > 1) MPI_Barrier(MPI_COMM_WORLD);
    if (p->rank == 0) {
      int ns = 0;
      char **list = NULL;
      for (int off = 0; off < total; off += (int)strlen(alln + off) + 1) {
        list = xrealloc(list, (size_t)(ns + 1) * sizeof(char *));
        list[ns++] = alln + off;
      }
      char *tmp = core_path("%s.tmp-%d", o->out, (int)getpid());
      hid_t f = h5_create(tmp, "output file", "check that the output directory exists and is writable");
      core_tempfile_add(tmp);
      write_metadata(p, f);
      h5_write_strings(f, "shards", list, ns);
      for (int k = 0; k < SPLIT_COUNT; k++) {
        hid_t g = H5Gcreate2(f, ds_split_names[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        h5_attr_set_i64(g, "n_sequences", (int64_t)cnt[SPLIT_COUNT + k]);
        h5_attr_set_i64(g, "n_tokens", (int64_t)cnt[k]);
        H5Gclose(g);
      }
      h5_close_file(f, tmp);
      core_commit(tmp, o->out);
      free(tmp);
      free(list);
    }
    free(names); free(alln); free(lens); free(displs);
  } else {
    write_metadata(p, p->sh->f);
    h5_close_file(p->sh->f, p->sh->tmp);
    core_commit(p->sh->tmp, o->out);
  }
  for (int i = 0; i < nf; i++) {
    if (strstr(files[i], ".stdin-")) { unlink(files[i]); core_tempfile_forget(files[i]); }
    free(files[i]);
  }
  free(files);
  if (!o->quiet && p->rank == 0)
    printf("wrote %s: %s level, vocabulary %lld, train %llu seq / %llu tok, val %llu / %llu, test %llu / %llu%s\n", o->out,
           ds_level_names[o->level], (long long)p->vocab_size, (unsigned long long)cnt[3], (unsigned long long)cnt[0],
           (unsigned long long)cnt[4], (unsigned long long)cnt[1], (unsigned long long)cnt[5], (unsigned long long)cnt[2],
           p->sharded ? (p->world > 1 ? " (sharded by rank)" : " (sharded)") : "");
  prep_free(p);
}

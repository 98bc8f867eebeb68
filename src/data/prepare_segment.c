/* prepare_segment: bytes -> sequences (by line, paragraph, separator or file) and their tokens (the
 * tokenizer of tokenize.h), and labeled lines for classification and tagging. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>
#include "prepare-impl.h"
#include "recur/infile.h"

/* How a word-level token is spaced against word tokens beside it (see wentry): counted against
 * the token before it, found by its slot while the same table holds it (an insert that grows the
 * table, or seq2seq's other side, gives another: then by its text again). */
static void prep_count_glue(prep *p, wentry *e, const char *w, int n) {
  wentry *b = NULL;
  if (p->glue_prev_n)
    b = p->glue_prev_table == p->words.e ? &p->words.e[p->glue_prev_slot]
                                         : prep_wt_find(&p->words, p->glue_prev, p->glue_prev_n, 0);
  const int glued = p->tok.glued, word = token_is_word_byte((unsigned char)w[0]),
            prev_word = p->glue_prev_word;
  if (b && prev_word) {
    e->after_word++;
    e->glued_before += (uint64_t)glued;
  }
  if (b && word) {
    b->before_word++;
    b->glued_after += (uint64_t)glued;
  }
  if (b && !prev_word && !word && w[0] != '\n') {
    e->after_mark++;
    e->glued_mark += (uint64_t)glued;
  }
  memcpy(p->glue_prev, w, (size_t)n);
  p->glue_prev_n = w[0] == '\n' ? 0 : n; /* a line's first token follows nothing */
  p->glue_prev_word = word;
  p->glue_prev_slot = e - p->words.e;
  p->glue_prev_table = p->words.e;
}

void prep_tok_word(void *ctx, const char *w, int n) {
  prep *p = ctx;
  if (!prep_side_room(p)) return;
  p->n_content++;
  if (p->pass == 1) {
    p->seq_tok++;
    if (!p->o->vocab_from) {
      wentry *e = prep_wt_find(&p->words, w, n, 1);
      e->count++;
      prep_count_glue(p, e, w, n);
    }
    return;
  }
  wentry *e = prep_wt_find(&p->words, w, n, 0);
  int64_t id = e && e->id >= 0 ? e->id : p->unk_id;
  if (p->src_side) return prep_push_src(p, (uint32_t)id);
  emit_id(p, (uint32_t)id);
}

void prep_tok_fail(void *ctx, enum token_error e, uint64_t off) {
  prep *p = ctx;
  if (e == TOKEN_ERR_NUL)
    recur_fail(p->cur_file, "use --level byte for text with NUL bytes",
               "NUL character at byte %llu", (unsigned long long)off);
  char *where = core_path("%s:byte %llu", p->cur_file, (unsigned long long)off);
  recur_fail(where, "use --level byte for text that is not UTF-8", "invalid UTF-8");
}

/* byte level: any run; char level: a run of ASCII */
void prep_tok_run(void *ctx, const unsigned char *b, size_t n, uint64_t off) {
  prep *p = ctx;
  if (n > p->side_left) n = (size_t)p->side_left, p->side_cut = 1;
  p->side_left -= n;
  p->n_content += n;
  if (p->pass == 1) {
    uint64_t *cnt = p->o->level == LEVEL_BYTE ? p->byte_count : p->cp_count;
    for (size_t k = 0; k < n; k++) cnt[b[k]]++;
    p->seq_tok += n;
  } else {
    const int32_t *map = p->o->level == LEVEL_BYTE ? prep_identity_map() : p->cp_id;
    if (!p->src_side) return prep_emit_run(p, b, n, map, off);
    for (size_t k = 0; k < n; k++) {
      if (map[b[k]] < 0) prep_fail_not_in_vocab(p, b[k], off + k);
      prep_push_src(p, (uint32_t)map[b[k]]);
    }
  }
}

/* char level: one code point >= 128 (ASCII comes in runs) */
void prep_tok_char(void *ctx, uint32_t cp, uint64_t off) {
  prep *p = ctx;
  if (!prep_side_room(p)) return;
  p->n_content++;
  if (p->pass == 1) {
    p->seq_tok++;
    p->cp_count[cp]++;
    return;
  }
  int32_t id = p->cp_id[cp];
  if (id < 0) prep_fail_not_in_vocab(p, cp, off);
  if (p->src_side) return prep_push_src(p, (uint32_t)id);
  emit_id(p, (uint32_t)id);
}

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
    if (p->seq_open) prep_seq_close(p);
  } else {
    if (p->delimited) emit_id(p, (uint32_t)p->eos_id);
    if (p->seq_open) {
      prep_seq_close(p);
      p->n_seq++;
      p->cur_split = prep_split_of_seq(p, p->n_seq);
      if (p->o->shard_tokens && p->sh->ntok >= p->o->shard_tokens) prep_shard_rotate(p);
    }
  }
}

/* ---- segmentation: bytes -> content + sequence ends ---- */
static void seg_block(prep *p, const unsigned char *b, size_t n, uint64_t off) {
  size_t i = 0;
  switch (p->mode) {
  case SEG_COUNT:
  case SEG_NONE:
  case SEG_FILE: tok_feed(p, b, n, off); return;
  case SEG_LINE:
    while (i < n) {
      const unsigned char *nl = memchr(b + i, '\n', n - i);
      size_t e = nl ? (size_t)(nl - b) : n;
      if (e > i) {
        tok_feed(p, b + i, e - i, off + i);
        p->line_bytes = 1;
      }
      if (nl) {
        on_end(p);
        p->line_bytes = 0;
        i = e + 1;
      } else
        i = n;
    }
    return;
  case SEG_PARAGRAPH:
    for (; i < n; i++) {
      if (b[i] == '\n') {
        p->pending_nl++;
        continue;
      }
      if (p->in_par && p->pending_nl >= 2) {
        on_end(p);
        p->in_par = 0;
      }
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
        if (p->npend < sl && (char)c == sep[p->npend]) {
          p->pend[p->npend++] = (char)c;
          continue;
        }
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
  case SEG_COUNT:
  case SEG_NONE: on_end(p); break;
  case SEG_FILE:
    if (p->seq_has_content) on_end(p);
    break;
  case SEG_LINE:
    if (p->line_bytes) on_end(p);
    break;
  case SEG_PARAGRAPH:
    if (p->in_par) on_end(p);
    break;
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
    prep_wt_find(&p->outs, s, n, 1)->count++;
    return 0;
  }
  wentry *e = prep_wt_find(&p->outs, s, n, 0);
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

void prep_push_src(prep *p, uint32_t id) {
  if (p->n_src == p->cap_src) {
    p->cap_src = p->cap_src ? 2 * p->cap_src : 1024;
    p->src_ids = xrealloc(p->src_ids, p->cap_src * sizeof(uint32_t));
  }
  p->src_ids[p->n_src++] = id;
}

/* --max-len: a side that lost tokens is counted (pass 1), or refused with --strict */
static void side_check(prep *p, const char *where, const char *side) {
  if (!p->side_cut || p->pass != 1) return;
  if (p->o->strict)
    recur_fail(where, "give shorter lines, a larger --max-len, or no --strict to cut them",
               "the %s is longer than --max-len %lld tokens", side, (long long)p->o->max_len);
  p->n_cut[side[0] == 't']++;
}

/* seq2seq: source<TAB>target. The source's symbols count toward the vocabulary (pass 1) and go to
 * src_ids (pass 2); the target is the sequence (ending with <eos>). */
static void pair_line(prep *p, char *line, size_t len, uint64_t off, const char *where) {
  char *tab = memchr(line, '\t', len);
  if (!tab) recur_fail(where, "seq2seq lines are source<TAB>target", "no tab");
  uint64_t keep = p->seq_tok;
  const uint64_t cap = p->o->max_len > 0 ? (uint64_t)p->o->max_len : UINT64_MAX;
  p->n_src = 0;
  p->src_side = 1;
  p->side_left = cap;
  p->side_cut = 0;
  prep_side_swap(p); /* --separate-vocab: the sources' tables */
  tok_feed(p, (unsigned char *)line, (size_t)(tab - line), off);
  tokenizer_end(&p->tok);
  prep_side_swap(p);
  p->src_side = 0;
  side_check(p, where, "source");
  uint64_t nsrc = p->pass == 1 ? p->seq_tok - keep : p->n_src;
  p->seq_tok = keep;
  if (nsrc == 0) recur_fail(where, "give a source text before the tab", "empty source");
  p->side_left = cap;
  p->side_cut = 0;
  tok_feed(p, (unsigned char *)tab + 1, len - (size_t)(tab + 1 - line),
           off + (uint64_t)(tab + 1 - line));
  tokenizer_end(&p->tok);
  side_check(p, where, "target");
  p->side_left = UINT64_MAX;
  if (p->pass == 1 && p->seq_tok == 0)
    recur_fail(where, "give a target text after the tab", "empty target");
  on_end(p);
}

static void labeled_line(prep *p, char *line, size_t len, uint64_t off) {
  char *where = core_path("%s:line %llu", p->cur_file, (unsigned long long)p->lineno);
  if (len && line[len - 1] == '\r') line[--len] = 0;
  if (len == 0) return xfree(where);
  char *tab = memchr(line, '\t', len);
  p->n_line_tags = 0;
  if (task_is(p->o->task)->source && !p->cond) {
    pair_line(p, line, len, off, where);
    return xfree(where);
  }
  if (task_is(p->o->task)->labels || p->cond) { /* --cond-features: id<TAB>text */
    if (!tab || tab == line)
      recur_fail(where,
                 task_is(p->o->task)->pooled ? "classification lines are label<TAB>text"
                 : p->cond                   ? "lines are id<TAB>text (--cond-features)"
                                             : "conditioned text lines are label<TAB>text",
                 p->cond ? "no id before a tab" : "no label before a tab");
    if (!task_is(p->o->task)->pooled && tab + 1 == line + len)
      recur_fail(where, "give the text the label conditions", "no text after the tab");
    p->cur_label = p->cond ? (uint32_t)prep_cond_find(p->cond, line, (int)(tab - line), where)
                           : out_id(p, line, (int)(tab - line));
    tok_feed(p, (unsigned char *)tab + 1, len - (size_t)(tab + 1 - line),
             off + (uint64_t)(tab + 1 - line));
    on_end(p);
    xfree(where);
    return;
  }
  if (p->o->level == LEVEL_WORD) { /* word/TAG tokens */
    const char *next = line, *end = line + len, *s;
    int n;
    while ((s = tokenize_field(&next, end, &n))) {
      const char *e = s + n, *sl = e - 1;
      while (sl > s && *sl != '/') sl--;
      if (sl == s || sl + 1 == e)
        recur_fail(where, "word-level tagging lines are word/TAG tokens", "'%.*s' is not word/TAG",
                   (int)(e - s), s);
      p->seq_has_content = 1;
      p->tok.glued = 0; /* word/TAG tokens lie between spaces */
      prep_tok_word(p, s, (int)(sl - s));
      uint32_t t = out_id(p, sl + 1, (int)(e - sl - 1));
      if (p->pass == 2)
        push_tag(p, t);
      else
        p->n_line_tags++;
    }
    on_end(p);
    xfree(where);
    return;
  }
  if (!tab)
    recur_fail(where, "character tagging lines are text<TAB>tags, a tag character per character",
               "no tab");
  uint64_t before = p->seq_tok;
  tok_feed(p, (unsigned char *)line, (size_t)(tab - line), off);
  const unsigned char *t = (unsigned char *)tab + 1, *te = (unsigned char *)line + len;
  while (t < te) { /* one tag per UTF-8 character */
    int n = *t < 0x80 ? 1 : *t < 0xE0 ? 2 : *t < 0xF0 ? 3 : 4;
    if (t + n > te) n = (int)(te - t);
    uint32_t id = out_id(p, (const char *)t, n);
    if (p->pass == 2)
      push_tag(p, id);
    else
      p->n_line_tags++;
    t += n;
  }
  if (p->pass == 1 && p->seq_tok - before != p->n_line_tags)
    recur_fail(where, "give one tag character per text character", "%llu characters but %llu tags",
               (unsigned long long)(p->seq_tok - before), (unsigned long long)p->n_line_tags);
  on_end(p);
  xfree(where);
}

static void labeled_file(prep *p, const char *path) {
  FILE *f = infile_open(path);
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
  xfree(line);
  xfclose(f);
}

/* Progress on rank 0 (not with --quiet), on stderr: on a terminal one line redrawn (bytes of
 * both passes, MB/s, ETA); otherwise (a log, a pipe) a plain line at the end of each pass and
 * at most one every PROGRESS_LOG_S seconds within it, without control characters. */
#define PROGRESS_LOG_S 30.0
typedef struct {
  int on, tty;
  uint64_t total, done; /* bytes of both passes */
  double t0, t_draw, t_line;
} progress;
static progress g_prog;

static void progress_draw(prep *p, int force) {
  double now = core_now();
  if (!force && now - g_prog.t_draw < 0.25) return;
  g_prog.t_draw = now;
  double el = now - g_prog.t0, mbs = el > 0 ? (double)g_prog.done / el / 1e6 : 0;
  double eta =
      g_prog.done > 0 ? el * (double)(g_prog.total - g_prog.done) / (double)g_prog.done : 0;
  fprintf(stderr, "\rprepare: pass %d/2  %.1f of %.1f MB  %.0f MB/s  ETA %dm%02ds  ", p->pass,
          (double)g_prog.done / 1e6, (double)g_prog.total / 1e6, mbs, (int)eta / 60, (int)eta % 60);
}

/* a piece that ends inside its file, just after a newline: the next rank goes on from there */
static void seg_piece_cut(prep *p) {
  tokenizer_end(&p->tok); /* nothing is pending after a newline */
  if (p->mode != SEG_NONE) return;
  if (p->pass == 1) { /* the stream's tokens so far, without ending it */
    p->n_tok += p->seq_tok;
    p->seq_tok = 0;
  } else if (p->seq_open) {
    prep_seq_close(p);
  }
}

/* a compressed input: its text, as it is decompressed (infile.h), always a whole file */
static void compressed_file(prep *p, const char *path, unsigned char *buf) {
  FILE *in = infile_open(path);
  if (!in) recur_fail(p->cur_file, NULL, "cannot open input: %s", strerror(errno));
  uint64_t off = 0;
  size_t r;
  while ((r = fread(buf, 1, READ_BLOCK, in)) > 0) {
    seg_block(p, buf, r, off);
    off += r;
  }
  xfclose(in);
  seg_file_end(p);
}

void prep_pass_over(prep *p, char **files, const prep_piece *pc, int n) {
  unsigned char *buf = xmalloc(READ_BLOCK);
  if (p->pass == 1) {
    memset(&g_prog, 0, sizeof g_prog);
    g_prog.on = p->rank == 0 && !p->o->quiet;
    g_prog.tty = isatty(2);
    g_prog.t0 = g_prog.t_line = core_now();
    for (int f = 0; f < n; f++) g_prog.total += 2 * (pc[f].hi - pc[f].lo);
  }
  for (int f = 0; f < n; f++) {
    const char *path = files[pc[f].file];
    p->cur_file = prep_input_name(path);
    uint64_t size = pc[f].hi - pc[f].lo;
    if (!task_is(p->o->task)->stream) {
      labeled_file(p, path);
    } else if (infile_kind_of(path) != INFILE_PLAIN) { /* whole, decompressed as it is read */
      compressed_file(p, path, buf);
    } else {
      int fd = open(path, O_RDONLY);
      if (fd < 0) recur_fail(p->cur_file, NULL, "cannot open input: %s", strerror(errno));
      uint64_t off = pc[f].lo;
      if (off > 0 && lseek(fd, (off_t)off, SEEK_SET) < 0)
        recur_fail(p->cur_file, NULL, "cannot seek in input: %s", strerror(errno));
      while (off < pc[f].hi) {
        uint64_t want = pc[f].hi - off < READ_BLOCK ? pc[f].hi - off : READ_BLOCK;
        ssize_t r = read(fd, buf, (size_t)want);
        if (r < 0) recur_fail(p->cur_file, NULL, "cannot read input: %s", strerror(errno));
        if (r == 0) break;
        seg_block(p, buf, (size_t)r, off);
        off += (uint64_t)r;
        if (g_prog.on && g_prog.tty) {
          g_prog.done += (uint64_t)r;
          progress_draw(p, 0);
        }
      }
      close(fd);
      if (pc[f].hi < pc[f].size)
        seg_piece_cut(p);
      else
        seg_file_end(p);
      if (g_prog.on && g_prog.tty) g_prog.done -= off - pc[f].lo; /* counted once below */
    }
    if (g_prog.on) {
      g_prog.done += size;
      if (g_prog.tty) {
        progress_draw(p, 0);
      } else if (f == n - 1 || core_now() - g_prog.t_line >= PROGRESS_LOG_S) {
        double now = core_now(), el = now - g_prog.t0;
        g_prog.t_line = now;
        fprintf(stderr, "prepare: pass %d/2: %d of %d file%s read, %.1f of %.1f MB, %.0f MB/s\n",
                p->pass, f + 1, n, n == 1 ? "" : "s", (double)g_prog.done / 1e6,
                (double)g_prog.total / 1e6, el > 0 ? (double)g_prog.done / el / 1e6 : 0);
      }
    }
  }
  if (g_prog.on && g_prog.tty && p->pass == 2) {
    progress_draw(p, 1);
    fputc('\n', stderr);
  }
  xfree(buf);
}

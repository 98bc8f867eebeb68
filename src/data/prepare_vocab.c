/* prepare_vocab: the word table (string -> count, id), the vocabulary built from the counts
 * (or taken from --vocab), and the metadata every dataset file carries. */
#define _POSIX_C_SOURCE 200809L

#include <mpi.h>

#include "prepare-impl.h"
#include "recur/dist.h"

static uint64_t str_hash(const char *s, int n) {
  uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return rng_mix(h);
}

wentry *prep_wt_find(wtable *t, const char *s, int n, int insert) {
  if (insert && (t->n + 1) * 2 > t->cap) {
    uint64_t nc = t->cap ? t->cap * 2 : 1024;
    wentry *ne = xcalloc(nc, sizeof(wentry));
    for (uint64_t i = 0; i < t->cap; i++)
      if (t->e[i].len || t->e[i].count) {
        uint64_t j = t->e[i].hash & (nc - 1);
        while (ne[j].count) j = (j + 1) & (nc - 1);
        ne[j] = t->e[i];
      }
    xfree(t->e);
    t->e = ne;
    t->cap = nc;
  }
  if (!t->cap) return NULL;
  uint64_t h = str_hash(s, n), j = h & (t->cap - 1);
  while (t->e[j].count) {
    if (t->e[j].hash == h && t->e[j].len == (uint32_t)n &&
        memcmp(t->arena + t->e[j].off, s, (size_t)n) == 0)
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
wentry **prep_wt_sorted(const wtable *t, int by_count, uint64_t *n) {
  wentry **all = xmalloc((t->n + 1) * sizeof(wentry *));
  uint64_t k = 0;
  for (uint64_t i = 0; i < t->cap; i++)
    if (t->e[i].count) all[k++] = &t->e[i];
  entry_order order = {t, by_count};
  core_sort(all, k, sizeof *all, entry_cmp, &order);
  *n = k;
  return all;
}

void prep_wt_free(wtable *t) {
  xfree(t->e);
  xfree(t->arena);
}

static void vocab_push(prep *p, const char *s) {
  p->vocab = xrealloc(p->vocab, (size_t)(p->vocab_size + 1) * sizeof(char *));
  p->vocab[p->vocab_size++] = xstrdup(s);
}

static int utf8_encode(uint32_t cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
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

void prep_build_vocab(prep *p) {
  const prepare_opts *o = p->o;
  p->eos_id = p->unk_id = -1;
  if (o->level == LEVEL_SPM) {
    prep_spm_vocab(p);
  } else if (o->vocab_from) {
    dataset *src = dataset_open(o->vocab_from);
    if (src->level != o->level)
      recur_fail(o->vocab_from, "use a vocabulary of the same --level",
                 "vocabulary is %s level, not %s", ds_level_names[src->level],
                 ds_level_names[o->level]);
    for (int64_t i = 0; i < src->vocab_size; i++) vocab_push(p, src->vocab[i]);
    if (src->vocab_glue) { /* its spacing too */
      p->glue = xmalloc((size_t)src->vocab_size);
      memcpy(p->glue, src->vocab_glue, (size_t)src->vocab_size);
    }
    p->eos_id = src->eos_id;
    p->unk_id = src->unk_id;
    dataset_close(src);
    if (p->delimited && p->eos_id < 0)
      recur_fail(o->vocab_from, "prepare with the same --split-on",
                 "vocabulary has no <eos> for delimited sequences");
    if (o->level == LEVEL_WORD && p->unk_id < 0)
      recur_fail(o->vocab_from, NULL, "word vocabulary has no <unk>");
  } else if (o->level == LEVEL_BYTE) {
    for (int b = 0; b < 256; b++) {
      char name[16];
      if (b > 0 && b < 0x80) {
        name[0] = (char)b;
        name[1] = 0;
      } else
        snprintf(name, sizeof name, "<0x%02X>", b);
      vocab_push(p, name);
    }
    if (p->delimited) {
      p->eos_id = 256;
      vocab_push(p, "<eos>");
    }
  } else if (o->level == LEVEL_CHAR) {
    if (p->delimited) {
      p->eos_id = 0;
      vocab_push(p, "<eos>");
    }
    for (uint32_t cp = 0; cp < MAX_CP; cp++)
      if (p->cp_count[cp]) {
        char s[8];
        s[utf8_encode(cp, s)] = 0;
        vocab_push(p, s);
      }
  } else {
    if (p->delimited) {
      p->eos_id = p->vocab_size;
      vocab_push(p, "<eos>");
    }
    p->unk_id = p->vocab_size;
    vocab_push(p, "<unk>");
    uint64_t n;
    wentry **all = prep_wt_sorted(&p->words, 1, &n);
    int64_t first = p->vocab_size, kept = 0;
    while (kept < (int64_t)n && (int64_t)all[kept]->count >= o->min_count &&
           (o->max_vocab <= 0 || first + kept < o->max_vocab))
      kept++;
    p->glue = xcalloc((size_t)(first + kept), 1); /* how each entry is spaced, by majority */
    for (int64_t i = 0; i < kept; i++) {
      const wentry *e = all[i];
      all[i]->id = (int32_t)p->vocab_size;
      p->glue[p->vocab_size] =
          (unsigned char)((2 * e->glued_before > e->after_word ? TOKEN_GLUE_BEFORE : 0) |
                          (2 * e->glued_after > e->before_word ? TOKEN_GLUE_AFTER : 0) |
                          (2 * e->glued_mark > e->after_mark ? TOKEN_GLUE_MARK : 0));
      vocab_push(p, p->words.arena + all[i]->off);
    }
    xfree(all);
  }
  /* lookup tables for pass 2 */
  if (o->level == LEVEL_CHAR) {
    p->cp_id = xmalloc(MAX_CP * sizeof(int32_t));
    for (uint32_t i = 0; i < MAX_CP; i++) p->cp_id[i] = -1;
    for (int64_t i = 0; i < p->vocab_size; i++) {
      if (i == p->eos_id || i == p->unk_id) continue;
      int64_t cp = single_cp(p->vocab[i]);
      if (cp < 0)
        recur_fail(o->vocab_from, NULL, "char-level vocabulary entry %lld is not one character",
                   (long long)i);
      p->cp_id[cp] = (int32_t)i;
    }
  }
  if (o->level == LEVEL_WORD && o->vocab_from)
    for (int64_t i = 0; i < p->vocab_size; i++) {
      if (i == p->eos_id || i == p->unk_id) continue;
      wentry *e = prep_wt_find(&p->words, p->vocab[i], (int)strlen(p->vocab[i]), 1);
      e->count = 1;
      e->id = (int32_t)i;
    }
  p->tok_type = p->vocab_size <= 256     ? H5T_STD_U8LE
                : p->vocab_size <= 65536 ? H5T_STD_U16LE
                                         : H5T_STD_U32LE;
}

void prep_side_swap(prep *p) {
  if (!p->o->separate_vocab) return;
  struct prep_vocab_side *s = &p->side, t = *s;
  s->cp_count = p->cp_count, p->cp_count = t.cp_count;
  s->words = p->words, p->words = t.words;
  s->cp_id = p->cp_id, p->cp_id = t.cp_id;
  s->vocab = p->vocab, p->vocab = t.vocab;
  s->glue = p->glue, p->glue = t.glue;
  s->vocab_size = p->vocab_size, p->vocab_size = t.vocab_size;
  s->eos_id = p->eos_id, p->eos_id = t.eos_id;
  s->unk_id = p->unk_id, p->unk_id = t.unk_id;
  s->tok_type = p->tok_type, p->tok_type = t.tok_type;
  if (t.spm) { /* subwords: the side's model encodes it */
    s->spm = p->spm, p->spm = t.spm;
    p->tok.spm = p->spm;
  }
}

void prep_build_src_vocab(prep *p) {
  if (!p->o->separate_vocab) return;
  prep_side_swap(p); /* the sources' counts in place, an empty vocabulary */
  prep_build_vocab(p);
  prep_side_swap(p);
}

void prep_write_metadata(prep *p, hid_t f) {
  const prepare_opts *o = p->o;
  h5_attr_set_str(f, "format", DATASET_FORMAT);
  h5_attr_set_str(f, "recur_version", recur_version()); /* the writer */
  h5_attr_set_i64(f, "version", DATASET_VERSION);
  h5_attr_set_str(f, "level", ds_level_names[o->level]);
  h5_attr_set_str(f, "split_on", !task_is(o->task)->stream ? "line" : seg_mode_names[o->split_on]);
  h5_attr_set_str(f, "separator", o->separator ? o->separator : "");
  h5_attr_set_str(f, "task", task_names[o->task]);
  if (p->cond) {
    prep_cond_write(p->cond, f);
  } else if (task_has_names(o->task)) {
    h5_attr_set_i64(f, task_is(o->task)->labels ? "n_labels" : "n_tags", p->n_out);
    h5_write_strings(f, task_is(o->task)->labels ? "label_names" : "tag_names", p->out_names,
                     p->n_out);
  }
  h5_attr_set_i64(f, "vocab_size", p->vocab_size);
  if (o->separate_vocab) { /* the sources' */
    h5_attr_set_i64(f, "src_vocab_size", p->side.vocab_size);
    h5_attr_set_i64(f, "src_unk_id", p->side.unk_id);
    h5_write_strings(f, "src_vocab", p->side.vocab, p->side.vocab_size);
  }
  h5_attr_set_i64(f, "eos_id", p->eos_id);
  h5_attr_set_i64(f, "unk_id", p->unk_id);
  h5_attr_set_i64(f, "seed", (int64_t)o->seed);
  h5_attr_set_f64(f, "val_fraction", o->val);
  h5_attr_set_f64(f, "test_fraction", o->test);
  h5_attr_set_str(f, "created_by", "recur prepare");
  h5_write_strings(f, "vocab", p->vocab, p->vocab_size);
  size_t n = 0;
  if (p->spm) { /* spm level: the model itself, so every later use encodes and decodes with it */
    const void *proto = spm_proto(p->spm, &n);
    h5_write_bytes(f, "spm_model", proto, (int64_t)n);
  }
  if (p->side.spm) { /* --separate-vocab: the sources' model */
    const void *proto = spm_proto(p->side.spm, &n);
    h5_write_bytes(f, "src_spm_model", proto, (int64_t)n);
  }
  if (p->glue) /* word level: how the text is given back (tokenize.h) */
    h5_write_bytes(f, "vocab_glue", p->glue, p->vocab_size);
}

/* Word level under mpirun: each rank counted its own part; every rank's (counts, word) records go
 * to every rank (MPI_Allgatherv) and are summed into a new table, so each rank builds the same
 * vocabulary a single rank would (its order depends on counts and bytes only). */
#define WREC 60 /* a record: count and the six spacing counts (8 bytes each), length (4), bytes */
void prep_words_allmerge(prep *p) {
  wtable *t = &p->words;
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < t->cap; i++)
    if (t->e[i].count) bytes += WREC + t->e[i].len;
  uint64_t *all = xmalloc((size_t)p->world * sizeof(uint64_t));
  const char *what = "the other ranks' word tables";
  DIST_WAIT(what, MPI_Allgather(&bytes, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, core_comm()));
  uint64_t total = 0;
  int *lens = xmalloc((size_t)p->world * sizeof(int)),
      *displs = xmalloc((size_t)p->world * sizeof(int));
  for (int r = 0; r < p->world; r++) {
    displs[r] = (int)total;
    lens[r] = (int)all[r];
    total += all[r];
  }
  if (total > INT32_MAX)
    recur_fail(p->o->out, "prepare on one rank, or give the vocabulary with --vocab",
               "the ranks' word tables (%.1f GB) are too large to merge", (double)total / 1e9);
  unsigned char *mine = xmalloc((size_t)(bytes > 0 ? bytes : 1)), *w = mine;
  for (uint64_t i = 0; i < t->cap; i++)
    if (t->e[i].count) {
      const wentry *x = &t->e[i];
      const uint64_t c[7] = {x->count,       x->after_word, x->glued_before, x->before_word,
                             x->glued_after, x->after_mark, x->glued_mark};
      memcpy(w, c, 56);
      memcpy(w + 56, &x->len, 4);
      memcpy(w + WREC, t->arena + t->e[i].off, t->e[i].len);
      w += WREC + t->e[i].len;
    }
  unsigned char *buf = xmalloc((size_t)(total > 0 ? total : 1));
  DIST_WAIT(what,
            MPI_Allgatherv(mine, (int)bytes, MPI_BYTE, buf, lens, displs, MPI_BYTE, core_comm()));
  wtable merged = {0};
  for (const unsigned char *r = buf; r < buf + total;) {
    uint64_t c[7];
    uint32_t n;
    memcpy(c, r, 56);
    memcpy(&n, r + 56, 4);
    wentry *e = prep_wt_find(&merged, (const char *)r + WREC, (int)n, 1);
    e->count += c[0];
    e->after_word += c[1];
    e->glued_before += c[2];
    e->before_word += c[3];
    e->glued_after += c[4];
    e->after_mark += c[5];
    e->glued_mark += c[6];
    r += WREC + n;
  }
  prep_wt_free(t);
  *t = merged;
  xfree(buf);
  xfree(mine);
  xfree(lens);
  xfree(displs);
  xfree(all);
}

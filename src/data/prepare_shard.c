/* prepare_shard: split writers (tokens, offsets, labels, tags) and shard files, written under a
 * temporary name; emitting token ids to the split of the current sequence or stream position. */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "prepare-impl.h"

int prep_split_of_seq(prep *p, uint64_t i) {
  if (i == p->force_val) return SPLIT_VAL;
  if (i == p->force_test) return SPLIT_TEST;
  float u = split_draw(p, i);
  if (u < p->val) return SPLIT_VAL;
  if (u < p->val + p->o->test) return SPLIT_TEST;
  return SPLIT_TRAIN;
}

void prep_writer_flush_tokens(split_writer *w) {
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

void prep_shard_open(prep *p) {
  const prepare_opts *o = p->o;
  p->sh = xcalloc(1, sizeof(shard));
  shard *s = p->sh;
  if (p->sharded) {
    char *base = xstrdup(o->out);
    size_t bl = strlen(base);
    if (bl > 3 && strcmp(base + bl - 3, ".h5") == 0) base[bl - 3] = 0;
    if (p->world > 1)
      s->final = core_path("%s-r%03d-shard-%05d.h5", base, p->rank, p->n_shards);
    else
      s->final = core_path("%s-shard-%05d.h5", base, p->n_shards);
    xfree(base);
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
  h5_attr_set_str(s->f, "recur_version", recur_version()); /* the writer */
  h5_attr_set_i64(s->f, "version", DATASET_VERSION);
  h5_attr_set_i64(s->f, "vocab_size", p->vocab_size);
  for (int k = 0; k < SPLIT_COUNT; k++) {
    hid_t g = H5Gcreate2(s->f, ds_split_names[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int width = (int)H5Tget_size(p->tok_type);
    hid_t mem = width == 1 ? H5T_NATIVE_UINT8 : width == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT32;
    s->w[k].width = width;
    h5_appender_open(&s->w[k].tok, g, "tokens", p->tok_type, mem, (size_t)width, DATASET_CHUNK,
                     s->tmp);
    h5_appender_open(&s->w[k].off, g, "offsets", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 8192, s->tmp);
    uint64_t zero = 0;
    h5_appender_push(&s->w[k].off, &zero, 1);
    hid_t ot = p->n_out <= 256 ? H5T_STD_U8LE : p->n_out <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE;
    if (p->cond && task_is(o->task)->label_cond) /* a vector per sequence in place of its label */
      h5_appender_open_rows(&s->w[k].cond, g, "cond", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                            sizeof(float), (uint64_t)p->cond->D, 1024, s->tmp);
    else if (task_is(o->task)->labels)
      h5_appender_open(&s->w[k].lab, g, "labels", ot, H5T_NATIVE_UINT32, 4, 8192, s->tmp);
    if (task_is(o->task)->tags)
      h5_appender_open(&s->w[k].tag, g, "tags", ot, H5T_NATIVE_UINT32, 4, DATASET_CHUNK, s->tmp);
    if (task_is(o->task)->source) {
      if (p->cond) /* --cond-features: each source a sequence of frames */
        h5_appender_open_rows(&s->w[k].src_tok, g, "src_values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                              sizeof(float), (uint64_t)p->cond->D, 4096, s->tmp);
      else
        h5_appender_open(&s->w[k].src_tok, g, "src_tokens",
                         o->separate_vocab ? p->side.tok_type : p->tok_type, H5T_NATIVE_UINT32, 4,
                         DATASET_CHUNK, s->tmp);
      h5_appender_open(&s->w[k].src_off, g, "src_offsets", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8,
                       8192, s->tmp);
      h5_appender_push(&s->w[k].src_off, &zero, 1);
    }
    H5Gclose(g);
  }
}

void prep_shard_close(prep *p) {
  shard *s = p->sh;
  for (int k = 0; k < SPLIT_COUNT; k++) {
    prep_writer_flush_tokens(&s->w[k]);
    h5_appender_close(&s->w[k].tok);
    h5_appender_close(&s->w[k].off);
    if (p->cond && task_is(p->o->task)->label_cond)
      h5_appender_close(&s->w[k].cond);
    else if (task_is(p->o->task)->labels)
      h5_appender_close(&s->w[k].lab);
    if (task_is(p->o->task)->tags) h5_appender_close(&s->w[k].tag);
    if (task_is(p->o->task)->source) {
      h5_appender_close(&s->w[k].src_tok);
      h5_appender_close(&s->w[k].src_off);
    }
    hid_t g = H5Gopen2(s->f, ds_split_names[k], H5P_DEFAULT);
    h5_attr_set_i64(g, "n_sequences", (int64_t)s->w[k].nseq);
    h5_attr_set_i64(g, "n_tokens", (int64_t)s->w[k].ntok);
    H5Gclose(g);
  }
  if (!p->sharded) return; /* the single file gets its metadata before closing */
  h5_close_file(s->f, s->tmp);
}

/* end the open sequence of the current split (append its end offset) */
void prep_seq_close(prep *p) {
  split_writer *w = &p->sh->w[p->cur_split];
  if (p->cond) { /* the line's id: its vector (condlm) or its frames (seq2seq, below) */
    if (task_is(p->o->task)->label_cond)
      h5_appender_push(&w->cond, p->cond->rows + p->cond->start[p->cur_label] * p->cond->D, 1);
    if (p->cur_split == SPLIT_TRAIN) prep_cond_add(p->cond, p->cur_label);
  } else if (task_is(p->o->task)->labels) {
    h5_appender_push(&w->lab, &p->cur_label, 1);
  }
  if (task_is(p->o->task)->tags) {
    if (w->ntok - w->seq_start != p->n_line_tags) {
      char *where = core_path("%s:line %llu", p->cur_file, (unsigned long long)p->lineno);
      recur_fail(where, "give one tag per character (char level) or word/TAG tokens (word level)",
                 "%llu tokens but %llu tags", (unsigned long long)(w->ntok - w->seq_start),
                 (unsigned long long)p->n_line_tags);
    }
    h5_appender_push(&w->tag, p->line_tags, p->n_line_tags);
  }
  if (task_is(p->o->task)->source) {
    if (p->cond) {
      const int64_t a = p->cond->start[p->cur_label], b = p->cond->start[p->cur_label + 1];
      p->n_src = (uint64_t)(b - a);
      h5_appender_push(&w->src_tok, p->cond->rows + a * p->cond->D, p->n_src);
    } else {
      h5_appender_push(&w->src_tok, p->src_ids, p->n_src);
    }
    w->src_ntok += p->n_src;
    h5_appender_push(&w->src_off, &w->src_ntok, 1);
    p->n_src = 0;
  }
  h5_appender_push(&w->off, &w->ntok, 1);
  w->seq_start = w->ntok;
  w->nseq++;
  p->seq_open = 0;
}

void prep_shard_rotate(prep *p) {
  prep_shard_close(p);
  p->done = xrealloc(p->done, (size_t)(p->n_done + 1) * sizeof(shard *));
  p->done[p->n_done++] = p->sh; /* kept for its paths: renamed when all are complete */
  prep_shard_open(p);
}

/* the next global position at which emit_id must look at cuts and shard sizes */
void prep_update_limit(prep *p) {
  uint64_t lim = UINT64_MAX;
  if (p->mode == SEG_NONE && p->cur_split < SPLIT_TEST) lim = p->cut[p->cur_split];
  if (p->o->shard_tokens && p->mode == SEG_NONE) {
    uint64_t room = p->sh->ntok < p->o->shard_tokens ? p->o->shard_tokens - p->sh->ntok : 0;
    if (p->gpos + room < lim) lim = p->gpos + room;
  }
  p->limit = lim;
}

void prep_emit_slow(prep *p) {
  if (p->mode == SEG_NONE && p->cur_split < SPLIT_TEST && p->gpos == p->cut[p->cur_split]) {
    /* undelimited stream: the tail goes to val, then test */
    if (p->seq_open) prep_seq_close(p);
    while (p->cur_split < SPLIT_TEST && p->gpos == p->cut[p->cur_split]) p->cur_split++;
  }
  if (p->o->shard_tokens && p->mode == SEG_NONE && p->sh->ntok >= p->o->shard_tokens) {
    if (p->seq_open) prep_seq_close(p);
    prep_shard_rotate(p);
  }
  prep_update_limit(p);
}

_Noreturn void prep_fail_not_in_vocab(const prep *p, uint32_t cp, uint64_t off) {
  char *where = core_path("%s:%llu", p->cur_file, (unsigned long long)off);
  recur_fail(where, "the vocabulary given with --vocab lacks this character",
             "character U+%04X is not in the vocabulary", cp);
}

/* Pass 2: emit the ids map[b[0..n)] as one run (the hot path of byte and char levels). */
void prep_emit_run(prep *p, const unsigned char *b, size_t n, const int32_t *map, uint64_t off) {
  while (n > 0) {
    if (p->gpos >= p->limit) prep_emit_slow(p);
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
        if (map[b[i]] < 0) prep_fail_not_in_vocab(p, b[i], off + i);
    emitted(p, w, k);
    b += k;
    n -= k;
    off += k;
  }
}

const int32_t *prep_identity_map(void) {
  static int32_t id[256];
  if (id[255] == 0)
    for (int i = 0; i < 256; i++) id[i] = i;
  return id;
}

/* items: a batch's sequences or stream windows read from the dataset, then packed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "recur/dist.h"
#include "recur/train.h"
#include "train-impl.h"

void items_reserve(items *it, int n, int64_t tokens) {
  if (tokens > it->cap) {
    it->pool = xrealloc(it->pool, (size_t)tokens * sizeof(int32_t));
    it->tagpool = xrealloc(it->tagpool, (size_t)tokens * sizeof(int32_t));
    it->cap = tokens;
  }
  if (n > it->capn) {
    it->in = xrealloc(it->in, (size_t)n * sizeof(int32_t *));
    it->tgt = xrealloc(it->tgt, (size_t)n * sizeof(int32_t *));
    it->len = xrealloc(it->len, (size_t)n * sizeof(int));
    it->ids = xrealloc(it->ids, (size_t)n * sizeof(uint64_t));
    it->labels = xrealloc(it->labels, (size_t)n * sizeof(int32_t));
    it->capn = n;
  }
}

void items_free(items *it) {
  xfree(it->pool);
  xfree(it->tagpool);
  xfree(it->in);
  xfree(it->tgt);
  xfree(it->len);
  xfree(it->ids);
  xfree(it->labels);
  xfree(it->srcpool);
  xfree(it->cpool), xfree(it->cv);
  xfree(it->vpool), xfree(it->xv), xfree(it->yv), xfree(it->zeros), xfree(it->zv);
  xfree(it->src);
  xfree(it->src_len);
  memset(it, 0, sizeof *it);
}

/* tokens a sequence contributes and the steps it runs (targets) */
int64_t items_seq_tokens(const dataset *ds, int split, uint64_t q, int max_len) {
  int64_t n = (int64_t)dataset_seq_len(ds, split, q);
  return max_len > 0 && n > max_len ? max_len : n;
}
int items_seq_steps(const dataset *ds, int split, uint64_t q, int max_len) {
  int64_t n = items_seq_tokens(ds, split, q, max_len);
  if (ds->task == TASK_FORECAST) return n > ds->horizon ? (int)(n - ds->horizon) : 0;
  if (!task_is_lm(ds->task)) return (int)n; /* classify, tag: every token is an input */
  return (int)(ds->eos_id >= 0 ? n : n > 0 ? n - 1 : 0);
}
/* targets a sequence contributes to the loss */
int items_seq_targets(const dataset *ds, int split, uint64_t q, int max_len) {
  int n = items_seq_steps(ds, split, q, max_len);
  return ds->task == TASK_CLASSIFY ? n > 0 : n;
}

/* --cond-features: room for `need` floats of vectors or source frames in cpool, and n pointers */
static void reserve_cond(items *it, int64_t need, int n) {
  if (need > it->ccap) {
    it->cpool = xrealloc(it->cpool, (size_t)need * sizeof(float));
    it->ccap = need;
  }
  it->cv = xrealloc(it->cv, (size_t)(n > 0 ? n : 1) * sizeof(float *));
}

/* seq2seq: the sources of sequences q[0..n), cut at max_len like the targets: tokens into
 * srcpool, or (--cond-features) frames of D floats into cpool (cv; src[i] NULL) */
static void load_sources(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                         int max_len) {
  const int64_t D = ds->n_cond_features;
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    int64_t k = (int64_t)dataset_src_len(ds, split, q[i]);
    total += max_len > 0 && k > max_len ? max_len : k;
  }
  if (D > 0) {
    reserve_cond(it, total * D, n);
  } else if (total > it->src_cap) {
    it->srcpool = xrealloc(it->srcpool, (size_t)total * sizeof(int32_t));
    it->src_cap = total;
  }
  it->src = xrealloc(it->src, (size_t)(n > 0 ? n : 1) * sizeof(int32_t *));
  it->src_len = xrealloc(it->src_len, (size_t)(n > 0 ? n : 1) * sizeof(int));
  int32_t *p = it->srcpool;
  float *x = it->cpool;
  for (int i = 0; i < n; i++) {
    int64_t k = (int64_t)dataset_src_len(ds, split, q[i]);
    if (max_len > 0 && k > max_len) k = max_len;
    const uint64_t o = dataset_src_start(ds, split, q[i]);
    if (D > 0) {
      dataset_read_src_values(ds, split, o, (uint64_t)k, x);
      it->cv[i] = x, it->src[i] = NULL;
      x += k * D;
    } else {
      dataset_read_src(ds, split, o, (uint64_t)k, p);
      it->src[i] = p;
      p += k;
    }
    it->src_len[i] = (int)k;
  }
}

/* real-valued sequences q[0..n) of frames. forecast: item i's inputs are frames 0 .. k-1-h and its
 * targets frames h .. k-1 (k frames after the max_len cut, h the horizon); classify and tag: every
 * frame is an input, the targets a label per sequence or a tag per frame */
static void load_frames(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                        int max_len) {
  const int64_t D = ds->n_features;
  const int fc = ds->task == TASK_FORECAST;
  int64_t total = 0, longest = 1;
  for (int i = 0; i < n; i++) {
    const int64_t k = items_seq_tokens(ds, split, q[i], max_len);
    total += k;
    longest = k > longest ? k : longest;
  }
  items_reserve(it, n, ds->task == TASK_TAG ? total : 1);
  if (total * D > it->vcap) {
    it->vpool = xrealloc(it->vpool, (size_t)(total * D) * sizeof(float));
    it->vcap = total * D;
  }
  if (longest > it->zcap) {
    it->zeros = xrealloc(it->zeros, (size_t)longest * sizeof(int32_t));
    memset(it->zeros, 0, (size_t)longest * sizeof(int32_t));
    it->zcap = longest;
  }
  it->xv = xrealloc(it->xv, (size_t)(n > 0 ? n : 1) * sizeof(float *));
  it->yv = xrealloc(it->yv, (size_t)(n > 0 ? n : 1) * sizeof(float *));
  it->zv = xrealloc(it->zv, (size_t)(n > 0 ? n : 1) * sizeof(int32_t *));
  float *p = it->vpool;
  int32_t *tg = it->tagpool;
  for (int i = 0; i < n; i++) {
    const int64_t k = items_seq_tokens(ds, split, q[i], max_len);
    const uint64_t o = dataset_seq_start(ds, split, q[i]);
    dataset_read_values(ds, split, o, (uint64_t)k, p);
    it->xv[i] = p;
    it->yv[i] = fc ? p + (int64_t)ds->horizon * D : NULL;
    it->zv[i] = it->zeros;
    it->tgt[i] = NULL;
    if (ds->task == TASK_TAG) {
      dataset_read_tags(ds, split, o, (uint64_t)k, tg);
      it->tgt[i] = tg;
      tg += k;
    }
    it->len[i] = items_seq_steps(ds, split, q[i], max_len);
    it->ids[i] = q[i];
    it->labels[i] = ds->task == TASK_CLASSIFY ? ds->split[split].labels[q[i]] : -1;
    p += k * D;
  }
}

/* Fill items with sequences q[0..n): with <eos>, inputs are <eos> x0 .. x_{n-2} and targets
 * x0 .. x_{n-1}; without, inputs x0 .. x_{n-2} and targets x1 .. x_{n-1}. */
void items_load_sequences(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                          int max_len) {
  if (ds->level == LEVEL_REAL) return load_frames(it, ds, split, q, n, max_len);
  int64_t total = 0;
  for (int i = 0; i < n; i++) total += items_seq_tokens(ds, split, q[i], max_len) + 1;
  items_reserve(it, n, total);
  int32_t *p = it->pool;
  if (!task_is_lm(ds->task)) { /* inputs x0 .. x_{n-1}; targets the tags, or a label per sequence */
    for (int i = 0; i < n; i++) {
      int64_t k = items_seq_tokens(ds, split, q[i], max_len);
      uint64_t o = dataset_seq_start(ds, split, q[i]);
      dataset_read(ds, split, o, (uint64_t)k, p);
      it->in[i] = p;
      it->tgt[i] = NULL;
      if (ds->task == TASK_TAG) {
        int32_t *t = it->tagpool + (p - it->pool);
        dataset_read_tags(ds, split, o, (uint64_t)k, t);
        it->tgt[i] = t;
      }
      it->labels[i] = ds->task == TASK_CLASSIFY ? ds->split[split].labels[q[i]] : -1;
      it->len[i] = (int)k;
      it->ids[i] = q[i];
      p += k;
    }
    return;
  }
  for (int i = 0; i < n; i++) {
    int64_t k = items_seq_tokens(ds, split, q[i], max_len);
    int32_t *buf = p;
    if (ds->eos_id >= 0) *buf++ = (int32_t)ds->eos_id;
    dataset_read(ds, split, dataset_seq_start(ds, split, q[i]), (uint64_t)k, buf);
    it->in[i] = p;
    it->tgt[i] = p + 1;
    it->len[i] = items_seq_steps(ds, split, q[i], max_len);
    it->ids[i] = q[i];
    it->labels[i] =
        ds->task == TASK_CONDLM && !ds->n_cond_features ? ds->split[split].labels[q[i]] : -1;
    p += k + 1;
  }
  if (ds->task == TASK_SEQ2SEQ) load_sources(it, ds, split, q, n, max_len);
  if (ds->n_cond_features > 0 && ds->task == TASK_CONDLM) { /* a vector instead of a label */
    const int64_t D = ds->n_cond_features;
    reserve_cond(it, (int64_t)n * D, n);
    for (int i = 0; i < n; i++) {
      it->cv[i] = it->cpool + i * D;
      dataset_read_cond(ds, split, q[i], it->cv[i]);
    }
  }
}

/* Pack n items into b with their targets (next tokens, tags, or a label per sequence). */
void items_pack(batch *b, const items *it, int n, const dataset *ds) {
  const int real = ds->level == LEVEL_REAL;
  if (ds->task == TASK_FORECAST) { /* frames: the token side is zeros (every step a target) */
    batch_pack(b, n, it->len, NULL, it->zv, it->ids);
    batch_set_values(b, (const float *const *)it->xv, (const float *const *)it->yv, ds->n_features);
    return;
  }
  batch_pack(b, n, it->len, real ? NULL : it->in, ds->task == TASK_CLASSIFY ? NULL : it->tgt,
             it->ids);
  if (real) batch_set_values(b, (const float *const *)it->xv, NULL, ds->n_features);
  if (ds->task == TASK_CONDLM) batch_set_labels(b, it->labels); /* the condition, not a target */
  if (ds->n_cond_features > 0 && ds->task == TASK_CONDLM)
    batch_set_cond(b, (const float *const *)it->cv, ds->n_cond_features);
  if (ds->task == TASK_SEQ2SEQ) /* (--cond-features: frames) */
    batch_set_sources(b, it->src_len, ds->n_cond_features ? NULL : it->src,
                      ds->n_cond_features ? (const float *const *)it->cv : NULL,
                      ds->n_cond_features);
  if (ds->task == TASK_CLASSIFY) {
    batch_set_labels(b, it->labels);
    b->n_targets = 0;
    for (int r = 0; r < b->s.B; r++) b->n_targets += b->len[r] > 0 && b->label[r] >= 0;
  }
}

/* Fill items with windows [pos, pos + T] of streams s[0..n), each stream_len long. */
void items_load_windows(items *it, const dataset *ds, int split, const uint64_t *s, int n,
                        uint64_t stream_len, uint64_t pos, int T) {
  items_reserve(it, n, (int64_t)n * (T + 1));
  for (int i = 0; i < n; i++) {
    int32_t *buf = it->pool + (int64_t)i * (T + 1);
    dataset_read(ds, split, s[i] * stream_len + pos, (uint64_t)T + 1, buf);
    it->in[i] = buf;
    it->tgt[i] = buf + 1;
    it->len[i] = T;
    it->ids[i] = s[i];
  }
}

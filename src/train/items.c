/* items: a batch's sequences or stream windows read from the dataset, then packed (see items.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "recur/dist.h"
#include "recur/items.h"
#include "recur/tasks.h"

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
  return task_desc_of(ds->task)->steps(ds, items_seq_tokens(ds, split, q, max_len));
}
/* targets a sequence contributes to the loss */
int items_seq_targets(const dataset *ds, int split, uint64_t q, int max_len) {
  int n = items_seq_steps(ds, split, q, max_len);
  return task_desc_of(ds->task)->per_sequence ? n > 0 : n;
}
int items_next_steps(const dataset *ds, int64_t n) {
  return (int)(ds->eos_id >= 0 ? n : n > 0 ? n - 1 : 0);
}

void items_load_sequences(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                          int max_len) {
  task_desc_of(ds->task)->load(it, ds, split, q, n, max_len);
}

void items_pack(batch *b, const items *it, int n, const dataset *ds) {
  task_desc_of(ds->task)->pack(b, it, n, ds);
}

/* --cond-features: room for `need` floats of vectors or source frames in cpool, and n pointers */
static void reserve_cond(items *it, int64_t need, int n) {
  if (need > it->ccap) {
    it->cpool = xrealloc(it->cpool, (size_t)need * sizeof(float));
    it->ccap = need;
  }
  it->cv = xrealloc(it->cv, (size_t)(n > 0 ? n : 1) * sizeof(float *));
}

void items_read_sources(items *it, const dataset *ds, int split, const uint64_t *q, int n,
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

void items_read_cond(items *it, const dataset *ds, int split, const uint64_t *q, int n) {
  const int64_t D = ds->n_cond_features;
  reserve_cond(it, (int64_t)n * D, n);
  for (int i = 0; i < n; i++) {
    it->cv[i] = it->cpool + i * D;
    dataset_read_cond(ds, split, q[i], it->cv[i]);
  }
}

void items_read_frames(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                       int max_len, int flags) {
  const int64_t D = ds->n_features;
  const int ahead = !!(flags & ITEMS_AHEAD), tags = !!(flags & ITEMS_TAGS);
  int64_t total = 0, longest = 1;
  for (int i = 0; i < n; i++) {
    const int64_t k = items_seq_tokens(ds, split, q[i], max_len);
    total += k;
    longest = k > longest ? k : longest;
  }
  items_reserve(it, n, tags ? total : 1);
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
    it->yv[i] = ahead ? p + (int64_t)ds->horizon * D : NULL;
    it->zv[i] = it->zeros;
    it->tgt[i] = NULL;
    if (tags) {
      dataset_read_tags(ds, split, o, (uint64_t)k, tg);
      it->tgt[i] = tg;
      tg += k;
    }
    it->len[i] = items_seq_steps(ds, split, q[i], max_len);
    it->ids[i] = q[i];
    it->labels[i] = flags & ITEMS_LABEL ? ds->split[split].labels[q[i]] : -1;
    p += k * D;
  }
}

void items_read_inputs(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                       int max_len, int flags) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) total += items_seq_tokens(ds, split, q[i], max_len) + 1;
  items_reserve(it, n, total);
  int32_t *p = it->pool;
  for (int i = 0; i < n; i++) {
    int64_t k = items_seq_tokens(ds, split, q[i], max_len);
    uint64_t o = dataset_seq_start(ds, split, q[i]);
    dataset_read(ds, split, o, (uint64_t)k, p);
    it->in[i] = p;
    it->tgt[i] = NULL;
    if (flags & ITEMS_TAGS) {
      int32_t *t = it->tagpool + (p - it->pool);
      dataset_read_tags(ds, split, o, (uint64_t)k, t);
      it->tgt[i] = t;
    }
    it->labels[i] = flags & ITEMS_LABEL ? ds->split[split].labels[q[i]] : -1;
    it->len[i] = (int)k;
    it->ids[i] = q[i];
    p += k;
  }
}

void items_read_next(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                     int max_len) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) total += items_seq_tokens(ds, split, q[i], max_len) + 1;
  items_reserve(it, n, total);
  int32_t *p = it->pool;
  for (int i = 0; i < n; i++) {
    int64_t k = items_seq_tokens(ds, split, q[i], max_len);
    int32_t *buf = p;
    if (ds->eos_id >= 0) *buf++ = (int32_t)ds->eos_id;
    dataset_read(ds, split, dataset_seq_start(ds, split, q[i]), (uint64_t)k, buf);
    it->in[i] = p;
    it->tgt[i] = p + 1;
    it->len[i] = items_next_steps(ds, k);
    it->ids[i] = q[i];
    it->labels[i] = -1;
    p += k + 1;
  }
}

void items_pack_inputs(batch *b, const items *it, int n, const dataset *ds, int32_t *const *tgt) {
  const int real = ds->level == LEVEL_REAL;
  batch_pack(b, n, it->len, real ? NULL : it->in, tgt, it->ids);
  if (real) batch_set_values(b, (const float *const *)it->xv, NULL, ds->n_features);
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

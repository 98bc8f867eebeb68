/* batch: packed batches (see batch.h). */
#include "recur/batch.h"

#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

void batch_pack(batch *b, int n, const int *len, int32_t *const *in, int32_t *const *tgt,
                const uint64_t *ids) {
  if (n > b->capB) {
    b->len = xrealloc(b->len, (size_t)n * sizeof(int));
    b->seq_id = xrealloc(b->seq_id, (size_t)n * sizeof(uint64_t));
    b->item = xrealloc(b->item, (size_t)n * sizeof(int));
    b->label = xrealloc(b->label, (size_t)n * sizeof(int32_t));
    b->capB = n;
  }
  /* stable sort of items by length, longest first (insertion sort: batches are small) */
  for (int i = 0; i < n; i++) {
    int j = i;
    while (j > 0 && len[b->item[j - 1]] < len[i]) {
      b->item[j] = b->item[j - 1];
      j--;
    }
    b->item[j] = i;
  }
  int T = n ? len[b->item[0]] : 0;
  if (T + 1 > b->capT) {
    b->bs = xrealloc(b->bs, (size_t)(T + 1) * sizeof(int));
    b->off = xrealloc(b->off, (size_t)(T + 2) * sizeof(int64_t));
    b->capT = T + 1;
  }
  int64_t N = 0;
  for (int i = 0; i < n; i++) {
    b->len[i] = len[b->item[i]];
    b->seq_id[i] = ids[b->item[i]];
    b->label[i] = -1;
    N += b->len[i];
  }
  int active = n;
  b->off[0] = 0;
  for (int t = 0; t < T; t++) {
    while (active > 0 && b->len[active - 1] <= t) active--;
    b->bs[t] = active;
    b->off[t + 1] = b->off[t] + active;
  }
  if (N > b->capN) {
    b->in = xrealloc(b->in, (size_t)N * sizeof(int32_t));
    b->tgt = xrealloc(b->tgt, (size_t)N * sizeof(int32_t));
    b->capN = N;
  }
  b->n_targets = 0;
  for (int t = 0; t < T; t++)
    for (int r = 0; r < b->bs[t]; r++) {
      int64_t row = b->off[t] + r;
      b->in[row] = in ? in[b->item[r]][t] : 0; /* (real-valued rows: batch_set_values) */
      b->tgt[row] = tgt ? tgt[b->item[r]][t] : -1;
      b->n_targets += b->tgt[row] >= 0;
    }
  b->s.B = n;
  b->s.T = T;
  b->s.bs = b->bs;
  b->s.off = b->off;
  b->s.N = N;
}

void batch_set_sources(batch *b, const int *len, int32_t *const *src, const float *const *x,
                       int d) {
  const int n = b->s.B;
  if (!b->src) b->src = xcalloc(1, sizeof(batch));
  /* each source row keeps its pair's id (the encoder's dropout is keyed by it): in item order */
  uint64_t *ids = xmalloc((size_t)(n > 0 ? n : 1) * sizeof(uint64_t));
  for (int r = 0; r < n; r++) ids[b->item[r]] = b->seq_id[r];
  batch_pack(b->src, n, len, src, NULL, ids);
  if (x) batch_set_values(b->src, x, NULL, d); /* frames: the encoder's input layer reads them */
  xfree(ids);
  b->src_row = xrealloc(b->src_row, (size_t)(n > 0 ? n : 1) * sizeof(int));
  int *pos = xmalloc((size_t)(n > 0 ? n : 1) * sizeof(int)); /* item -> its source row */
  for (int j = 0; j < n; j++) pos[b->src->item[j]] = j;
  for (int r = 0; r < n; r++) b->src_row[r] = pos[b->item[r]];
  xfree(pos);
}

void batch_set_values(batch *b, const float *const *x, const float *const *y, int d) {
  const int64_t N = b->s.N;
  if (N * d > b->capX) {
    b->xin = xrealloc(b->xin, (size_t)(N * d) * sizeof(float));
    b->ytgt = xrealloc(b->ytgt, (size_t)(N * d) * sizeof(float));
    b->capX = N * d;
  }
  b->n_in = d;
  for (int t = 0; t < b->s.T; t++)
    for (int r = 0; r < b->bs[t]; r++) {
      const int64_t row = b->off[t] + r;
      memcpy(b->xin + row * d, x[b->item[r]] + (int64_t)t * d, (size_t)d * sizeof(float));
      if (y) memcpy(b->ytgt + row * d, y[b->item[r]] + (int64_t)t * d, (size_t)d * sizeof(float));
    }
}

void batch_set_cond(batch *b, const float *const *v, int d) {
  const int64_t B = b->s.B;
  if (B * d > b->capC) {
    b->cond = xrealloc(b->cond, (size_t)(B * d) * sizeof(float));
    b->capC = B * d;
  }
  b->cond_labels = d;
  for (int64_t r = 0; r < B; r++) memcpy(b->cond + r * d, v[b->item[r]], (size_t)d * sizeof(float));
}

void batch_free(batch *b) {
  xfree(b->cond);
  xfree(b->xin);
  xfree(b->ytgt);
  if (b->src) {
    batch_free(b->src);
    xfree(b->src);
  }
  xfree(b->src_row);
  xfree(b->bs);
  xfree(b->off);
  xfree(b->len);
  xfree(b->seq_id);
  xfree(b->item);
  xfree(b->in);
  xfree(b->tgt);
  xfree(b->label);
  memset(b, 0, sizeof *b);
}

void batch_set_labels(batch *b, const int32_t *labels) {
  for (int r = 0; r < b->s.B; r++) b->label[r] = labels[b->item[r]];
}

/* model_asm: the adaptive softmax readout (Grave et al. 2017), laid out as PyTorch's
 * AdaptiveLogSoftmaxWithLoss (head without bias, tails of two bias-free linear layers). The head
 * scores the shortlist and one logit per cluster; a word in cluster k has log p = log
 * head(k) + log softmax(tail_k)(word). Training evaluates a cluster only on the rows whose targets
 * fall in it; with want_probs the forward also writes the whole distribution (sampling). */
#include <math.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"
#include "recur/gemm.h"

static int64_t pad_rows(int64_t n) { return (n + 31) & ~(int64_t)31; }

static void cluster_reserve(model_cluster *K, int64_t n, int64_t D) {
  if (n <= K->cap) return;
  K->cap = n + n / 2 + 16;
  K->rows = xrealloc(K->rows, (size_t)K->cap * sizeof(int64_t));
  K->rel = xrealloc(K->rel, (size_t)K->cap * sizeof(int32_t));
  K->x = xrealloc(K->x, (size_t)(K->cap * D) * sizeof(float));
  K->p = xrealloc(K->p, (size_t)(K->cap * K->hsz) * sizeof(float));
  K->s = xrealloc(K->s, (size_t)(K->cap * K->osz) * sizeof(float));
  K->dp = xrealloc(K->dp, (size_t)(K->cap * K->hsz) * sizeof(float));
  K->dx = xrealloc(K->dx, (size_t)(K->cap * D) * sizeof(float));
}

/* the whole distribution of every row into m->probs (R, V) */
static void full_probs(model *m, const float *F, int64_t R) {
  const int64_t D = m->D, V = m->O, HS = m->HS, SL = m->cl[0].lo;
  if (R > m->cap_probs) {
    m->probs = xrealloc(m->probs, (size_t)(R * V) * sizeof(float));
    m->cap_probs = R;
  }
  for (int64_t r = 0; r < R; r++)
    memcpy(m->probs + r * V, m->hp + r * HS, (size_t)SL * sizeof(float));
  for (int k = 0; k < m->n_clusters; k++) {
    const model_cluster *K = &m->cl[k];
    float *p = xmalloc((size_t)(R * K->hsz) * sizeof(float));
    float *s = xmalloc((size_t)(R * K->osz) * sizeof(float));
    gemm(0, 1, (int)R, K->hsz, (int)D, F, (int)D, K->w0, (int)D, 0.0f, p, K->hsz);
    gemm(0, 1, (int)R, K->osz, K->hsz, p, K->hsz, K->w1, K->hsz, 0.0f, s, K->osz);
    for (int64_t r = 0; r < R; r++) {
      float *sr = s + r * K->osz, *out = m->probs + r * V + K->lo, ph = m->hp[r * HS + SL + k];
      softmax_row(sr, K->osz);
      for (int j = 0; j < K->osz; j++) out[j] = ph * sr[j];
    }
    xfree(p);
    xfree(s);
  }
}

double asm_forward(model *m, const float *F, const int32_t *tgt, int64_t R) {
  const int64_t D = m->D, HS = m->HS, SL = m->cl[0].lo;
  m->hp = xrealloc(m->hp, (size_t)(R * HS) * sizeof(float));
  /* head logits (R, HS) = F head^T */
  gemm(0, 1, (int)R, (int)HS, (int)D, F, (int)D, m->head, (int)D, 0.0f, m->hp, (int)HS);
  for (int k = 0; k < m->n_clusters; k++) m->cl[k].n = 0;
  double loss = 0;
  for (int64_t r = 0; r < R; r++) {
    float *z = m->hp + r * HS;
    int32_t t = tgt[r];
    int g = -1; /* the head's entry for the target: the word, or its cluster */
    if (t >= 0) {
      g = t < SL ? t : -1;
      for (int k = m->n_clusters - 1; g < 0 && k >= 0; k--)
        if (t >= m->cl[k].lo) {
          g = (int)SL + k;
          model_cluster *K = &m->cl[k];
          cluster_reserve(K, K->n + 1, D);
          K->rows[K->n] = r;
          K->rel[K->n++] = t - K->lo;
        }
    }
    float zg = g >= 0 ? z[g] : 0.0f;
    double lse = softmax_row(z, HS);
    if (g >= 0) loss += lse - (double)zg;
  }
  for (int k = 0; k < m->n_clusters; k++) {
    model_cluster *K = &m->cl[k];
    if (K->n == 0) continue;
    /* rows padded with zeros to a multiple of 32: a few GEMM shapes (oneDNN makes one primitive
     * per shape), the pads' gradients zero */
    const int64_t np = pad_rows(K->n);
    cluster_reserve(K, np, D);
    for (int64_t i = 0; i < K->n; i++)
      memcpy(K->x + i * D, F + K->rows[i] * D, (size_t)D * sizeof(float));
    memset(K->x + K->n * D, 0, (size_t)((np - K->n) * D) * sizeof(float));
    gemm(0, 1, (int)np, K->hsz, (int)D, K->x, (int)D, K->w0, (int)D, 0.0f, K->p, K->hsz);
    gemm(0, 1, (int)np, K->osz, K->hsz, K->p, K->hsz, K->w1, K->hsz, 0.0f, K->s, K->osz);
    for (int64_t i = 0; i < K->n; i++) {
      float *z = K->s + i * K->osz, zt = z[K->rel[i]];
      loss += softmax_row(z, K->osz) - (double)zt;
    }
  }
  if (m->want_probs) full_probs(m, F, R);
  return loss;
}

void asm_backward(model *m, const float *F, const int32_t *tgt, int64_t R, float scale,
                  const unsigned char *last, float *dF) {
  const int64_t D = m->D, HS = m->HS, SL = m->cl[0].lo;
  /* head: d logits = scale (p - onehot(g)) on rows with a target */
  for (int64_t r = 0; r < R; r++) {
    float *d = m->hp + r * HS;
    int32_t t = tgt[r];
    if (t < 0 || (last && !last[r])) {
      memset(d, 0, (size_t)HS * sizeof(float));
      continue;
    }
    int g = t < SL ? t : -1;
    for (int k = m->n_clusters - 1; g < 0; k--)
      if (t >= m->cl[k].lo) g = (int)SL + k;
    d[g] -= 1.0f;
    for (int64_t v = 0; v < HS; v++) d[v] *= scale;
  }
  gemm(1, 0, (int)HS, (int)D, (int)R, m->hp, (int)HS, F, (int)D, 1.0f, m->ghead, (int)D);
  layer_poke(&m->scratch);
  gemm(0, 0, (int)R, (int)D, (int)HS, m->hp, (int)HS, m->head, (int)D, 0.0f, dF, (int)D);
  layer_poke(&m->scratch);
  for (int k = 0; k < m->n_clusters; k++) {
    model_cluster *K = &m->cl[k];
    if (K->n == 0) continue;
    for (int64_t i = 0; i < K->n; i++) {
      float *d = K->s + i * K->osz;
      if (last && !last[K->rows[i]]) {
        memset(d, 0, (size_t)K->osz * sizeof(float));
        continue;
      }
      d[K->rel[i]] -= 1.0f;
      for (int j = 0; j < K->osz; j++) d[j] *= scale;
    }
    const int64_t np = pad_rows(K->n);
    memset(K->s + K->n * K->osz, 0, (size_t)((np - K->n) * K->osz) * sizeof(float));
    /* s = p w1^T: gw1 += ds^T p, dp = ds w1; p = x w0^T: gw0 += dp^T x, dx = dp w0 */
    gemm(1, 0, K->osz, K->hsz, (int)np, K->s, K->osz, K->p, K->hsz, 1.0f, K->gw1, K->hsz);
    gemm(0, 0, (int)np, K->hsz, K->osz, K->s, K->osz, K->w1, K->hsz, 0.0f, K->dp, K->hsz);
    gemm(1, 0, K->hsz, (int)D, (int)np, K->dp, K->hsz, K->x, (int)D, 1.0f, K->gw0, (int)D);
    gemm(0, 0, (int)np, (int)D, K->hsz, K->dp, K->hsz, K->w0, (int)D, 0.0f, K->dx, (int)D);
    layer_poke(&m->scratch);
    for (int64_t i = 0; i < K->n; i++) {
      float *d = dF + K->rows[i] * D;
      const float *s = K->dx + i * D;
      for (int64_t j = 0; j < D; j++) d[j] += s[j];
    }
  }
}

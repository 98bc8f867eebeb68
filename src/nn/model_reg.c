/* model_reg: the regularisers of training (dropout between layers, locked or not; whole-word
 * embedding dropout; DropConnect on W_hh), their masks keyed by (seed, step, ...). */
#include "recur/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"

/* dropout between layers: --dropout or --dropout-locked */
float reg_between_p(const model *m) {
  return m->cfg.dropout > 0 ? m->cfg.dropout : m->cfg.dropout_locked;
}

/* y = x * mask over rows of width w, mask element = 1/(1-p) with probability 1-p else 0, keyed
 * by (seed, step, layer, seq_id, position, unit) — without the position for --dropout-locked (one
 * mask per sequence, Gal & Ghahramani 2016): the same mask in forward and backward. */
void reg_dropout_apply(const model *m, const batch *b, int layer, uint64_t step, float *y,
                       const float *x, int w) {
  reg_dropout_steps(m, b, layer, step, y, x, w, 0, b->s.T);
}

void reg_dropout_steps(const model *m, const batch *b, int layer, uint64_t step, float *y,
                       const float *x, int w, int t0, int t1) {
  const float p = reg_between_p(m), keep = 1.0f / (1.0f - p);
  const int locked = m->cfg.dropout_locked > 0;
  for (int t = t0; t < t1; t++)
    for (int r = 0; r < b->bs[t]; r++) {
      int64_t row = b->off[t] + r - b->off[t0];
      uint64_t k = rng_key(m->seed, RNG_DROPOUT, step, ((uint64_t)layer << 48) ^ b->seq_id[r],
                           locked ? 0xFFFFFFFFull : (uint64_t)t);
      for (int j = 0; j < w; j++)
        y[row * w + j] = rng_uniform(rng_sub(k, (uint64_t)j)) < p ? 0.0f : x[row * w + j] * keep;
    }
}

/* --dropout-embed (Gal & Ghahramani 2016, awd-lstm-lm's embedded_dropout): in training, word w's
 * embedding is dropped (0) for the whole step with probability p, else scaled by 1/(1-p); keyed by
 * (seed, step, w), so every rank drops the same words */
float reg_embed_keep(const model *m, int32_t w) {
  const float p = m->cfg.dropout_embed;
  if (!m->fwd_train || p <= 0) return 1.0f;
  uint64_t k = rng_key(m->seed, RNG_EMBED_DROPOUT, m->fwd_step, (uint64_t)w, 0);
  return rng_uniform(k) < p ? 0.0f : 1.0f / (1.0f - p);
}

/* --weight-drop (DropConnect on W_hh, Wan et al. 2013, as awd-lstm-lm's WeightDrop): element e of
 * layer l's (direction d's) W_hh is kept, scaled by 1/(1-p), or zeroed, keyed by (seed, step, l,
 * d, e): one mask for the whole step, every rank the same */
static float wd_keep(const model *m, int l, int d, int64_t e) {
  const float p = m->cfg.weight_drop;
  uint64_t k = rng_key(m->seed, RNG_WEIGHT_DROP, m->fwd_step, (uint64_t)(2 * l + d), (uint64_t)e);
  return rng_uniform(k) < p ? 0.0f : 1.0f / (1.0f - p);
}

/* the view of layer l, direction d, this forward/backward runs with */
const layer_view *reg_view(model *m, int l, int d) {
  return m->fwd_train && m->cfg.weight_drop > 0 ? &m->wd_view[l][d] : &m->layer[l][d];
}

/* before a training forward: the masked copies of W_hh and fresh gradients for them */
void reg_wd_prepare(model *m) {
  for (int l = 0; l < m->cfg.layers; l++)
    for (int d = 0; d < m->ndir; d++) {
      const layer_view *L = &m->layer[l][d];
      const int64_t n = (int64_t)L->G * L->H * L->P;
      if (!m->wd_w[l][d]) {
        m->wd_w[l][d] = xmalloc((size_t)n * sizeof(float));
        m->wd_g[l][d] = xmalloc((size_t)n * sizeof(float));
      }
      for (int64_t e = 0; e < n; e++) m->wd_w[l][d][e] = L->w_hh[e] * wd_keep(m, l, d, e);
      memset(m->wd_g[l][d], 0, (size_t)n * sizeof(float));
      m->wd_view[l][d] = *L;
      m->wd_view[l][d].w_hh = m->wd_w[l][d];
      m->wd_view[l][d].gw_hh = m->wd_g[l][d];
    }
}

/* after layer l's backward: the masked copy's gradient back to the real W_hh */
void reg_wd_fold(model *m, int l, int d) {
  const layer_view *L = &m->layer[l][d];
  const int64_t n = (int64_t)L->G * L->H * L->P;
  for (int64_t e = 0; e < n; e++) L->gw_hh[e] += m->wd_g[l][d][e] * wd_keep(m, l, d, e);
}

/* dst[perm[r]] = src[r] for rows of width w: the same tokens in reversed order (an involution) */

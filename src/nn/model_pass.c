/* model_pass: the forward (embedding, the condition, stacked layers, readout, loss) over a packed
 * batch; model_backward.c has its backward. */
#include "recur/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"
#include "recur/gemm.h"

void model_reserve(model *m, int64_t N, int64_t B) {
  if (N <= m->capN && B <= m->capB) return;
  N = N > m->capN ? N : m->capN;
  B = B > m->capB ? B : m->capB;
  const int64_t E = m->layer[0][0].in, D = m->D, H = model_state_width(&m->cfg), W = D > E ? D : E;
  const int64_t R = task_is(m->cfg.task)->pooled ? B : N;
  m->x0 = xrealloc(m->x0, (size_t)(N * E) * sizeof(float));
  if (m->cfg.softmax == SOFTMAX_FULL && m->role != MODEL_ENCODER) /* adaptive: own capacity */
    m->probs = xrealloc(m->probs, (size_t)((R > 0 ? R : 1) * m->O) * sizeof(float));
  m->dA = xrealloc(m->dA, (size_t)(N * W) * sizeof(float));
  if (m->cfg.n_in > 0) m->xn = xrealloc(m->xn, (size_t)(N * m->cfg.n_in) * sizeof(float));
  if (m->cfg.in_hidden > 0) {
    m->xh = xrealloc(m->xh, (size_t)(N * m->cfg.in_hidden) * sizeof(float));
    m->dxh = xrealloc(m->dxh, (size_t)(N * m->cfg.in_hidden) * sizeof(float));
  }
  m->dB = xrealloc(m->dB, (size_t)(N * W) * sizeof(float));
  if (reg_between_p(m) > 0)
    for (int l = 0; l + 1 < m->cfg.layers; l++)
      m->drop[l] = xrealloc(m->drop[l], (size_t)(N * D) * sizeof(float));
  if (m->ndir == 2) {
    for (int l = 0; l < m->cfg.layers; l++)
      m->out[l] = xrealloc(m->out[l], (size_t)(N * D) * sizeof(float));
    m->xr = xrealloc(m->xr, (size_t)(N * W) * sizeof(float));
    m->dxr = xrealloc(m->dxr, (size_t)(N * W) * sizeof(float));
    m->dh[0] = xrealloc(m->dh[0], (size_t)(N * H) * sizeof(float));
    m->dh[1] = xrealloc(m->dh[1], (size_t)(N * H) * sizeof(float));
    m->perm = xrealloc(m->perm, (size_t)N * sizeof(int64_t));
  }
  if (task_is(m->cfg.task)->pooled) m->feat = xrealloc(m->feat, (size_t)(B * D) * sizeof(float));
  if (task_is(m->cfg.task)->label_cond) {
    const int64_t L = m->cfg.layers, C = m->cfg.cond_width, S = cell_states(m->cfg.cell);
    m->ch0 = xrealloc(m->ch0, (size_t)(L * B * H) * sizeof(float));
    m->cc0 = xrealloc(m->cc0, (size_t)(L * B * H) * sizeof(float));
    m->cd = xrealloc(m->cd, (size_t)(B * C) * sizeof(float));
    m->cdz = xrealloc(m->cdz, (size_t)(B * S * H) * sizeof(float));
  }
  if (m->role != MODEL_WHOLE) { /* seq2seq: the states passed between encoder and decoder */
    const size_t n = (size_t)(m->cfg.layers * B * m->cfg.hidden) * sizeof(float);
    m->s2s_h0 = xrealloc(m->s2s_h0, n), m->s2s_c0 = xrealloc(m->s2s_c0, n);
    m->s2s_dh = xrealloc(m->s2s_dh, n), m->s2s_dc = xrealloc(m->s2s_dc, n);
    m->s2s_dhr = xrealloc(m->s2s_dhr, n), m->s2s_dcr = xrealloc(m->s2s_dcr, n);
    m->s2s_bx = xrealloc(m->s2s_bx, 2 * n), m->s2s_bcx = xrealloc(m->s2s_bcx, 2 * n);
  }
  m->capN = N;
  m->capB = B;
}

void model_permute_rows(float *dst, const float *src, const int64_t *perm, int64_t N, int w) {
  for (int64_t r = 0; r < N; r++) memcpy(dst + perm[r] * w, src + r * w, (size_t)w * sizeof(float));
}

int64_t model_readout_rows(const model *m, const batch *b) {
  return task_is(m->cfg.task)->pooled ? b->s.B : b->s.N;
}

/* output of layer l (N, D) */
static const float *layer_out(const model *m, int l) {
  return m->ndir == 2 ? m->out[l] : m->acts[l][0].h;
}
const float *model_top_out(const model *m) { return layer_out(m, m->cfg.layers - 1); }
/* input of layer l as the forward saw it (N, in) */
const float *model_layer_in(const model *m, int l) {
  if (l == 0) return m->x0;
  return m->fwd_train && reg_between_p(m) > 0 ? m->drop[l - 1] : layer_out(m, l - 1);
}

/* m->ce (B, C): the embeddings of rows' labels */
/* condlm: each row's condition into m->ce (B, C): its label's embedding, or (cond_features) its
 * vector normalised by the training data's statistics */
static void cond_rows(model *m, const int32_t *labels, const float *cond, int64_t B) {
  const int64_t C = m->cfg.cond_width;
  m->ce = xrealloc(m->ce, (size_t)((B > 0 ? B : 1) * C) * sizeof(float));
  if (m->cfg.cond_features > 0) {
    for (int64_t r = 0; r < B; r++)
      for (int64_t j = 0; j < C; j++)
        m->ce[r * C + j] = m->cond_mean
                               ? (float)((cond[r * C + j] - m->cond_mean[j]) / m->cond_std[j])
                               : cond[r * C + j];
    return;
  }
  for (int64_t r = 0; r < B; r++) {
    RECUR_ASSERT(labels[r] >= 0 && labels[r] < m->cfg.cond_labels);
    memcpy(m->ce + r * C, m->cemb + (int64_t)labels[r] * C, (size_t)C * sizeof(float));
  }
}

void model_cond_state(model *m, const int32_t *labels, const float *cond, int64_t B, float *h0,
                      float *c0) {
  const int64_t H = m->cfg.hidden, C = m->cfg.cond_width, S = cell_states(m->cfg.cell);
  RECUR_ASSERT(task_is(m->cfg.task)->label_cond);
  cond_rows(m, labels, cond, B);
  float *z = xmalloc((size_t)((B > 0 ? B : 1) * S * H) * sizeof(float));
  for (int l = 0; l < m->cfg.layers; l++) {
    /* z = tanh(e W^T + b): (B, S H) */
    gemm(0, 1, (int)B, (int)(S * H), (int)C, m->ce, (int)C, m->cw[l], (int)C, 0.0f, z,
         (int)(S * H));
    for (int64_t r = 0; r < B; r++) {
      float *zr = z + r * S * H;
      for (int64_t j = 0; j < S * H; j++) zr[j] += m->cb[l][j];
      vec_tanh(zr, (int)(S * H));
      memcpy(h0 + (l * B + r) * H, zr, (size_t)H * sizeof(float));
      if (S == 2 && c0) memcpy(c0 + (l * B + r) * H, zr + H, (size_t)H * sizeof(float));
    }
  }
  xfree(z);
}

/* ---- forward, as stages: the inputs, the stack (with what starts it), the head ---- */

/* the inputs of layer 0 (N, E0): real-valued frames through the input layer (x0 = ((x - mean) /
 * std) W_in^T + b_in, or --input-hidden's MLP), or the tokens' embeddings; --cond-input's label
 * after each token */
static void forward_inputs(model *m, const batch *b) {
  const int64_t N = b->s.N, E = m->cfg.embed;
  const int64_t E0 = m->layer[0][0].in, C = m->cfg.cond_width; /* E, or E + C with --cond-input */
  if (m->cfg.n_in > 0) {
    const int64_t Din = m->cfg.n_in;
    RECUR_ASSERT(b->n_in == Din || N == 0);
    for (int64_t r = 0; r < N; r++)
      for (int64_t d = 0; d < Din; d++)
        m->xn[r * Din + d] = m->in_mean
                                 ? (float)((b->xin[r * Din + d] - m->in_mean[d]) / m->in_std[d])
                                 : b->xin[r * Din + d];
    const int64_t Nh = m->cfg.in_hidden;
    if (Nh > 0) { /* --input-hidden: xh = tanh(xn W0^T + b0), x0 = xh W2^T + b2 */
      gemm(0, 1, (int)N, (int)Nh, (int)Din, m->xn, (int)Din, m->in_w, (int)Din, 0.0f, m->xh,
           (int)Nh);
      for (int64_t r = 0; r < N; r++)
        for (int64_t j = 0; j < Nh; j++) m->xh[r * Nh + j] += m->in_b[j];
      vec_tanh(m->xh, (int)(N * Nh));
      gemm(0, 1, (int)N, (int)E, (int)Nh, m->xh, (int)Nh, m->in_w2, (int)Nh, 0.0f, m->x0, (int)E0);
    } else {
      gemm(0, 1, (int)N, (int)E, (int)Din, m->xn, (int)Din, m->in_w, (int)Din, 0.0f, m->x0,
           (int)E0);
    }
    const float *bias = Nh > 0 ? m->in_b2 : m->in_b;
    for (int64_t r = 0; r < N; r++)
      for (int64_t j = 0; j < E; j++) m->x0[r * E0 + j] += bias[j];
  }
  for (int64_t r = 0; r < N && m->cfg.n_in == 0; r++) {
    const float s = reg_embed_keep(m, b->in[r]);
    const float *e = m->emb + (int64_t)b->in[r] * E;
    float *x = m->x0 + r * E0;
    for (int64_t j = 0; j < E; j++) x[j] = s * e[j];
  }
  if (task_is(m->cfg.task)->label_cond && E0 > E) /* --cond-input: the label after its token */
    for (int t = 0; t < b->s.T; t++)
      for (int r = 0; r < b->bs[t]; r++)
        memcpy(m->x0 + (b->off[t] + r) * E0 + E, m->ce + r * C, (size_t)C * sizeof(float));
}

/* the recurrent stack from initial states h0, c0 (NULL: zeros), or the encoder's or the
 * condition's when the model makes its own; each layer's outputs in m->out / its acts */
static void forward_stack(model *m, const batch *b, const float *h0, const float *c0, uint64_t step,
                          int train) {
  const int64_t N = b->s.N, H = model_state_width(&m->cfg), B = b->s.B, D = m->D,
                HC = m->cfg.hidden;
  if (m->ndir == 2)
    for (int t = 0; t < b->s.T; t++)
      for (int r = 0; r < b->bs[t]; r++) m->perm[b->off[t] + r] = b->off[b->len[r] - 1 - t] + r;
  m->s2s_made = m->role == MODEL_DECODER && !h0;
  if (m->s2s_made) { /* the decoder starts from the encoder's final states */
    m->s2s->encode(m, b, step, train);
    h0 = m->s2s_h0;
    c0 = cell_has_c(m->cfg.cell) ? m->s2s_c0 : NULL;
  }
  m->cond_made = task_is(m->cfg.task)->label_cond && !h0;
  if (m->cond_made) { /* every layer starts from the state its label makes (unless given one) */
    model_cond_state(m, b->label, b->cond, B, m->ch0, m->cc0);
    h0 = m->ch0;
    c0 = cell_has_c(m->cfg.cell) ? m->cc0 : NULL;
  }
  if (m->cfg.input_feed) /* the decoder step by step, each step reading the last one's h~ */
    m->s2s->feed_forward(m, b, h0, c0);
  for (int l = 0; l < m->cfg.layers && !m->cfg.input_feed; l++) {
    const float *X = model_layer_in(m, l);
    const int in = m->layer[l][0].in;
    layer_forward(reg_view(m, l, 0), &m->acts[l][0], X, &b->s, h0 ? h0 + (int64_t)l * B * H : NULL,
                  c0 ? c0 + (int64_t)l * B * HC : NULL, &m->scratch);
    if (m->ndir == 2) { /* the reverse direction runs forward over each sequence reversed */
      model_permute_rows(m->xr, X, m->perm, N, in);
      layer_forward(reg_view(m, l, 1), &m->acts[l][1], m->xr, &b->s, NULL, NULL, &m->scratch);
      for (int64_t r = 0; r < N; r++) {
        memcpy(m->out[l] + r * D, m->acts[l][0].h + r * H, (size_t)H * sizeof(float));
        memcpy(m->out[l] + r * D + H, m->acts[l][1].h + m->perm[r] * H, (size_t)H * sizeof(float));
      }
    }
    if (train && reg_between_p(m) > 0 && l + 1 < m->cfg.layers)
      reg_dropout_apply(m, b, l, step, m->drop[l], layer_out(m, l), (int)D);
  }
}

/* classify: one feature row per sequence from the top layer (N, D) -> m->feat (B, D) */
static void forward_pool(model *m, const batch *b, const float *top) {
  const int64_t B = b->s.B, D = m->D, H = model_state_width(&m->cfg);
  for (int64_t r = 0; r < B; r++) {
    float *f = m->feat + r * D;
    if (b->len[r] == 0) {
      memset(f, 0, (size_t)D * sizeof(float));
      continue;
    }
    if (m->cfg.pool == POOL_MEAN) {
      memset(f, 0, (size_t)D * sizeof(float));
      for (int t = 0; t < b->len[r]; t++)
        for (int64_t j = 0; j < D; j++) f[j] += top[(b->off[t] + r) * D + j];
      for (int64_t j = 0; j < D; j++) f[j] /= (float)b->len[r];
    } else { /* the forward direction at the last real step, the reverse one at the first */
      memcpy(f, top + (b->off[b->len[r] - 1] + r) * D, (size_t)H * sizeof(float));
      if (m->ndir == 2) memcpy(f + H, top + r * D + H, (size_t)H * sizeof(float));
    }
  }
}

/* the head over R feature rows F (R, D): the adaptive softmax, or (through the MLP readout when
 * there is one) logits F W_dec^T + b_dec and their softmax in m->probs, or the forecaster's loss;
 * returns the summed loss against tgt */
static double forward_head(model *m, const batch *b, const float *F, const int32_t *tgt,
                           int64_t R) {
  const int64_t D = m->D, O = m->O, Dr = m->Dr;
  if (m->cfg.softmax == SOFTMAX_ADAPTIVE) return asm_forward(m, F, tgt, R);
  if (m->cfg.readout_hidden > 0) { /* the MLP readout: z = tanh(F W_h^T + b_h) (R, Dr) */
    if (R * Dr > m->cap_rz) {
      m->rz = xrealloc(m->rz, (size_t)(R * Dr) * sizeof(float));
      m->rdz = xrealloc(m->rdz, (size_t)(R * Dr) * sizeof(float));
      m->cap_rz = R * Dr;
    }
    gemm(0, 1, (int)R, (int)Dr, (int)D, F, (int)D, m->rh_w, (int)D, 0.0f, m->rz, (int)Dr);
    for (int64_t r = 0; r < R; r++)
      for (int64_t j = 0; j < Dr; j++) m->rz[r * Dr + j] += m->rh_b[j];
    vec_tanh(m->rz, (int)(R * Dr));
    F = m->rz;
  }
  /* logits = F W_dec^T + b_dec, then softmax in place */
  gemm(0, 1, (int)R, (int)O, (int)Dr, F, (int)Dr, m->dec_w, (int)Dr, 0.0f, m->probs, (int)O);
  if (task_is(m->cfg.task)->frames) return forecast_loss(m, b, R);
  double loss = 0;
  for (int64_t r = 0; r < R; r++) {
    float *z = m->probs + r * O;
    for (int64_t v = 0; v < O; v++) z[v] += m->dec_b[v];
    float zt = tgt[r] >= 0 ? z[tgt[r]] : 0.0f;
    double lse = softmax_row(z, O);
    if (tgt[r] >= 0) loss += lse - (double)zt;
  }
  return loss;
}

double model_forward(model *m, const batch *b, const float *h0, const float *c0, uint64_t step,
                     int train) {
  const int64_t N = b->s.N, B = b->s.B;
  model_reserve(m, N, B);
  m->fwd_step = step;
  m->fwd_train = train;
  if (train && m->cfg.weight_drop > 0) reg_wd_prepare(m);
  if (task_is(m->cfg.task)->label_cond) cond_rows(m, b->label, b->cond, B);
  forward_inputs(m, b);
  forward_stack(m, b, h0, c0, step, train);
  if (N == 0 || m->role == MODEL_ENCODER) return 0.0;
  const float *top = layer_out(m, m->cfg.layers - 1);
  const float *F = m->cfg.input_feed               ? model_attn_out(m)
                   : m->cfg.attention != ATTN_NONE ? model_attn_forward(m, b, top)
                                                   : top;
  if (task_is(m->cfg.task)->pooled) { /* one feature row per sequence, its label the target */
    forward_pool(m, b, top);
    return forward_head(m, b, m->feat, b->label, B);
  }
  return forward_head(m, b, F, b->tgt, N);
}

/* the max and the sum in eight lanes, combined in a fixed order: vectorisable, and the same on
 * every CPU */
RECUR_HOT double softmax_row(float *z, int64_t n) {
  float m8[8];
  double s8[8];
  for (int k = 0; k < 8; k++) m8[k] = -INFINITY, s8[k] = 0;
  int64_t v = 0;
  for (; v + 8 <= n; v += 8)
    for (int k = 0; k < 8; k++) m8[k] = z[v + k] > m8[k] ? z[v + k] : m8[k];
  for (; v < n; v++) m8[0] = z[v] > m8[0] ? z[v] : m8[0];
  float mx = m8[0];
  for (int k = 1; k < 8; k++) mx = m8[k] > mx ? m8[k] : mx;
  for (v = 0; v < n; v++) z[v] -= mx;
  vec_exp(z, (int)n);
  for (v = 0; v + 8 <= n; v += 8)
    for (int k = 0; k < 8; k++) s8[k] += z[v + k];
  for (; v < n; v++) s8[0] += z[v];
  const double s = ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7]));
  float inv = (float)(1.0 / s);
  for (int64_t v = 0; v < n; v++) z[v] *= inv;
  return (double)mx + log(s);
}

/* model_backward: the backward of model_pass.c's forward over a packed batch: the head, the
 * pooling, the attention, the stack (rows first where the embedding's rows are summed), the
 * inputs, the condition; the gradients made ready for their sums as they are done. */
#include "recur/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"
#include "recur/gemm.h"

/* condlm, after layer l's backward (dh0, dc0 (B, H) of its initial state in m->dB-free buffers):
 * the gradients of its init weights, and of the label embeddings accumulated in m->cd */
static void cond_backward(model *m, const batch *b, int l, const float *dh0, const float *dc0) {
  const int64_t H = m->cfg.hidden, C = m->cfg.cond_width, B = b->s.B, S = cell_states(m->cfg.cell);
  for (int64_t r = 0; r < B; r++) {
    float *dz = m->cdz + r * S * H;
    const float *h = m->ch0 + (l * B + r) * H, *c = m->cc0 + (l * B + r) * H;
    for (int64_t j = 0; j < H; j++) dz[j] = dh0[r * H + j] * (1.0f - h[j] * h[j]);
    if (S == 2)
      for (int64_t j = 0; j < H; j++) dz[H + j] = dc0[r * H + j] * (1.0f - c[j] * c[j]);
  }
  gemm(1, 0, (int)(S * H), (int)C, (int)B, m->cdz, (int)(S * H), m->ce, (int)C, 1.0f, m->gcw[l],
       (int)C);
  for (int64_t r = 0; r < B; r++)
    for (int64_t j = 0; j < S * H; j++) m->gcb[l][j] += m->cdz[r * S * H + j];
  gemm(0, 0, (int)B, (int)C, (int)(S * H), m->cdz, (int)(S * H), m->cw[l], (int)C, 1.0f, m->cd,
       (int)C);
}

/* gradient flow: |dL/dh| of layer l's rows (dH (N, H)) by distance from each row's last step */
static void diag_record(model *m, const batch *b, int l, const float *dH) {
  const int64_t H = model_state_width(&m->cfg), L = m->cfg.layers;
  for (int t = 0; t < b->s.T; t++)
    for (int r = 0; r < b->s.bs[t]; r++) {
      int d = b->len[r] - 1 - t;
      if (d < 0 || d >= MODEL_DIAG_T) continue;
      const float *g = dH + (b->s.off[t] + r) * H;
      double s2 = 0;
      for (int64_t j = 0; j < H; j++) s2 += (double)g[j] * g[j];
      m->diag[l * MODEL_DIAG_T + d] += sqrt(s2);
      m->diag[(L + l) * MODEL_DIAG_T + d] += 1;
    }
}

/* The gradient of the loss at the readout's outputs into m->probs (R rows: dl = scale (p - onehot),
 * zero where no target, or with `last` outside each sequence's last step), the readout's weight
 * gradients, and the gradient of its input into dF (R, D); an encoder's instead: the attention's
 * gradient of its outputs, or zeros. */
static void backward_readout(model *m, const batch *b, float scale, const float *F, int64_t R,
                             const int32_t *tgt, const unsigned char *last, float *dF) {
  const int64_t O = m->O, D = m->D, Dr = m->Dr, N = b->s.N;
  float *dl = m->probs;
  if (m->role == MODEL_ENCODER) {
    if (m->s2s_dtop)
      memcpy(m->dA, m->s2s_dtop, (size_t)(N * D) * sizeof(float));
    else
      memset(m->dA, 0, (size_t)(N * D) * sizeof(float));
    return;
  }
  if (m->cfg.softmax == SOFTMAX_ADAPTIVE) {
    asm_backward(m, F, tgt, R, scale, last, m->dA);
    return;
  }
  if (task_is(m->cfg.task)->frames) forecast_grad(m, b, R, scale, dl, last);
  for (int64_t r = 0; r < R && !task_is(m->cfg.task)->frames; r++) {
    float *d = dl + r * O;
    if (tgt[r] < 0 || (last && !last[r])) {
      memset(d, 0, (size_t)O * sizeof(float));
      continue;
    }
    d[tgt[r]] -= 1.0f;
    for (int64_t v = 0; v < O; v++) d[v] *= scale;
  }
  const float *Fr = m->cfg.readout_hidden > 0 ? m->rz : F; /* the readout's input */
  gemm(1, 0, (int)O, (int)Dr, (int)R, dl, (int)O, Fr, (int)Dr, 1.0f, m->gdec_w, (int)Dr);
  layer_poke(&m->scratch);
  gemm_colsum((int)R, (int)O, dl, (int)O, m->scratch.ones, 1.0f, m->gdec_b);
  if (m->cfg.readout_hidden > 0) { /* through the MLP readout */
    float *dz = m->rdz;
    gemm(0, 0, (int)R, (int)Dr, (int)O, dl, (int)O, m->dec_w, (int)Dr, 0.0f, dz, (int)Dr);
    for (int64_t i = 0; i < R * Dr; i++) dz[i] *= 1.0f - m->rz[i] * m->rz[i];
    gemm(1, 0, (int)Dr, (int)D, (int)R, dz, (int)Dr, F, (int)D, 1.0f, m->grh_w, (int)D);
    gemm_colsum((int)R, (int)Dr, dz, (int)Dr, m->scratch.ones, 1.0f, m->grh_b);
    gemm(0, 0, (int)R, (int)D, (int)Dr, dz, (int)Dr, m->rh_w, (int)D, 0.0f, dF, (int)D);
  } else {
    gemm(0, 0, (int)R, (int)D, (int)O, dl, (int)O, m->dec_w, (int)D, 0.0f, dF, (int)D);
  }
}

/* classify: the gradient of the pooled features dF (B, D) back to the rows they came from (dA) */
static void backward_pool(model *m, const batch *b, const float *dF) {
  const int64_t N = b->s.N, D = m->D, H = model_state_width(&m->cfg);
  memset(m->dA, 0, (size_t)(N * D) * sizeof(float));
  for (int64_t r = 0; r < b->s.B; r++) {
    if (b->len[r] == 0) continue;
    const float *g = dF + r * D;
    if (m->cfg.pool == POOL_MEAN) {
      for (int t = 0; t < b->len[r]; t++)
        for (int64_t j = 0; j < D; j++) m->dA[(b->off[t] + r) * D + j] += g[j] / (float)b->len[r];
    } else {
      float *d = m->dA + (b->off[b->len[r] - 1] + r) * D;
      for (int64_t j = 0; j < H; j++) d[j] += g[j];
      if (m->ndir == 2)
        for (int64_t j = H; j < D; j++) m->dA[r * D + j] += g[j];
    }
  }
}

/* Layer l's backward, both directions: the gradient of its outputs in dA, of its inputs into dB;
 * the initial states' gradients into dh0/dc0 (condlm) or the encoder's (seq2seq). */
static void backward_layer(model *m, const batch *b, int l, float *dh0, float *dc0) {
  const int64_t N = b->s.N, H = model_state_width(&m->cfg), D = m->D, B = b->s.B,
                HC = m->cfg.hidden;
  const int enc = m->role == MODEL_ENCODER, lstm = cell_has_c(m->cfg.cell);
  const float *X = model_layer_in(m, l);
  const int in = m->layer[l][0].in;
  if (m->ndir == 1) {
    m->scratch.dh0 = dh0;
    m->scratch.dc0 = dc0;
    if (m->s2s_made) { /* the gradients of the states the encoder made */
      m->scratch.dh0 = m->s2s_dh + l * B * H;
      m->scratch.dc0 = m->s2s_dc + l * B * HC;
    }
    if (enc) { /* the gradients of the final states the decoder started from */
      m->scratch.dhT = m->s2s_dh + l * B * H;
      m->scratch.dcT = lstm ? m->s2s_dc + l * B * HC : NULL;
    }
    layer_backward(reg_view(m, l, 0), &m->acts[l][0], X, &b->s, m->dA, m->dB, &m->scratch);
    m->scratch.dh0 = m->scratch.dc0 = NULL;
    m->scratch.dhT = m->scratch.dcT = NULL;
    if (m->cond_made) cond_backward(m, b, l, dh0, dc0);
    if (m->diag) diag_record(m, b, l, m->dA);
    return;
  }
  for (int64_t r = 0; r < N; r++) {
    memcpy(m->dh[0] + r * H, m->dA + r * D, (size_t)H * sizeof(float));
    memcpy(m->dh[1] + m->perm[r] * H, m->dA + r * D + H, (size_t)H * sizeof(float));
  }
  if (enc) { /* each direction's final state started the decoder (through the bridge) */
    m->scratch.dhT = m->s2s_dh + l * B * H;
    m->scratch.dcT = lstm ? m->s2s_dc + l * B * HC : NULL;
  }
  layer_backward(reg_view(m, l, 0), &m->acts[l][0], X, &b->s, m->dh[0], m->dB, &m->scratch);
  if (m->diag) diag_record(m, b, l, m->dh[0]);
  model_permute_rows(m->xr, X, m->perm, N, in);
  if (enc) {
    m->scratch.dhT = m->s2s_dhr + l * B * H;
    m->scratch.dcT = lstm ? m->s2s_dcr + l * B * HC : NULL;
  }
  layer_backward(reg_view(m, l, 1), &m->acts[l][1], m->xr, &b->s, m->dh[1], m->dxr, &m->scratch);
  m->scratch.dhT = m->scratch.dcT = NULL;
  for (int64_t r = 0; r < N; r++) {
    const float *s = m->dxr + m->perm[r] * in;
    float *d = m->dB + r * in;
    for (int j = 0; j < in; j++) d[j] += s[j];
  }
}

/* Below the stack, from the gradient of layer 0's inputs dA (N, E0): the input layer (and its
 * MLP), or the embedding rows the batch used (marked); condlm's --cond-input share and label
 * embeddings. */
static void backward_inputs(model *m, const batch *b) {
  const int64_t N = b->s.N, E = m->cfg.embed, B = b->s.B;
  const int E0 = m->layer[0][0].in;
  if (m->cfg.n_in > 0) { /* the input layer: dW_in += dX0^T xn, db_in += sum of dX0 */
    const int64_t Din = m->cfg.n_in;
    const int64_t Nh = m->cfg.in_hidden;
    if (Nh > 0) { /* through the MLP: the second Linear, tanh, the first */
      gemm(1, 0, (int)E, (int)Nh, (int)N, m->dA, (int)E0, m->xh, (int)Nh, 1.0f, m->gin_w2, (int)Nh);
      for (int64_t r = 0; r < N; r++)
        for (int64_t j = 0; j < E; j++) m->gin_b2[j] += m->dA[r * E0 + j];
      float *du = m->dxh;
      gemm(0, 0, (int)N, (int)Nh, (int)E, m->dA, (int)E0, m->in_w2, (int)Nh, 0.0f, du, (int)Nh);
      for (int64_t i = 0; i < N * Nh; i++) du[i] *= 1.0f - m->xh[i] * m->xh[i];
      gemm(1, 0, (int)Nh, (int)Din, (int)N, du, (int)Nh, m->xn, (int)Din, 1.0f, m->gin_w, (int)Din);
      for (int64_t r = 0; r < N; r++)
        for (int64_t j = 0; j < Nh; j++) m->gin_b[j] += du[r * Nh + j];
    } else {
      gemm(1, 0, (int)E, (int)Din, (int)N, m->dA, (int)E0, m->xn, (int)Din, 1.0f, m->gin_w,
           (int)Din);
      for (int64_t r = 0; r < N; r++)
        for (int64_t j = 0; j < E; j++) m->gin_b[j] += m->dA[r * E0 + j];
    }
  }
  for (int64_t r = 0; r < N && m->cfg.n_in == 0; r++) {
    m->emb_marks[b->in[r]] = 1;
    float *g = m->gemb + (int64_t)b->in[r] * E;
    const float *d = m->dA + r * E0, s = reg_embed_keep(m, b->in[r]);
    if (s == 0.0f) continue;
    for (int64_t j = 0; j < E; j++) g[j] += s * d[j];
  }
  if (task_is(m->cfg.task)->label_cond &&
      E0 > E) /* --cond-input: every step's share of the label's */
    for (int t = 0; t < b->s.T; t++)
      for (int r = 0; r < b->bs[t]; r++) {
        const float *d = m->dA + (b->off[t] + r) * E0 + E;
        float *g = m->cd + (int64_t)r * (E0 - E);
        for (int64_t j = 0; j < E0 - E; j++) g[j] += d[j];
      }
  if (task_is(m->cfg.task)->label_cond && m->cfg.cond_features == 0) { /* the label embeddings */
    const int64_t C = m->cfg.cond_width;
    for (int64_t r = 0; r < B; r++) {
      float *g = m->gcemb + (int64_t)b->label[r] * C;
      for (int64_t j = 0; j < C; j++) g[j] += m->cd[r * C + j];
    }
  }
}

static void swap_grads(model *m) {
  float *t = m->dA;
  m->dA = m->dB;
  m->dB = t;
}

/* Whether layer 0's backward goes rows first (backward_bottom): a one-way stack straight on an
 * embedding whose gradient is summed by its rows, in a run that sums gradients as they come. */
static int rows_first(const model *m) {
  return m->grad_ready && m->ndir == 1 && m->role != MODEL_ENCODER && !m->s2s_made &&
         !m->cond_made && !m->cfg.input_feed && !task_is(m->cfg.task)->label_cond &&
         m->cfg.n_in == 0 && !m->cfg.tie_weights && m->emb_tensor >= 0;
}

/* The stack and the embedding, rows first: every layer's input gradient top down (the upper
 * layers' pre-activation gradients kept aside), the embedding rows from layer 0's, their sum
 * started (MODEL_READY_ROWS), and only then the layers' weights' products, top layer first, while
 * the rows cross the network (they were the sums' tail, and the upper layers' weights, summed
 * before the rows, took the network from them); layer 0's dW_ih before its dW_hh, whose sum
 * starts (its tensor is the layer's first) while dW_hh and the biases are computed. The same
 * products, each into its own gradient, as backward_layer per layer then backward_inputs. The
 * layers upper..1 wait (model_backward ran the ones above whole; a projection's dW_hr reads the
 * layer's dH, gone by then, so with --proj none waits); ti: layer upper's first tensor. */
static void backward_bottom(model *m, const batch *b, int ti, int per_layer, int upper) {
  const int drop = m->fwd_train && reg_between_p(m) > 0;
  layer_scratch *w = &m->scratch;
  /* the layers' own size first (model_backward reserved rows only): the kept buffers are swapped
   * with the scratch's, so each holds what the scratch's does */
  layer_scratch_reserve(w, b->s.N, (int)b->s.B, cell_gates(m->cfg.cell) * m->cfg.hidden);
  const int64_t need = layer_scratch_floats(w);
  for (int l = 1; l <= upper && m->kept_cap < need; l++) {
    xfree(m->kept_dgx[l]);
    xfree(m->kept_dgh[l]);
    m->kept_dgx[l] = xmalloc((size_t)need * sizeof(float));
    m->kept_dgh[l] = xmalloc((size_t)need * sizeof(float));
  }
  if (upper > 0) m->kept_cap = need;
  for (int l = upper; l >= 1; l--) {
    layer_backward_data(reg_view(m, l, 0), &m->acts[l][0], &b->s, m->dA, m->dB, w);
    if (m->diag) diag_record(m, b, l, m->dA);
    float *t = w->dgx; /* kept for the weights; the next layer down works in the spare */
    w->dgx = m->kept_dgx[l], m->kept_dgx[l] = t;
    t = w->dgh, w->dgh = m->kept_dgh[l], m->kept_dgh[l] = t;
    if (drop) reg_dropout_apply(m, b, l - 1, m->fwd_step, m->dB, m->dB, (int)m->D);
    swap_grads(m);
  }
  const layer_view *v = reg_view(m, 0, 0);
  float *dH = m->dA;
  layer_backward_data(v, &m->acts[0][0], &b->s, dH, m->dB, w);
  if (m->diag) diag_record(m, b, 0, dH);
  swap_grads(m);
  backward_inputs(m, b);
  m->grad_ready(m->grad_arg, MODEL_READY_ROWS);
  float *dgx0 = w->dgx, *dgh0 = w->dgh;
  for (int l = upper; l >= 1; l--) { /* dH: read only by a projection's dW_hr */
    w->dgx = m->kept_dgx[l], w->dgh = m->kept_dgh[l];
    layer_backward_weights(reg_view(m, l, 0), &m->acts[l][0], model_layer_in(m, l), &b->s, NULL, w);
    if (m->fwd_train && m->cfg.weight_drop > 0) reg_wd_fold(m, l, 0);
    ti += per_layer;
    m->grad_ready(m->grad_arg, m->tensors[ti].offset);
  }
  w->dgx = dgx0, w->dgh = dgh0;
  layer_backward_weights_in(v, model_layer_in(m, 0), &b->s, w);
  RECUR_ASSERT(!strcmp(m->tensors[ti].name, "rnn.weight_ih_l0"));
  m->grad_ready(m->grad_arg, m->tensors[ti + 1].offset); /* rnn.weight_ih_l0's end */
  layer_backward_weights_rec(v, &m->acts[0][0], &b->s, dH, w);
  if (m->fwd_train && m->cfg.weight_drop > 0) reg_wd_fold(m, 0, 0);
}

void model_backward(model *m, const batch *b, float scale) {
  const int64_t N = b->s.N, H = model_state_width(&m->cfg), D = m->D, B = b->s.B;
  const int L = m->cfg.layers;
  if (N == 0) return;
  const int drop = m->fwd_train && reg_between_p(m) > 0, cls = task_is(m->cfg.task)->pooled;
  const int64_t R = cls ? B : N;
  /* gradient flow diagnostics: only the loss at each sequence's last step (classify has no other)
   */
  unsigned char *last = NULL;
  if (m->diag && !cls) {
    last = xcalloc((size_t)N, 1);
    for (int64_t j = 0; j < B; j++)
      if (b->len[j] > 0) last[b->off[b->len[j] - 1] + j] = 1;
  }
  const float *top = model_top_out(m); /* no dropout after the last layer */
  const float *F = cls ? m->feat : m->cfg.attention != ATTN_NONE ? model_attn_out(m) : top;
  layer_scratch_reserve(&m->scratch, R > N ? R : N, (int)B, 1);
  gemm_progress(m->scratch.poke, m->scratch.poke_arg); /* the sums in flight move on in products */
  /* the gradient of the readout's input (R, D); classify's then goes back through the pooling */
  backward_readout(m, b, scale, F, R, cls ? b->label : b->tgt, last, cls ? m->dB : m->dA);
  xfree(last);
  if (cls) backward_pool(m, b, m->dB);
  if (m->cfg.attention != ATTN_NONE && !m->cfg.input_feed) { /* dA: of h~; through the attention */
    model_attn_backward(m, b, top, m->dA, m->dB);
    swap_grads(m);
  }
  /* tensors after the readout and attention: per_layer per layer, top layer first (--input-feed:
   * the attention's gradients are still to come, step by step: the last call says it all) */
  int ti = m->n_dec;
  const int per_layer = (m->cfg.proj > 0 ? 5 : 4) * m->ndir;
  if (m->grad_ready && !m->cfg.input_feed) m->grad_ready(m->grad_arg, m->tensors[ti].offset);
  float *dh0 = NULL, *dc0 = NULL;
  if (task_is(m->cfg.task)->label_cond)
    memset(m->cd, 0, (size_t)(B * m->cfg.cond_width) * sizeof(float));
  if (m->cond_made) {
    dh0 = xmalloc((size_t)(B * H) * sizeof(float));
    dc0 = xcalloc((size_t)(B * H), sizeof(float));
  }
  if (m->cfg.input_feed) m->s2s->feed_backward(m, b); /* (instead of the layers below) */
  /* rows first: the layers from `upper` down to 0 in backward_bottom (all of them but with --proj,
   * where only layer 0) */
  const int bottom = rows_first(m), upper = bottom && m->cfg.proj == 0 ? L - 1 : 0;
  for (int l = L - 1; l >= (bottom ? upper + 1 : 0) && !m->cfg.input_feed; l--) {
    backward_layer(m, b, l, dh0, dc0);
    if (m->fwd_train && m->cfg.weight_drop > 0)
      for (int d = 0; d < m->ndir; d++) reg_wd_fold(m, l, d);
    if (l > 0 && drop) reg_dropout_apply(m, b, l - 1, m->fwd_step, m->dB, m->dB, (int)D);
    swap_grads(m);
    ti += per_layer;
    if (m->grad_ready) m->grad_ready(m->grad_arg, m->tensors[ti].offset);
  }
  if (bottom) {
    backward_bottom(m, b, ti, per_layer, upper);
    ti += (upper + 1) * per_layer;
    m->grad_ready(m->grad_arg, m->tensors[ti].offset);
  } else {
    backward_inputs(m, b);
  }
  xfree(dh0);
  xfree(dc0);
  if (m->s2s_made) m->s2s->encoder_backward(m, b, scale);
  gemm_progress(NULL, NULL);
  if (m->grad_ready) m->grad_ready(m->grad_arg, m->n_params);
}

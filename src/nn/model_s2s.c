/* model_s2s: the encoder-decoder's parts of a pass (model_pass.c runs them): encoding the sources
 * into the decoder's initial states (through the bridge when the encoder is bidirectional), the
 * encoder's backward from those states' gradients, and --input-feed's decoder run one step at a
 * time (forward and backward). */
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"
#include "recur/gemm.h"

void model_encode(model *m, const batch *b, uint64_t step, int train) {
  model *e = m->enc;
  const batch *sb = b->src;
  const int64_t B = b->s.B, H = model_state_width(&m->cfg), HC = m->cfg.hidden;
  const int bi = e->ndir == 2, lstm = cell_has_c(m->cfg.cell);
  RECUR_ASSERT(e && sb && sb->s.B == B);
  model_reserve(m, b->s.N, B);
  model_forward(e, sb, NULL, NULL, step, train);
  m->s2s_gen++;
  /* row r starts from the final states of its source (row src_row[r] of sb); bidirectional: the
   * bridge makes them from both directions' (the reverse one's last step is the source's first) */
  for (int l = 0; l < m->cfg.layers; l++)
    for (int64_t r = 0; r < B; r++) {
      const int j = b->src_row[r];
      float *h = bi ? m->s2s_bx + (l * B + r) * 2 * H : m->s2s_h0 + (l * B + r) * H;
      float *c = bi ? m->s2s_bcx + (l * B + r) * 2 * HC : m->s2s_c0 + (l * B + r) * HC;
      for (int d = 0; d < e->ndir; d++, h += H, c += HC) {
        if (sb->len[j] == 0) {
          memset(h, 0, (size_t)H * sizeof(float));
          memset(c, 0, (size_t)HC * sizeof(float));
          continue;
        }
        const int64_t row = sb->off[sb->len[j] - 1] + j;
        memcpy(h, e->acts[l][d].h + row * H, (size_t)H * sizeof(float));
        if (lstm) memcpy(c, e->acts[l][d].cell + row * HC, (size_t)HC * sizeof(float));
      }
    }
  if (!bi) return;
  for (int l = 0; l < m->cfg.layers; l++)
    for (int s = 0; s < (lstm ? 2 : 1); s++) { /* tanh(x W^T + b) */
      const float *x = (s ? m->s2s_bcx : m->s2s_bx) + l * B * 2 * H;
      float *y = (s ? m->s2s_c0 : m->s2s_h0) + l * B * H;
      gemm(0, 1, (int)B, (int)H, (int)(2 * H), x, (int)(2 * H), m->br_w[l][s], (int)(2 * H), 0.0f,
           y, (int)H);
      for (int64_t r = 0; r < B; r++)
        for (int64_t k = 0; k < H; k++) y[r * H + k] += m->br_b[l][s][k];
      vec_tanh(y, (int)(B * H));
    }
}

/* seq2seq, after the decoder's backward left the gradients of its initial states in s2s_dh/dc:
 * through the bridge (bidirectional), then the encoder's backward from its final states' gradients
 * and (attention) its outputs' */
static void s2s_backward(model *m, const batch *b, float scale) {
  model *e = m->enc;
  const batch *sb = b->src;
  const int64_t B = b->s.B, H = model_state_width(&m->cfg);
  const int bi = e->ndir == 2, lstm = cell_has_c(m->cfg.cell);
  model_reserve(e, sb->s.N, B);
  if (m->cfg.attention == ATTN_NONE) e->s2s_dtop = NULL; /* (else model_attn_backward set it) */
  float *dz = xmalloc((size_t)(B * H) * sizeof(float)),
        *dx = xmalloc((size_t)(B * 2 * H) * sizeof(float));
  for (int l = 0; l < m->cfg.layers; l++)
    for (int s = 0; s < (lstm ? 2 : 1); s++) {
      const float *g = (s ? m->s2s_dc : m->s2s_dh) + l * B * H; /* decoder rows */
      float *fwd = (s ? e->s2s_dc : e->s2s_dh) + l * B * H,     /* encoder rows */
          *rev = (s ? e->s2s_dcr : e->s2s_dhr) + l * B * H;
      const float *src = g;
      int64_t w = H;
      if (bi) { /* dz = g (1 - y^2); dW += dz^T x, db += sum dz, dx = dz W */
        const float *y = (s ? m->s2s_c0 : m->s2s_h0) + l * B * H,
                    *x = (s ? m->s2s_bcx : m->s2s_bx) + l * B * 2 * H;
        for (int64_t i = 0; i < B * H; i++) dz[i] = g[i] * (1.0f - y[i] * y[i]);
        gemm(1, 0, (int)H, (int)(2 * H), (int)B, dz, (int)H, x, (int)(2 * H), 1.0f, m->gbr_w[l][s],
             (int)(2 * H));
        for (int64_t r = 0; r < B; r++)
          for (int64_t k = 0; k < H; k++) m->gbr_b[l][s][k] += dz[r * H + k];
        gemm(0, 0, (int)B, (int)(2 * H), (int)H, dz, (int)H, m->br_w[l][s], (int)(2 * H), 0.0f, dx,
             (int)(2 * H));
        src = dx;
        w = 2 * H;
      }
      for (int64_t r = 0; r < B; r++) {
        const int64_t j = b->src_row[r];
        memcpy(fwd + j * H, src + r * w, (size_t)H * sizeof(float));
        if (bi) memcpy(rev + j * H, src + r * w + H, (size_t)H * sizeof(float));
      }
    }
  xfree(dz);
  xfree(dx);
  model_backward(e, sb, scale);
}

/* layer activations of step t's rows (from packed row r0): a view into a, of whole-batch rows */
static layer_acts step_acts(const layer_acts *a, const layer_view *L, int64_t r0) {
  const int64_t H = L->H, P = L->P, GH = (int64_t)L->G * H;
  layer_acts v = *a;
  v.gates = a->gates + r0 * GH;
  v.h = a->h + r0 * P;
  v.hprev = a->hprev + r0 * P;
  if (a->cell) v.cell = a->cell + r0 * H, v.tcell = a->tcell + r0 * H, v.cprev = a->cprev + r0 * H;
  if (a->hn) v.hn = a->hn + r0 * H;
  if (a->mproj) v.mproj = a->mproj + r0 * H;
  v.cap = INT64_MAX / 4; /* never grown: the whole batch's rows were reserved */
  return v;
}

/* --input-feed: the decoder stack and the attention one step at a time; step t's layer-0 input is
 * [embedding; h~ of step t-1] (h~ before step 0: m->feed_in, or zeros). Fills every layer's
 * activations and the attention's as the whole-batch pass does. */
static void s2s_feed_forward(model *m, const batch *b, const float *h0, const float *c0) {
  const int L = m->cfg.layers;
  const int64_t N = b->s.N, B = b->s.B, P = model_state_width(&m->cfg), HC = m->cfg.hidden,
                D = m->D, E = m->cfg.embed, E0 = m->layer[0][0].in;
  for (int l = 0; l < L; l++) layer_acts_reserve(&m->acts[l][0], &m->layer[l][0], N);
  model_attn_begin(m, b);
  const float *ht = model_attn_out(m);
  for (int t = 0; t < b->s.T; t++) {
    const int bt = b->bs[t];
    const int64_t r0 = b->off[t], one_off[2] = {0, bt};
    const packed_shape s1 = {.B = bt, .T = 1, .bs = &b->bs[t], .off = one_off, .N = bt};
    for (int r = 0; r < bt; r++) {
      float *x = m->x0 + (r0 + r) * E0 + E;
      const float *prev = t > 0        ? ht + (b->off[t - 1] + r) * D
                          : m->feed_in ? m->feed_in + r * D
                                       : NULL;
      if (prev)
        memcpy(x, prev, (size_t)D * sizeof(float));
      else
        memset(x, 0, (size_t)D * sizeof(float));
    }
    for (int l = 0; l < L; l++) {
      layer_acts v = step_acts(&m->acts[l][0], &m->layer[l][0], r0);
      const float *X = l == 0 ? m->x0 + r0 * E0 : model_layer_in(m, l) + r0 * P;
      const float *hp = t > 0 ? m->acts[l][0].h + b->off[t - 1] * P : h0 ? h0 + l * B * P : NULL;
      const float *cp = !cell_has_c(m->cfg.cell) ? NULL
                        : t > 0                  ? m->acts[l][0].cell + b->off[t - 1] * HC
                        : c0                     ? c0 + l * B * HC
                                                 : NULL;
      layer_forward(reg_view(m, l, 0), &v, X, &s1, hp, cp, &m->scratch);
      if (m->fwd_train && reg_between_p(m) > 0 && l + 1 < L) /* this step's rows of drop[l] */
        reg_dropout_steps(m, b, l, m->fwd_step, m->drop[l] + r0 * P, m->acts[l][0].h + r0 * P,
                          (int)P, t, t + 1);
    }
    model_attn_steps(m, b, m->acts[L - 1][0].h, t, t + 1);
  }
}

/* --input-feed, backward: m->dA holds the gradient of h~ (N, D) from the readout; step by step from
 * the last, through the attention and the stack (each layer's recurrent gradient carried from step
 * to step, step t's h~ also getting step t+1's input gradient). Leaves the layer-0 input gradients
 * (N, E0) in m->dA and the initial states' gradients in s2s_dh / s2s_dc. */
static void s2s_feed_backward(model *m, const batch *b) {
  const int L = m->cfg.layers, lstm = cell_has_c(m->cfg.cell);
  const int64_t N = b->s.N, B = b->s.B, P = model_state_width(&m->cfg), HC = m->cfg.hidden,
                D = m->D, E = m->cfg.embed, E0 = m->layer[0][0].in;
  const float *top = m->acts[L - 1][0].h;
  float *dHt = m->dA, *dX0 = m->dB;
  float *dtop = xmalloc((size_t)(N * D) * sizeof(float)),
        *dh = xmalloc((size_t)(2 * B * P) * sizeof(float)), *dx = dh + B * P,
        *dhc = xcalloc((size_t)(L * B * P), sizeof(float)),
        *dcc = xcalloc((size_t)(L * B * HC), sizeof(float)),
        *th = xmalloc((size_t)(B * P) * sizeof(float)),
        *tc = xmalloc((size_t)(B * HC) * sizeof(float));
  model_attn_back_begin(m, b);
  for (int t = b->s.T - 1; t >= 0; t--) {
    const int bt = b->bs[t];
    const int64_t r0 = b->off[t], one_off[2] = {0, bt};
    const packed_shape s1 = {.B = bt, .T = 1, .bs = &b->bs[t], .off = one_off, .N = bt};
    if (t + 1 < b->s.T) /* h~ of step t also fed step t+1 */
      for (int r = 0; r < b->bs[t + 1]; r++) {
        const float *g = dX0 + (b->off[t + 1] + r) * E0 + E;
        float *d = dHt + (r0 + r) * D;
        for (int64_t j = 0; j < D; j++) d[j] += g[j];
      }
    model_attn_back_steps(m, b, top, dHt, dtop, t, t + 1);
    memcpy(dh, dtop + r0 * D, (size_t)(bt * D) * sizeof(float));
    for (int l = L - 1; l >= 0; l--) {
      layer_acts v = step_acts(&m->acts[l][0], &m->layer[l][0], r0);
      const float *X = l == 0 ? m->x0 + r0 * E0 : model_layer_in(m, l) + r0 * P;
      m->scratch.dhT = dhc + l * B * P;
      m->scratch.dcT = lstm ? dcc + l * B * HC : NULL;
      m->scratch.dh0 = th;
      m->scratch.dc0 = lstm ? tc : NULL;
      layer_backward(reg_view(m, l, 0), &v, X, &s1, dh, l == 0 ? dX0 + r0 * E0 : dx, &m->scratch);
      if (l > 0 && m->fwd_train && reg_between_p(m) > 0) /* through layer l-1's dropout */
        reg_dropout_steps(m, b, l - 1, m->fwd_step, dx, dx, (int)P, t, t + 1);
      /* the carries for step t-1: these rows' state gradients; rows ending at t-1 get none */
      memcpy(dhc + l * B * P, th, (size_t)(bt * P) * sizeof(float));
      memset(dhc + l * B * P + bt * P, 0, (size_t)((B - bt) * P) * sizeof(float));
      if (lstm) {
        memcpy(dcc + l * B * HC, tc, (size_t)(bt * HC) * sizeof(float));
        memset(dcc + l * B * HC + bt * HC, 0, (size_t)((B - bt) * HC) * sizeof(float));
      }
      float *sw = dh; /* layer l's input gradient is layer l-1's output gradient */
      dh = dx;
      dx = sw;
    }
  }
  m->scratch.dhT = m->scratch.dcT = m->scratch.dh0 = m->scratch.dc0 = NULL;
  if (m->fwd_train && m->cfg.weight_drop > 0) /* the masked copies' gradients, every step's */
    for (int l = 0; l < L; l++) reg_wd_fold(m, l, 0);
  model_attn_back_end(m, b, top);
  memcpy(m->s2s_dh, dhc, (size_t)(L * B * P) * sizeof(float)); /* of the encoder's states */
  memcpy(m->s2s_dc, dcc, (size_t)(L * B * HC) * sizeof(float));
  m->dA = dX0; /* the layer-0 input gradients, for the embedding's */
  m->dB = dHt;
  xfree(dtop);
  xfree(dh < dx ? dh : dx);
  xfree(dhc);
  xfree(dcc);
  xfree(th);
  xfree(tc);
}

const struct model_s2s_stages model_s2s_stages = {model_encode, s2s_backward, s2s_feed_forward,
                                                  s2s_feed_backward};

/* layer: recurrent cells and BPTT over packed batches. One input-projection sgemm for all steps,
 * one recurrent sgemm per step for all gates, one fused elementwise pass per step, and one sgemm
 * each for dW_ih, dW_hh and dX after the time loop. */
#include "recur/layer.h"

#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "recur/gemm.h"

const char *const cell_names[CELL_COUNT + 1] = {"rnn_tanh", "rnn_relu", "lstm", "gru", NULL};

int cell_gates(enum cell_type cell) { return cell == CELL_LSTM ? 4 : cell == CELL_GRU ? 3 : 1; }
int cell_has_c(enum cell_type cell) { return cell == CELL_LSTM; }
int cell_states(enum cell_type cell) { return cell_has_c(cell) ? 2 : 1; }

const char *cell_torch_mode(enum cell_type cell) {
  static const char *const m[CELL_COUNT] = {"RNN_TANH", "RNN_RELU", "LSTM", "GRU"};
  return m[cell];
}

/* ---- vectorisable exp, sigmoid, tanh (rel. error ~3e-7) ---- */
static inline float fexp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 87.0f ? 87.0f : x;
  float fi = (x * 1.4426950408889634f + 12582912.0f) - 12582912.0f; /* round to nearest */
  float r = x - fi * 0.693145751953125f - fi * 1.428606765330187e-06f;
  float p =
      1.0f +
      r * (1.0f + r * (0.5f + r * (0.16666667f +
                                   r * (0.041666668f + r * (0.008333334f + r * 0.0013888889f)))));
  union {
    int32_t i;
    float f;
  } u;
  u.i = ((int32_t)fi + 127) * (1 << 23);
  return p * u.f;
}

static inline void sigmoid_n(float *x, int n) {
  for (int j = 0; j < n; j++) x[j] = 1.0f / (1.0f + fexp(-x[j]));
}

RECUR_HOT void vec_exp(float *x, int n) {
  for (int j = 0; j < n; j++) x[j] = fexp(x[j]);
}

int vec_argmax(const float *x, int n) {
  int best = 0;
  for (int j = 1; j < n; j++)
    if (x[j] > x[best]) best = j;
  return best;
}

static inline float ftanh(float x) {
  float ax = x < 0 ? -x : x;
  float e = fexp(-2.0f * ax);
  float big = (1.0f - e) / (1.0f + e);
  big = x < 0 ? -big : big;
  float x2 = x * x;
  float small = x * (1.0f + x2 * (-0.33333333f + x2 * (0.13333333f - 0.05396825f * x2)));
  return ax < 0.125f ? small : big;
}

static inline void tanh_n(float *x, int n) {
  for (int j = 0; j < n; j++) x[j] = ftanh(x[j]);
}

void vec_tanh(float *x, int n) { tanh_n(x, n); }

/* ---- buffers ---- */
static void grow(float **p, int64_t n) {
  *p = xrealloc(*p, (size_t)(n > 0 ? n : 1) * sizeof(float));
}

void layer_acts_reserve(layer_acts *a, const layer_view *L, int64_t N) {
  if (N <= a->cap) return;
  int64_t H = L->H, GH = (int64_t)L->G * H;
  grow(&a->gates, N * GH);
  grow(&a->h, N * L->P);
  grow(&a->hprev, N * L->P);
  if (L->w_hr) grow(&a->mproj, N * H);
  if (L->cell == CELL_LSTM) {
    grow(&a->cell, N * H);
    grow(&a->tcell, N * H);
    grow(&a->cprev, N * H);
  }
  if (L->cell == CELL_GRU) grow(&a->hn, N * H);
  a->cap = N;
}

void layer_acts_free(layer_acts *a) {
  xfree(a->gates);
  xfree(a->cell);
  xfree(a->tcell);
  xfree(a->hn);
  xfree(a->h);
  xfree(a->hprev);
  xfree(a->cprev);
  xfree(a->mproj);
  memset(a, 0, sizeof *a);
}

/* floats for n values and, with bf16, their bf16 copy after them */
static int64_t with_copy(int64_t n, int bf16) { return bf16 ? n + (n + 1) / 2 : n; }

int64_t layer_scratch_floats(const layer_scratch *s) {
  return with_copy(s->cap * s->capG, s->bf16);
}

void layer_scratch_reserve(layer_scratch *s, int64_t N, int B, int GH) {
  const int bf16 = gemm_current() == GEMM_BF16;
  if (N > s->cap || GH > s->capG || bf16 != s->bf16) {
    int64_t n = N > s->cap ? N : s->cap, g = GH > s->capG ? GH : s->capG;
    s->bf16 = bf16;
    grow(&s->dgx, with_copy(n * g, bf16));
    grow(&s->dgh, with_copy(n * g, bf16));
    grow(&s->ones, n);
    for (int64_t i = 0; i < n; i++) s->ones[i] = 1.0f;
    s->cap = n;
  }
  if (B > s->capB || GH > s->capG) {
    int64_t b = B > s->capB ? B : s->capB, g = GH > s->capG ? GH : s->capG;
    grow(&s->dc, b * g);
    grow(&s->tmp, b * g);
    s->capB = b;
  }
  if (GH > s->capG) {
    grow(&s->bsum, GH);
    s->capG = GH;
  }
}

void layer_scratch_free(layer_scratch *s) {
  xfree(s->dgx);
  xfree(s->dgh);
  xfree(s->dc);
  xfree(s->tmp);
  xfree(s->ones);
  xfree(s->bsum);
  s->dgx = s->dgh = s->dc = s->tmp = s->ones = s->bsum = NULL;
  s->cap = s->capB = s->capG = 0;
}

/* rows [0, n) of the state before step t: from h0 (or zeros) at t = 0, else from step t-1 */
static void copy_prev(float *dst, const float *all, const float *init, const packed_shape *s, int t,
                      int n, int H) {
  if (t > 0)
    memcpy(dst, all + s->off[t - 1] * H, (size_t)n * (size_t)H * sizeof(float));
  else if (init)
    memcpy(dst, init, (size_t)n * (size_t)H * sizeof(float));
  else
    memset(dst, 0, (size_t)n * (size_t)H * sizeof(float));
}

/* ---- forward ---- */
RECUR_HOT static void lstm_fwd_row(float *restrict g, float *restrict c, float *restrict tc,
                                   float *restrict h, const float *restrict cp,
                                   const float *restrict bsum, int H) {
  for (int j = 0; j < 4 * H; j++) g[j] += bsum[j];
  sigmoid_n(g, 2 * H);
  tanh_n(g + 2 * H, H);
  sigmoid_n(g + 3 * H, H);
  const float *i = g, *f = g + H, *gg = g + 2 * H, *o = g + 3 * H;
  for (int j = 0; j < H; j++) tc[j] = c[j] = f[j] * cp[j] + i[j] * gg[j];
  tanh_n(tc, H);
  for (int j = 0; j < H; j++) h[j] = o[j] * tc[j];
}

RECUR_HOT static void gru_fwd_row(float *restrict g, float *restrict hn, float *restrict h,
                                  const float *restrict hp, const float *restrict gh,
                                  const float *restrict bih, const float *restrict bhh, int H) {
  for (int j = 0; j < 2 * H; j++) g[j] += bih[j] + gh[j] + bhh[j];
  sigmoid_n(g, 2 * H);
  const float *r = g, *z = g + H;
  float *n = g + 2 * H;
  for (int j = 0; j < H; j++) {
    hn[j] = gh[2 * H + j] + bhh[2 * H + j];
    n[j] += bih[2 * H + j] + r[j] * hn[j];
  }
  tanh_n(n, H);
  for (int j = 0; j < H; j++) h[j] = (1.0f - z[j]) * n[j] + z[j] * hp[j];
}

RECUR_HOT void layer_forward(const layer_view *L, layer_acts *a, const float *X,
                             const packed_shape *s, const float *h0, const float *c0,
                             layer_scratch *w) {
  const int H = L->H, GH = L->G * H, P = L->P;
  const int64_t N = s->N;
  layer_acts_reserve(a, L, N);
  layer_scratch_reserve(w, N, s->B, GH);
  if (N == 0) return;
  for (int j = 0; j < GH; j++) w->bsum[j] = L->b_ih[j] + L->b_hh[j];
  /* gates = X W_ih^T for all steps at once: (N, GH) */
  gemm(0, 1, (int)N, GH, L->in, X, L->in, L->w_ih, L->in, 0.0f, a->gates, GH);
  for (int t = 0; t < s->T; t++) {
    const int bt = s->bs[t];
    const int64_t r0 = s->off[t];
    float *hp = a->hprev + r0 * P, *g = a->gates + r0 * GH, *h = a->h + r0 * P;
    copy_prev(hp, a->h, h0, s, t, bt, P);
    if (L->cell == CELL_GRU) {
      gemm(0, 1, bt, GH, H, hp, H, L->w_hh, H, 0.0f, w->tmp, GH);
      for (int b = 0; b < bt; b++)
        gru_fwd_row(g + (int64_t)b * GH, a->hn + (r0 + b) * H, h + (int64_t)b * H,
                    hp + (int64_t)b * H, w->tmp + (int64_t)b * GH, L->b_ih, L->b_hh, H);
      continue;
    }
    gemm(0, 1, bt, GH, P, hp, P, L->w_hh, P, 1.0f, g, GH);
    if (L->cell == CELL_LSTM) {
      float *cp = a->cprev + r0 * H, *mo = L->w_hr ? a->mproj + r0 * H : h;
      copy_prev(cp, a->cell, c0, s, t, bt, H);
      for (int b = 0; b < bt; b++) {
        int64_t o = (r0 + b) * H;
        lstm_fwd_row(g + (int64_t)b * GH, a->cell + o, a->tcell + o, mo + (int64_t)b * H,
                     cp + (int64_t)b * H, w->bsum, H);
      }
      if (L->w_hr) /* h = (o * tanh c) W_hr^T: (bt, P) */
        gemm(0, 1, bt, P, H, mo, H, L->w_hr, H, 0.0f, h, P);
    } else {
      int64_t n = (int64_t)bt * H;
      for (int64_t b = 0; b < bt; b++)
        for (int j = 0; j < H; j++) g[b * H + j] += w->bsum[j];
      if (L->cell == CELL_RNN_TANH)
        tanh_n(g, (int)n);
      else
        for (int64_t j = 0; j < n; j++) g[j] = g[j] > 0 ? g[j] : 0.0f;
      memcpy(h, g, (size_t)n * sizeof(float));
    }
  }
}

/* ---- backward ---- */
RECUR_HOT static void lstm_bwd_row(float *restrict dg, float *restrict dc, const float *restrict g,
                                   const float *restrict tc, const float *restrict cp,
                                   const float *restrict dh, int H) {
  const float *i = g, *f = g + H, *gg = g + 2 * H, *o = g + 3 * H;
  for (int j = 0; j < H; j++) {
    float dcj = dc[j] + dh[j] * o[j] * (1.0f - tc[j] * tc[j]);
    float d_o = dh[j] * tc[j];
    dg[j] = dcj * gg[j] * i[j] * (1.0f - i[j]);
    dg[H + j] = dcj * cp[j] * f[j] * (1.0f - f[j]);
    dg[2 * H + j] = dcj * i[j] * (1.0f - gg[j] * gg[j]);
    dg[3 * H + j] = d_o * o[j] * (1.0f - o[j]);
    dc[j] = dcj * f[j];
  }
}

RECUR_HOT static void gru_bwd_row(float *restrict dgx, float *restrict dgh, float *restrict dhp,
                                  const float *restrict g, const float *restrict hn,
                                  const float *restrict hp, const float *restrict dh, int H) {
  const float *r = g, *z = g + H, *n = g + 2 * H;
  for (int j = 0; j < H; j++) {
    float dn = dh[j] * (1.0f - z[j]);
    float dz = dh[j] * (hp[j] - n[j]);
    float dnp = dn * (1.0f - n[j] * n[j]);
    float drp = dnp * hn[j] * r[j] * (1.0f - r[j]);
    float dzp = dz * z[j] * (1.0f - z[j]);
    dgx[j] = drp;
    dgx[H + j] = dzp;
    dgx[2 * H + j] = dnp;
    dgh[j] = drp;
    dgh[H + j] = dzp;
    dgh[2 * H + j] = dnp * r[j];
    if (dhp) dhp[j] += dh[j] * z[j];
  }
}

RECUR_HOT void layer_backward_data(const layer_view *L, layer_acts *a, const packed_shape *s,
                                   float *dH, float *dX, layer_scratch *w) {
  const int H = L->H, GH = L->G * H, P = L->P;
  const int64_t N = s->N;
  layer_scratch_reserve(w, N, s->B, GH);
  if (N == 0) return;
  float *dgh = L->cell == CELL_GRU ? w->dgh : w->dgx;
  uint16_t *dg16 = layer_bf16(w, w->dgx), *dgh16 = layer_bf16(w, dgh);
  if (cell_has_c(L->cell)) { /* the cell gradient carried back: from the final state, or 0 */
    if (w->dcT)
      memcpy(w->dc, w->dcT, (size_t)s->bs[0] * (size_t)H * sizeof(float));
    else
      memset(w->dc, 0, (size_t)s->B * (size_t)H * sizeof(float));
  }
  if (w->dh0) memset(w->dh0, 0, (size_t)s->B * (size_t)P * sizeof(float));
  if (w->dhT) /* row r's last step is t for r in [bs[t + 1], bs[t]) */
    for (int t = s->T - 1; t >= 0; t--)
      for (int r = t + 1 < s->T ? s->bs[t + 1] : 0; r < s->bs[t]; r++) {
        float *d = dH + (s->off[t] + r) * P;
        const float *g = w->dhT + (int64_t)r * P;
        for (int j = 0; j < P; j++) d[j] += g[j];
      }
  for (int t = s->T - 1; t >= 0; t--) {
    const int bt = s->bs[t];
    const int64_t r0 = s->off[t];
    const float *dh = dH + r0 * P, *g = a->gates + r0 * GH;
    float *dg = w->dgx + r0 * GH;
    switch (L->cell) {
    case CELL_LSTM:
      if (L->w_hr) { /* through the projection: d(o * tanh c) = dh W_hr, (bt, H) */
        gemm(0, 0, bt, H, P, dh, P, L->w_hr, H, 0.0f, w->tmp, H);
        dh = w->tmp;
      }
      for (int b = 0; b < bt; b++) {
        int64_t o = (r0 + b) * H;
        lstm_bwd_row(dg + (int64_t)b * GH, w->dc + (int64_t)b * H, g + (int64_t)b * GH,
                     a->tcell + o, a->cprev + o, dh + (int64_t)b * H, H);
        if (dg16) /* the row in bf16 while it is in cache, once for all four products */
          core_to_bf16(dg16 + (r0 + b) * GH, dg + (int64_t)b * GH, GH);
      }
      break;
    case CELL_GRU:
      for (int b = 0; b < bt; b++) {
        int64_t o = (r0 + b) * H;
        float *dhp = t > 0    ? dH + s->off[t - 1] * H + (int64_t)b * H
                     : w->dh0 ? w->dh0 + (int64_t)b * H
                              : NULL;
        gru_bwd_row(dg + (int64_t)b * GH, w->dgh + (r0 + b) * GH, dhp, g + (int64_t)b * GH,
                    a->hn + o, a->hprev + o, dh + (int64_t)b * H, H);
      }
      break;
    case CELL_RNN_TANH:
      for (int64_t j = 0; j < (int64_t)bt * H; j++) dg[j] = dh[j] * (1.0f - g[j] * g[j]);
      break;
    default:
      for (int64_t j = 0; j < (int64_t)bt * H; j++) dg[j] = g[j] > 0 ? dh[j] : 0.0f;
    }
    if (dg16 && L->cell != CELL_LSTM) { /* the step's rows in bf16 (lstm: row by row, above) */
      core_to_bf16(dg16 + r0 * GH, dg, (int64_t)bt * GH);
      if (dgh != w->dgx) core_to_bf16(dgh16 + r0 * GH, dgh + r0 * GH, (int64_t)bt * GH);
    }
    layer_poke(w);
    /* recurrent term: dh_{t-1}[:bt] += dgh_t W_hh */
    const uint16_t *a16 = dgh16 ? dgh16 + r0 * GH : NULL;
    if (t > 0)
      gemm_a16(0, 0, bt, P, GH, dgh + r0 * GH, a16, GH, L->w_hh, P, 1.0f, dH + s->off[t - 1] * P,
               P);
    else if (w->dh0) /* into the initial state */
      gemm_a16(0, 0, bt, P, GH, dgh, a16, GH, L->w_hh, P, 1.0f, w->dh0, P);
  }
  if (w->dc0 && cell_has_c(L->cell)) { /* rows of length 0 (past bs[0]) get none */
    memset(w->dc0, 0, (size_t)s->B * (size_t)H * sizeof(float));
    memcpy(w->dc0, w->dc, (size_t)s->bs[0] * (size_t)H * sizeof(float));
  }
  layer_poke(w);
  if (dX) gemm_a16(0, 0, (int)N, L->in, GH, w->dgx, dg16, GH, L->w_ih, L->in, 0.0f, dX, L->in);
}

RECUR_HOT void layer_backward_weights_in(const layer_view *L, const float *X, const packed_shape *s,
                                         layer_scratch *w) {
  const int GH = L->G * L->H;
  const int64_t N = s->N;
  if (N == 0) return;
  layer_poke(w);
  gemm_a16(1, 0, GH, L->in, (int)N, w->dgx, layer_bf16(w, w->dgx), GH, X, L->in, 1.0f, L->gw_ih,
           L->in);
  layer_poke(w);
}

RECUR_HOT void layer_backward_weights_rec(const layer_view *L, const layer_acts *a,
                                          const packed_shape *s, const float *dH,
                                          layer_scratch *w) {
  const int H = L->H, GH = L->G * H, P = L->P;
  const int64_t N = s->N;
  if (N == 0) return;
  const float *dgh = L->cell == CELL_GRU ? w->dgh : w->dgx;
  layer_poke(w);
  gemm_a16(1, 0, GH, P, (int)N, dgh, layer_bf16(w, dgh), GH, a->hprev, P, 1.0f, L->gw_hh, P);
  layer_poke(w);
  if (L->w_hr) /* every row's dh is final now: dW_hr = dH^T (o * tanh c) */
    gemm(1, 0, P, H, (int)N, dH, P, a->mproj, H, 1.0f, L->gw_hr, H);
  if (dgh == w->dgx) { /* lstm, rnn: both biases get the same column sums: one pass over dgx */
    gemm_colsum((int)N, GH, w->dgx, GH, w->ones, 0.0f, w->bsum);
    gemm_add(GH, w->bsum, L->gb_ih);
    gemm_add(GH, w->bsum, L->gb_hh);
  } else {
    gemm_colsum((int)N, GH, w->dgx, GH, w->ones, 1.0f, L->gb_ih);
    gemm_colsum((int)N, GH, dgh, GH, w->ones, 1.0f, L->gb_hh);
  }
  layer_poke(w);
}

void layer_backward_weights(const layer_view *L, const layer_acts *a, const float *X,
                            const packed_shape *s, const float *dH, layer_scratch *w) {
  layer_backward_weights_in(L, X, s, w);
  layer_backward_weights_rec(L, a, s, dH, w);
}

void layer_backward(const layer_view *L, layer_acts *a, const float *X, const packed_shape *s,
                    float *dH, float *dX, layer_scratch *w) {
  layer_backward_data(L, a, s, dH, dX, w);
  layer_backward_weights(L, a, X, s, dH, w);
}

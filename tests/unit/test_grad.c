/* Finite-difference check of every parameter's gradient, for each cell, 1 and 2 layers, a batch
 * of unequal lengths, a non-zero initial state, dropout between layers; and for bidirectional
 * layers, the classification readout (last real step, mean pooling) and tagging. */
#include <string.h>

#include "check.h"
#include "recur/core.h"
#include "recur/model.h"

enum { V = 7, NSEQ = 3 };
static int g_cond_input; /* condlm: the label also appended to every input */
static int g_cvec; /* condlm: a vector of 4 features per sequence (normalised) instead of a label */
static int g_tie;  /* the readout's weight is the embedding */
static float g_locked, g_embed_drop, g_wdrop; /* regularisers, their masks fixed by the step */
static int g_proj;                            /* lstm projection width (< hidden 6) */
static int g_attn;                            /* seq2seq: the attention */
static int g_rh;                              /* --readout-hidden */
static int g_feed;                            /* --input-feed */
static int g_adaptive; /* adaptive softmax: shortlist {0, 1}, clusters [2, 4) and [4, 7) */

static double loss_of(model *m, const batch *b, const float *h0, const float *c0) {
  return model_forward(m, b, h0, c0, 5, 1);
}

static void run_task(int cell, int layers, float dropout, int task, int bidi, int pool) {
  model_config c = {.cell = cell,
                    .layers = layers,
                    .hidden = 6,
                    .embed = g_tie ? (g_proj ? g_proj : 6) : 5,
                    .vocab = V,
                    .dropout = dropout,
                    .task = task,
                    .bidirectional = bidi,
                    .n_out = task_is(task)->next_token ? 0 : 4,
                    .pool = pool,
                    .cond_labels = task == TASK_CONDLM && !g_cvec ? 3 : 0,
                    .cond_width = 4, /* (seq2seq --cond-features: sources of 4-feature frames) */
                    .cond_features =
                        (task == TASK_CONDLM || task == TASK_SEQ2SEQ) && g_cvec ? 4 : 0,
                    .cond_every_step = g_cond_input,
                    .tie_weights = g_tie,
                    .dropout_locked = g_locked,
                    .dropout_embed = g_embed_drop,
                    .weight_drop = g_wdrop,
                    .proj = g_proj,
                    .softmax = g_adaptive ? SOFTMAX_ADAPTIVE : SOFTMAX_FULL,
                    .n_cutoffs = g_adaptive ? 2 : 0,
                    .cutoffs = {2, 4},
                    .div_value = 2.0f,
                    .attention = g_attn,
                    .readout_hidden = g_rh,
                    .input_feed = g_feed};
  model *m = model_create(&c, 42);
  if (c.cond_features) { /* the vectors' statistics */
    m->cond_mean = malloc(4 * sizeof(double));
    m->cond_std = malloc(4 * sizeof(double));
    for (int d = 0; d < 4; d++) m->cond_mean[d] = 0.5 - 0.2 * d, m->cond_std[d] = 0.7 + 0.4 * d;
    model_cond_stats(m);
  }
  /* make biases and weights a bit larger so every gate matters */
  for (int64_t i = 0; i < m->n_params; i++) m->params[i] *= 1.5f;
  for (int ti = 0; g_attn && ti < m->n_tensors; ti++) /* scores far from uniform: the score's
                                                        gradients above the forward's noise */
    if (!strncmp(m->tensors[ti].name, "attention.", 10) &&
        strcmp(m->tensors[ti].name, "attention.linear_out.weight"))
      for (int64_t i = 0; i < m->tensors[ti].n; i++) m->params[m->tensors[ti].offset + i] *= 4.0f;
  if (g_tie) /* the embedding is also the readout: N(0, 1) rows would saturate the softmax */
    for (int64_t i = 0; i < (int64_t)V * c.embed; i++) m->emb[i] *= 0.3f;
  int len[NSEQ] = {5, 2, 4};
  int32_t tok[NSEQ][6];
  int32_t *in[NSEQ], *tgt[NSEQ];
  uint64_t ids[NSEQ] = {10, 11, 12};
  for (int s = 0; s < NSEQ; s++) {
    for (int t = 0; t < 6; t++)
      tok[s][t] = (int32_t)(rng_key(7, RNG_TEST, (uint64_t)s, (uint64_t)t, 0) % V);
    in[s] = tok[s];
    tgt[s] = tok[s] + 1;
  }
  int32_t tags[NSEQ][6], labels[NSEQ] = {1, 3, 0};
  if (task == TASK_TAG)
    for (int s = 0; s < NSEQ; s++) {
      for (int t = 0; t < 6; t++)
        tags[s][t] = (int32_t)(rng_key(8, RNG_TEST, (uint64_t)s, (uint64_t)t, 0) % 4);
      tgt[s] = tags[s];
    }
  batch b = {0};
  batch_pack(&b, NSEQ, len, in, task == TASK_CLASSIFY ? NULL : tgt, ids);
  if (task == TASK_CLASSIFY) batch_set_labels(&b, labels);
  int32_t conds[NSEQ] = {2, 0, 2}; /* condlm: two sequences share a label */
  if (task == TASK_CONDLM) batch_set_labels(&b, conds);
  /* (vectors drawn so that no rnn_relu unit sits within the finite-difference step of its kink:
   * other draws, e.g. keys 24 and 27, put one there and only rnn_relu's check moves) */
  float cv[NSEQ][4];
  const float *cvs[NSEQ];
  for (int s = 0; s < NSEQ; s++) {
    for (int d = 0; d < 4; d++)
      cv[s][d] = 2.0f * rng_uniform(rng_key(25, RNG_TEST, (uint64_t)s, (uint64_t)d, 0)) - 0.5f;
    cvs[s] = cv[s];
  }
  if (c.cond_features && task == TASK_CONDLM) batch_set_cond(&b, cvs, 4);
  /* seq2seq: sources of other lengths than their targets (and another order by length) */
  int slen[NSEQ] = {2, 6, 3};
  int32_t stok[NSEQ][6], *src[NSEQ];
  for (int s = 0; s < NSEQ; s++) {
    for (int t = 0; t < 6; t++)
      stok[s][t] = (int32_t)(rng_key(9, RNG_TEST, (uint64_t)s, (uint64_t)t, 0) % V);
    src[s] = stok[s];
  }
  float sx[NSEQ][6 * 4]; /* --cond-features: the sources as frames */
  const float *sxs[NSEQ];
  for (int s = 0; s < NSEQ; s++) {
    for (int i = 0; i < 6 * 4; i++)
      sx[s][i] = 2.0f * rng_uniform(rng_key(26, RNG_TEST, (uint64_t)s, (uint64_t)i, 0)) - 0.7f;
    sxs[s] = sx[s];
  }
  const int frames = task == TASK_SEQ2SEQ && c.cond_features > 0;
  if (task == TASK_SEQ2SEQ)
    batch_set_sources(&b, slen, frames ? NULL : src, frames ? sxs : NULL, frames ? 4 : 0);
  const int H = c.hidden;
  float h0[2 * NSEQ * 6], c0[2 * NSEQ * 6];
  for (int i = 0; i < layers * NSEQ * H; i++) {
    h0[i] = 0.5f * (2.0f * rng_uniform(rng_key(3, RNG_TEST, (uint64_t)i, 1, 0)) - 1.0f);
    c0[i] = 0.5f * (2.0f * rng_uniform(rng_key(3, RNG_TEST, (uint64_t)i, 2, 0)) - 1.0f);
  }
  memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
  if (bidi) { /* the reverse direction always starts from zero: no initial state */
    memset(h0, 0, sizeof h0);
    memset(c0, 0, sizeof c0);
  }
  /* condlm: no initial state given, so the labels make it (the path under test) */
  /* seq2seq: the encoder makes it */
  const int made = task == TASK_CONDLM || task == TASK_SEQ2SEQ;
  const float *H0 = made ? NULL : h0, *C0 = made ? NULL : c0;
  loss_of(m, &b, H0, C0);
  model_backward(m, &b, 1.0f);
  float *g = malloc((size_t)m->n_params * sizeof(float));
  memcpy(g, m->grads, (size_t)m->n_params * sizeof(float));
  for (int ti = 0; ti < m->n_tensors; ti++) {
    const model_tensor *T = &m->tensors[ti];
    double num2 = 0, diff2 = 0, worst = 0;
    for (int64_t k = 0; k < T->n; k++) {
      float *p = m->params + T->offset + k, save = *p;
      /* small steps keep ReLU off its kink (the adaptive case has a unit within 1e-3 of it) */
      const float eps = cell == CELL_RNN_RELU ? (g_adaptive ? 2e-4f : 1e-3f) : 1e-2f;
      *p = save + eps;
      double lp = loss_of(m, &b, H0, C0);
      *p = save - eps;
      double lm = loss_of(m, &b, H0, C0);
      *p = save;
      double fd = (lp - lm) / (2.0 * eps), an = g[T->offset + k];
      num2 += fd * fd;
      diff2 += (fd - an) * (fd - an);
      double e = fabs(fd - an);
      worst = e > worst ? e : worst;
    }
    double rel = sqrt(diff2) / (sqrt(num2) + 1e-6);
    /* with a projection the first layer's gradients are ~1e-4: the float forward's noise in the
     * finite differences reaches 5e-3 of them (a smaller step only adds noise), so 1e-2 there */
    CHECK(rel < (g_proj ? 1e-2 : 5e-3) && worst < 5e-3,
          "%s %dL drop %.1f task %s bidi %d pool %d %s: relative error %.2e, worst abs %.2e",
          cell_names[cell], layers, dropout, task_names[task], bidi, pool, T->name, rel, worst);
    CHECK(num2 > 0 || strstr(T->name, "embedding") != NULL, "%s %s: gradient is all zero",
          cell_names[cell], T->name);
  }
  if (g_adaptive) { /* the whole distribution: sums to 1, and gives the loss at the targets */
    m->want_probs = 1;
    double loss = loss_of(m, &b, H0, C0), nll = 0, worst = 0;
    for (int64_t r = 0; r < b.s.N; r++) {
      double sum = 0;
      for (int v = 0; v < V; v++) sum += m->probs[r * V + v];
      worst = fabs(sum - 1) > worst ? fabs(sum - 1) : worst;
      if (b.tgt[r] >= 0) nll -= log(m->probs[r * V + b.tgt[r]]);
    }
    m->want_probs = 0;
    CHECK(worst < 1e-5 && fabs(nll - loss) < 1e-4 * loss,
          "adaptive %s: probabilities sum to 1 within %.1e, -log p %.6f vs loss %.6f",
          cell_names[cell], worst, nll, loss);
  }
  if (task == TASK_SEQ2SEQ) { /* packed (both sides) equals each pair alone */
    double whole = loss_of(m, &b, NULL, NULL), alone = 0;
    for (int s = 0; s < NSEQ; s++) {
      batch b1 = {0};
      batch_pack(&b1, 1, &len[s], &in[s], &tgt[s], &ids[s]);
      batch_set_sources(&b1, &slen[s], frames ? NULL : &src[s], frames ? &sxs[s] : NULL,
                        frames ? 4 : 0);
      alone += loss_of(m, &b1, NULL, NULL);
      batch_free(&b1);
    }
    CHECK(fabs(whole - alone) < 1e-5 * fabs(whole),
          "%s seq2seq: packed loss %.8f, pairs alone %.8f", cell_names[cell], whole, alone);
  }
  free(g);
  batch_free(&b);
  model_free(m);
}

/* real-valued inputs through the input layer (normalised by stored statistics): forecast's MSE or
 * Gaussian loss of the next frame, or a label per sequence (classify: bidi, pool) or tags (tag) */
static int g_inh; /* --input-hidden */
static void run_real(int cell, int layers, float dropout, int task, int loss, int bidi, int pool) {
  enum { DIN = 3 };
  model_config c = {.cell = cell,
                    .layers = layers,
                    .hidden = 6,
                    .embed = 5,
                    .dropout = dropout,
                    .task = task,
                    .n_in = DIN,
                    .horizon = 1,
                    .in_hidden = g_inh,
                    .loss = loss,
                    .bidirectional = bidi,
                    .pool = pool,
                    .n_out = task == TASK_FORECAST ? 0 : 4};
  model *m = model_create(&c, 17);
  for (int64_t i = 0; i < m->n_params; i++) m->params[i] *= 1.5f;
  m->in_mean = malloc(DIN * sizeof(double));
  m->in_std = malloc(DIN * sizeof(double));
  for (int d = 0; d < DIN; d++) m->in_mean[d] = 0.3 * d - 0.2, m->in_std[d] = 0.5 + d;
  int len[NSEQ] = {5, 2, 4};
  float x[NSEQ][6 * DIN], y[NSEQ][6 * DIN];
  int32_t zero[6] = {0}, *zs[NSEQ], tags[NSEQ][6], labels[NSEQ] = {2, 0, 3};
  const float *xs[NSEQ], *ys[NSEQ];
  uint64_t ids[NSEQ] = {4, 5, 6};
  for (int s = 0; s < NSEQ; s++) {
    for (int i = 0; i < 6 * DIN; i++) {
      x[s][i] = 2.0f * rng_uniform(rng_key(21, RNG_TEST, (uint64_t)s, (uint64_t)i, 0)) - 1.0f;
      y[s][i] = 2.0f * rng_uniform(rng_key(22, RNG_TEST, (uint64_t)s, (uint64_t)i, 0)) - 1.0f;
    }
    for (int t = 0; t < 6; t++)
      tags[s][t] = (int32_t)(rng_key(23, RNG_TEST, (uint64_t)s, (uint64_t)t, 0) % 4);
    xs[s] = x[s], ys[s] = y[s];
    zs[s] = task == TASK_TAG ? tags[s] : zero; /* forecast: every step a target */
  }
  batch b = {0};
  batch_pack(&b, NSEQ, len, NULL, task == TASK_CLASSIFY ? NULL : zs, ids);
  batch_set_values(&b, xs, task == TASK_FORECAST ? ys : NULL, DIN);
  if (task == TASK_CLASSIFY) batch_set_labels(&b, labels), b.n_targets = NSEQ;
  memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
  loss_of(m, &b, NULL, NULL);
  model_backward(m, &b, 1.0f);
  float *g = malloc((size_t)m->n_params * sizeof(float));
  memcpy(g, m->grads, (size_t)m->n_params * sizeof(float));
  for (int ti = 0; ti < m->n_tensors; ti++) {
    const model_tensor *T = &m->tensors[ti];
    double num2 = 0, diff2 = 0, worst = 0;
    for (int64_t k = 0; k < T->n; k++) {
      float *p = m->params + T->offset + k, save = *p;
      const float eps = cell == CELL_RNN_RELU ? 1e-3f : 1e-2f;
      *p = save + eps;
      double lp = loss_of(m, &b, NULL, NULL);
      *p = save - eps;
      double lm = loss_of(m, &b, NULL, NULL);
      *p = save;
      double fd = (lp - lm) / (2.0 * eps), an = g[T->offset + k];
      num2 += fd * fd;
      diff2 += (fd - an) * (fd - an);
      worst = fabs(fd - an) > worst ? fabs(fd - an) : worst;
    }
    double rel = sqrt(diff2) / (sqrt(num2) + 1e-6);
    CHECK(rel < 5e-3 && worst < 5e-3, "real %s %s %dL loss %s %s: relative error %.2e, worst %.2e",
          task_names[task], cell_names[cell], layers, loss_names[loss], T->name, rel, worst);
    CHECK(num2 > 0, "real %s %s: %s gradient is all zero", task_names[task], cell_names[cell],
          T->name);
  }
  { /* packed equals each sequence alone (padding-free: no row sees another's steps) */
    double whole = loss_of(m, &b, NULL, NULL), alone = 0;
    for (int s = 0; s < NSEQ; s++) {
      batch b1 = {0};
      batch_pack(&b1, 1, &len[s], NULL, task == TASK_CLASSIFY ? NULL : &zs[s], &ids[s]);
      batch_set_values(&b1, &xs[s], task == TASK_FORECAST ? &ys[s] : NULL, DIN);
      if (task == TASK_CLASSIFY) batch_set_labels(&b1, &labels[s]), b1.n_targets = 1;
      alone += loss_of(m, &b1, NULL, NULL);
      batch_free(&b1);
    }
    CHECK(fabs(whole - alone) < 1e-5 * fabs(whole), "real %s %s: packed loss %.8f, alone %.8f",
          task_names[task], cell_names[cell], whole, alone);
  }
  free(g);
  batch_free(&b);
  model_free(m);
}

/* One layer, the loss reading its outputs and each row's final state (h, and c for lstm) through
 * fixed weights: the gradient that w->dhT / w->dcT bring in (an encoder's final state handed to a
 * decoder), checked with the initial state's gradient and dX against finite differences. */
static double final_loss(const layer_view *L, layer_acts *a, const batch *b, const float *X,
                         const float *h0, const float *c0, layer_scratch *w, const float *wo,
                         const float *wh, const float *wc) {
  layer_forward(L, a, X, &b->s, h0, c0, w);
  const int P = L->P, H = L->H;
  double loss = 0;
  for (int64_t i = 0; i < b->s.N * P; i++) loss += (double)wo[i] * a->h[i];
  for (int r = 0; r < b->s.B; r++) {
    int64_t row = b->off[b->len[r] - 1] + r;
    for (int j = 0; j < P; j++) loss += (double)wh[r * P + j] * a->h[row * P + j];
    if (L->cell == CELL_LSTM)
      for (int j = 0; j < H; j++) loss += (double)wc[r * H + j] * a->cell[row * H + j];
  }
  return loss;
}

typedef struct {
  const char *name;
  float *p, *g; /* values and their analytic gradient */
  int64_t n;
} fd_input;

static void run_final_state(int cell, int proj) {
  model_config c = {.cell = cell, .layers = 1, .hidden = 6, .embed = 5, .vocab = V, .proj = proj};
  model *m = model_create(&c, 11);
  for (int64_t i = 0; i < m->n_params; i++) m->params[i] *= 1.5f;
  const layer_view *L = &m->layer[0][0];
  const int P = L->P, H = L->H, in = L->in;
  int len[NSEQ] = {5, 2, 4};
  int32_t tok[NSEQ][6] = {{0}}, *ins[NSEQ];
  uint64_t ids[NSEQ] = {1, 2, 3};
  for (int s = 0; s < NSEQ; s++) ins[s] = tok[s];
  batch b = {0};
  batch_pack(&b, NSEQ, len, ins, NULL, ids);
  const int64_t N = b.s.N;
  float X[11 * 5], wo[11 * 6], wh[NSEQ * 6], wc[NSEQ * 6], h0[NSEQ * 6], c0[NSEQ * 6];
  float dH[11 * 6], dX[11 * 5], dh0[NSEQ * 6], dc0[NSEQ * 6];
  for (int64_t i = 0; i < N * in; i++) X[i] = 2.0f * rng_uniform(rng_key(5, RNG_TEST, i, 0, 0)) - 1;
  for (int64_t i = 0; i < N * P; i++) wo[i] = 2.0f * rng_uniform(rng_key(5, RNG_TEST, i, 1, 0)) - 1;
  for (int i = 0; i < NSEQ * 6; i++) {
    wh[i] = 2.0f * rng_uniform(rng_key(5, RNG_TEST, i, 2, 0)) - 1;
    wc[i] = 2.0f * rng_uniform(rng_key(5, RNG_TEST, i, 3, 0)) - 1;
    h0[i] = 0.5f * (2.0f * rng_uniform(rng_key(5, RNG_TEST, i, 4, 0)) - 1);
    c0[i] = 0.5f * (2.0f * rng_uniform(rng_key(5, RNG_TEST, i, 5, 0)) - 1);
  }
  layer_acts a = {0};
  layer_scratch w = {0};
  memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
  final_loss(L, &a, &b, X, h0, c0, &w, wo, wh, wc);
  memcpy(dH, wo, (size_t)(N * P) * sizeof(float));
  w.dhT = wh;
  w.dcT = cell == CELL_LSTM ? wc : NULL;
  w.dh0 = dh0;
  w.dc0 = dc0;
  layer_backward(L, &a, X, &b.s, dH, dX, &w);
  w.dhT = w.dcT = NULL;
  w.dh0 = w.dc0 = NULL;
  /* every input of the loss: the layer's parameters, X, h0, c0 */
  fd_input in_[8];
  int k = 0;
  for (int ti = 0; ti < m->n_tensors; ti++)
    if (!strncmp(m->tensors[ti].name, "rnn.", 4))
      in_[k++] = (fd_input){m->tensors[ti].name, m->params + m->tensors[ti].offset,
                            m->grads + m->tensors[ti].offset, m->tensors[ti].n};
  in_[k++] = (fd_input){"X", X, dX, N * in};
  in_[k++] = (fd_input){"h0", h0, dh0, (int64_t)NSEQ * P};
  if (cell == CELL_LSTM) in_[k++] = (fd_input){"c0", c0, dc0, (int64_t)NSEQ * H};
  for (int q = 0; q < k; q++) {
    double num2 = 0, diff2 = 0;
    for (int64_t i = 0; i < in_[q].n; i++) {
      float save = in_[q].p[i];
      const float eps = cell == CELL_RNN_RELU ? 1e-3f : 1e-2f;
      in_[q].p[i] = save + eps;
      double lp = final_loss(L, &a, &b, X, h0, c0, &w, wo, wh, wc);
      in_[q].p[i] = save - eps;
      double lm = final_loss(L, &a, &b, X, h0, c0, &w, wo, wh, wc);
      in_[q].p[i] = save;
      double fd = (lp - lm) / (2.0 * eps), an = in_[q].g[i];
      num2 += fd * fd;
      diff2 += (fd - an) * (fd - an);
    }
    double rel = sqrt(diff2) / (sqrt(num2) + 1e-6);
    CHECK(rel < (proj ? 1e-2 : 5e-3) && num2 > 0, "final state %s proj %d: %s relative error %.2e",
          cell_names[cell], proj, in_[q].name, rel);
  }
  layer_acts_free(&a);
  layer_scratch_free(&w);
  batch_free(&b);
  model_free(m);
}

static void run(int cell, int layers, float dropout) {
  run_task(cell, layers, dropout, TASK_LM, 0, POOL_LAST);
}

int main(void) {
  for (int cell = 0; cell < CELL_COUNT; cell++) run_final_state(cell, 0);
  run_final_state(CELL_LSTM, 4);
  for (int cell = 0; cell < CELL_COUNT; cell++)
    for (int layers = 1; layers <= 2; layers++) run(cell, layers, 0.0f);
  run(CELL_LSTM, 2, 0.3f);
  run(CELL_GRU, 2, 0.3f);
  for (int cell = 0; cell < CELL_COUNT; cell++) {
    run_task(cell, 2, 0.0f, TASK_TAG, 1, POOL_LAST);
    run_task(cell, 2, 0.0f, TASK_CLASSIFY, 1, POOL_LAST);
  }
  run_task(CELL_LSTM, 1, 0.0f, TASK_CLASSIFY, 0, POOL_LAST);
  run_task(CELL_GRU, 2, 0.0f, TASK_CLASSIFY, 0, POOL_MEAN);
  run_task(CELL_LSTM, 2, 0.2f, TASK_CLASSIFY, 1, POOL_MEAN);
  run_task(CELL_GRU, 1, 0.0f, TASK_TAG, 0, POOL_LAST);
  for (int cell = 0; cell < CELL_COUNT; cell++) run_task(cell, 2, 0.0f, TASK_CONDLM, 0, POOL_LAST);
  run_task(CELL_LSTM, 2, 0.3f, TASK_CONDLM, 0, POOL_LAST);
  /* encoder-decoder: through the decoder's initial states into the encoder */
  for (int cell = 0; cell < CELL_COUNT; cell++) run_task(cell, 2, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
  run_task(CELL_GRU, 2, 0.3f, TASK_SEQ2SEQ, 0, POOL_LAST);
  g_tie = 1;
  run_task(CELL_LSTM, 1, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
  g_tie = 0;
  /* each score, into both stacks (a 2-layer lstm's top outputs are small: its score gradients,
   * ~1e-4, sit at the float forward's finite-difference noise; 1 layer and the other cells check
   * them) */
  for (g_attn = ATTN_DOT; g_attn < ATTN_COUNT; g_attn++) {
    run_task(CELL_LSTM, 1, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
    run_task(CELL_GRU, 2, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
    run_task(CELL_RNN_TANH, 2, 0.3f, TASK_SEQ2SEQ, 0, POOL_LAST);
  }
  g_attn = ATTN_NONE;
  /* real-valued inputs and frames out */
  for (int cell = 0; cell < CELL_COUNT; cell++) run_real(cell, 2, 0.0f, TASK_FORECAST, 0, 0, 0);
  run_real(CELL_LSTM, 1, 0.0f, TASK_FORECAST, LOSS_GAUSSIAN, 0, 0);
  run_real(CELL_GRU, 2, 0.3f, TASK_FORECAST, LOSS_GAUSSIAN, 0, 0);
  for (int cell = 0; cell < CELL_COUNT; cell++) { /* classifying and tagging frames */
    run_real(cell, 2, 0.0f, TASK_CLASSIFY, 0, 0, POOL_LAST);
    run_real(cell, 1, 0.0f, TASK_TAG, 0, cell == CELL_GRU, 0);
  }
  run_real(CELL_GRU, 2, 0.3f, TASK_CLASSIFY, 0, 1, POOL_MEAN);
  g_inh = 7; /* the MLP input */
  run_real(CELL_LSTM, 2, 0.0f, TASK_FORECAST, LOSS_MSE, 0, 0);
  run_real(CELL_RNN_TANH, 1, 0.0f, TASK_FORECAST, LOSS_GAUSSIAN, 0, 0);
  run_real(CELL_LSTM, 1, 0.0f, TASK_CLASSIFY, 0, 1, POOL_LAST);
  g_inh = 0;
  /* input feeding: the decoder step by step, h~ of each step into the next one's input (rnn_tanh:
   * 1 layer, whose encoder gradients stay small enough for the step's truncation error) */
  g_feed = 1;
  for (g_attn = ATTN_DOT; g_attn < ATTN_COUNT; g_attn++) {
    run_task(CELL_LSTM, 1, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
    run_task(CELL_GRU, 2, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
    run_task(CELL_RNN_TANH, 1, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
  }
  g_attn = ATTN_CONCAT;
  run_task(CELL_GRU, 2, 0.0f, TASK_SEQ2SEQ, 1, POOL_LAST);
  g_rh = 4;
  run_task(CELL_GRU, 1, 0.0f, TASK_SEQ2SEQ, 1, POOL_LAST);
  g_rh = 0;
  g_attn = ATTN_GENERAL; /* with dropout between layers, locked dropout and --weight-drop */
  run_task(CELL_GRU, 2, 0.3f, TASK_SEQ2SEQ, 0, POOL_LAST);
  g_locked = 0.3f, g_wdrop = 0.3f;
  run_task(CELL_GRU, 2, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST);
  g_locked = 0, g_wdrop = 0;
  g_attn = ATTN_NONE;
  g_feed = 0;
  /* the MLP readout: language model, classifier (pooled features), tagger, seq2seq with attention
   */
  g_rh = 5;
  run_task(CELL_GRU, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_LSTM, 1, 0.0f, TASK_CLASSIFY, 1, POOL_MEAN);
  run_task(CELL_RNN_TANH, 2, 0.0f, TASK_TAG, 0, POOL_LAST);
  g_attn = ATTN_GENERAL;
  run_task(CELL_GRU, 2, 0.0f, TASK_SEQ2SEQ, 1, POOL_LAST);
  g_attn = ATTN_NONE;
  g_rh = 0;
  /* a bidirectional encoder: the bridge from both directions' final states, and the attention over
   * outputs twice the decoder's width (lstm: 1 layer, as above) */
  for (int cell = 0; cell < CELL_COUNT; cell++)
    run_task(cell, cell == CELL_LSTM ? 1 : 2, 0.0f, TASK_SEQ2SEQ, 1, POOL_LAST);
  for (g_attn = ATTN_GENERAL; g_attn < ATTN_COUNT; g_attn++) {
    run_task(CELL_LSTM, 1, 0.0f, TASK_SEQ2SEQ, 1, POOL_LAST);
    run_task(CELL_GRU, 2, 0.0f, TASK_SEQ2SEQ, 1, POOL_LAST);
  }
  g_attn = ATTN_NONE;
  g_cond_input = 1;
  for (int cell = 0; cell < CELL_COUNT; cell++) run_task(cell, 2, 0.0f, TASK_CONDLM, 0, POOL_LAST);
  g_cond_input = 0;
  g_cvec = 1; /* a vector per sequence: the init layers' and (--cond-input) the inputs' gradients */
  for (int cell = 0; cell < CELL_COUNT; cell++) run_task(cell, 2, 0.0f, TASK_CONDLM, 0, POOL_LAST);
  g_cond_input = 1;
  run_task(CELL_LSTM, 2, 0.3f, TASK_CONDLM, 0, POOL_LAST);
  g_cond_input = 0;
  run_task(CELL_LSTM, 2, 0.0f, TASK_SEQ2SEQ, 0, POOL_LAST); /* sources of frames */
  run_task(CELL_GRU, 1, 0.3f, TASK_SEQ2SEQ, 1, POOL_LAST);
  g_attn = ATTN_CONCAT; /* (an lstm's scores here are ~1e-5: finite-difference noise) */
  run_task(CELL_GRU, 2, 0.0f, TASK_SEQ2SEQ, 1, POOL_LAST);
  g_attn = ATTN_NONE;
  g_cvec = 0;
  g_tie = 1; /* embedding.weight gets both gradients: the input's and the readout's */
  for (int cell = 0; cell < CELL_COUNT; cell++) run_task(cell, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_LSTM, 1, 0.0f, TASK_CONDLM, 0, POOL_LAST);
  g_tie = 0;
  g_locked = 0.3f; /* the regularisers, each with its mask fixed by (seed, step) */
  run_task(CELL_LSTM, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_GRU, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  g_locked = 0;
  g_embed_drop = 0.4f;
  run_task(CELL_LSTM, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_RNN_TANH, 1, 0.2f, TASK_LM, 0, POOL_LAST);
  g_embed_drop = 0;
  g_wdrop = 0.4f;
  for (int cell = 0; cell < CELL_COUNT; cell++) run_task(cell, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_GRU, 2, 0.0f, TASK_TAG, 1, POOL_LAST); /* both directions */
  g_wdrop = 0;
  g_proj = 4; /* projections: h and the output 4 wide, c 6 */
  run_task(CELL_LSTM, 1, 0.0f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_LSTM, 2, 0.3f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_LSTM, 2, 0.0f, TASK_TAG, 1, POOL_LAST);
  run_task(CELL_LSTM, 2, 0.0f, TASK_CLASSIFY, 1, POOL_MEAN);
  g_wdrop = 0.3f;
  run_task(CELL_LSTM, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  g_wdrop = 0;
  g_tie = 1; /* tied to the projected output: embed = proj */
  run_task(CELL_LSTM, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  g_tie = 0;
  g_proj = 0;
  g_adaptive = 1; /* the head and each cluster's two layers; with projections; conditioned */
  for (int cell = 0; cell < CELL_COUNT; cell++) run_task(cell, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_LSTM, 2, 0.3f, TASK_LM, 0, POOL_LAST);
  run_task(CELL_GRU, 2, 0.0f, TASK_CONDLM, 0, POOL_LAST);
  g_proj = 4;
  run_task(CELL_LSTM, 2, 0.0f, TASK_LM, 0, POOL_LAST);
  g_proj = 0;
  g_adaptive = 0;
  return check_done("test_grad");
}

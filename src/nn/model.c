/* model: parameter buffer, embedding, stacked layers with dropout, readout and loss. */
#include "recur/model.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

void model_config_check(const model_config *c) {
  if (c->cell < 0 || c->cell >= CELL_COUNT) recur_fail(NULL, "--cell lstm|gru|rnn_tanh|rnn_relu", "unknown cell");
  if (c->layers < 1 || c->layers > MODEL_MAX_LAYERS) recur_fail(NULL, NULL, "--layers must be in [1, %d], got %d", MODEL_MAX_LAYERS, c->layers);
  if (c->hidden < 1 || c->hidden > 65536) recur_fail(NULL, NULL, "--hidden must be in [1, 65536], got %d", c->hidden);
  if (c->embed < 1 || c->embed > 65536) recur_fail(NULL, NULL, "--embed must be in [1, 65536], got %d", c->embed);
  if (c->vocab < 1) recur_fail(NULL, NULL, "vocabulary size must be positive, got %d", c->vocab);
  if (!(c->dropout >= 0 && c->dropout < 1)) recur_fail(NULL, NULL, "--dropout must be in [0, 1), got %g", c->dropout);
}

static int64_t add_tensor(model *m, const char *name, int rank, int64_t d0, int64_t d1, int64_t off) {
  model_tensor *t = &m->tensors[m->n_tensors++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->rank = rank;
  t->dims[0] = d0;
  t->dims[1] = rank > 1 ? d1 : 1;
  t->offset = off;
  t->n = d0 * t->dims[1];
  return off + t->n;
}

const model_tensor *model_find_tensor(const model *m, const char *name) {
  for (int i = 0; i < m->n_tensors; i++)
    if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
  return NULL;
}

model *model_create(const model_config *c, uint64_t seed) {
  model_config_check(c);
  model *m = xcalloc(1, sizeof(model));
  m->cfg = *c;
  m->seed = seed;
  const int64_t V = c->vocab, H = c->hidden, E = c->embed, G = cell_gates(c->cell);
  /* layout in the order backward finishes: decoder, top layer ... layer 0, embedding */
  int64_t off = 0;
  off = add_tensor(m, "decoder.weight", 2, V, H, off);
  off = add_tensor(m, "decoder.bias", 1, V, 1, off);
  for (int l = c->layers - 1; l >= 0; l--) {
    int64_t in = l == 0 ? E : H;
    char nm[48];
    snprintf(nm, sizeof nm, "rnn.weight_ih_l%d", l); off = add_tensor(m, nm, 2, G * H, in, off);
    snprintf(nm, sizeof nm, "rnn.weight_hh_l%d", l); off = add_tensor(m, nm, 2, G * H, H, off);
    snprintf(nm, sizeof nm, "rnn.bias_ih_l%d", l); off = add_tensor(m, nm, 1, G * H, 1, off);
    snprintf(nm, sizeof nm, "rnn.bias_hh_l%d", l); off = add_tensor(m, nm, 1, G * H, 1, off);
  }
  off = add_tensor(m, "embedding.weight", 2, V, E, off);
  m->n_params = off;
  m->params = xcalloc((size_t)off, sizeof(float));
  m->grads = xcalloc((size_t)off, sizeof(float));
  int ti = 0;
  m->dec_w = m->params + m->tensors[ti].offset; m->gdec_w = m->grads + m->tensors[ti++].offset;
  m->dec_b = m->params + m->tensors[ti].offset; m->gdec_b = m->grads + m->tensors[ti++].offset;
  for (int l = c->layers - 1; l >= 0; l--) {
    layer_view *L = &m->layer[l];
    L->cell = c->cell; L->H = (int)H; L->G = (int)G; L->in = (int)(l == 0 ? E : H);
    L->w_ih = m->params + m->tensors[ti].offset; L->gw_ih = m->grads + m->tensors[ti++].offset;
    L->w_hh = m->params + m->tensors[ti].offset; L->gw_hh = m->grads + m->tensors[ti++].offset;
    L->b_ih = m->params + m->tensors[ti].offset; L->gb_ih = m->grads + m->tensors[ti++].offset;
    L->b_hh = m->params + m->tensors[ti].offset; L->gb_hh = m->grads + m->tensors[ti++].offset;
  }
  m->emb = m->params + m->tensors[ti].offset; m->gemb = m->grads + m->tensors[ti].offset;

  /* PyTorch defaults: Embedding N(0,1); RNN/LSTM/GRU U(-1/sqrt(H), 1/sqrt(H)); Linear U(-1/sqrt(in), ..) */
  for (int t = 0; t < m->n_tensors; t++) {
    const model_tensor *T = &m->tensors[t];
    float *p = m->params + T->offset;
    if (strcmp(T->name, "embedding.weight") == 0) {
      for (int64_t i = 0; i < T->n; i++) {
        uint64_t k = rng_key(seed, RNG_INIT, (uint64_t)t, (uint64_t)i, 0);
        double u1 = ((double)(k >> 40) + 0.5) / 16777216.0, u2 = rng_uniform(rng_sub(k, 1));
        p[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
      }
    } else {
      float bound = 1.0f / sqrtf((float)H);
      for (int64_t i = 0; i < T->n; i++)
        p[i] = bound * (2.0f * rng_uniform(rng_key(seed, RNG_INIT, (uint64_t)t, (uint64_t)i, 0)) - 1.0f);
    }
  }
  return m;
}

void model_free(model *m) {
  if (!m) return;
  for (int l = 0; l < m->cfg.layers; l++) {
    layer_acts_free(&m->acts[l]);
    free(m->drop[l]);
  }
  layer_scratch_free(&m->scratch);
  free(m->x0); free(m->probs); free(m->dA); free(m->dB);
  free(m->params); free(m->grads);
  free(m);
}

static void reserve(model *m, int64_t N) {
  if (N <= m->capN) return;
  const int64_t H = m->cfg.hidden, E = m->cfg.embed, V = m->cfg.vocab, W = H > E ? H : E;
  m->x0 = xrealloc(m->x0, (size_t)(N * E) * sizeof(float));
  m->probs = xrealloc(m->probs, (size_t)(N * V) * sizeof(float));
  m->dA = xrealloc(m->dA, (size_t)(N * W) * sizeof(float));
  m->dB = xrealloc(m->dB, (size_t)(N * W) * sizeof(float));
  if (m->cfg.dropout > 0)
    for (int l = 0; l + 1 < m->cfg.layers; l++) m->drop[l] = xrealloc(m->drop[l], (size_t)(N * H) * sizeof(float));
  m->capN = N;
}

/* y = x * mask, mask element = 1/(1-p) with probability 1-p else 0, keyed by
 * (seed, step, layer, seq_id, position, unit): the same mask in forward and backward. */
static void dropout_apply(const model *m, const batch *b, int layer, uint64_t step, float *y, const float *x) {
  const int H = m->cfg.hidden;
  const float p = m->cfg.dropout, keep = 1.0f / (1.0f - p);
  for (int t = 0; t < b->s.T; t++)
    for (int r = 0; r < b->bs[t]; r++) {
      int64_t row = b->off[t] + r;
      uint64_t k = rng_key(m->seed, RNG_DROPOUT, step, ((uint64_t)layer << 48) ^ b->seq_id[r], (uint64_t)t);
      for (int j = 0; j < H; j++) y[row * H + j] = rng_uniform(rng_sub(k, (uint64_t)j)) < p ? 0.0f : x[row * H + j] * keep;
    }
}

static uint64_t g_step; /* step of the last forward, for dropout in backward */
static int g_train;

double model_forward(model *m, const batch *b, const float *h0, const float *c0, uint64_t step, int train) {
  const int64_t N = b->s.N, H = m->cfg.hidden, E = m->cfg.embed, V = m->cfg.vocab, B = b->s.B;
  reserve(m, N);
  g_step = step;
  g_train = train;
  for (int64_t r = 0; r < N; r++) memcpy(m->x0 + r * E, m->emb + (int64_t)b->in[r] * E, (size_t)E * sizeof(float));
  const float *X = m->x0;
  for (int l = 0; l < m->cfg.layers; l++) {
    layer_forward(&m->layer[l], &m->acts[l], X, &b->s, h0 ? h0 + (int64_t)l * B * H : NULL,
                  c0 ? c0 + (int64_t)l * B * H : NULL, &m->scratch);
    X = m->acts[l].h;
    if (train && m->cfg.dropout > 0 && l + 1 < m->cfg.layers) {
      dropout_apply(m, b, l, step, m->drop[l], X);
      X = m->drop[l];
    }
  }
  if (N == 0) return 0.0;
  /* logits = X W_dec^T + b_dec, then softmax in place */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)V, (int)H, 1.0f, X, (int)H, m->dec_w, (int)H, 0.0f,
              m->probs, (int)V);
  double loss = 0;
  for (int64_t r = 0; r < N; r++) {
    float *z = m->probs + r * V;
    float mx = -INFINITY;
    for (int64_t v = 0; v < V; v++) {
      z[v] += m->dec_b[v];
      mx = z[v] > mx ? z[v] : mx;
    }
    float zt = b->tgt[r] >= 0 ? z[b->tgt[r]] : 0.0f;
    for (int64_t v = 0; v < V; v++) z[v] -= mx;
    vec_exp(z, (int)V);
    double s = 0;
    for (int64_t v = 0; v < V; v++) s += z[v];
    float inv = (float)(1.0 / s);
    for (int64_t v = 0; v < V; v++) z[v] *= inv;
    if (b->tgt[r] >= 0) loss += (double)mx + log(s) - (double)zt;
  }
  return loss;
}

void model_backward(model *m, const batch *b, float scale) {
  const int64_t N = b->s.N, H = m->cfg.hidden, E = m->cfg.embed, V = m->cfg.vocab;
  const int L = m->cfg.layers;
  if (N == 0) return;
  const int drop = g_train && m->cfg.dropout > 0;
  float *dl = m->probs;
  for (int64_t r = 0; r < N; r++) {
    float *d = dl + r * V;
    if (b->tgt[r] < 0) {
      memset(d, 0, (size_t)V * sizeof(float));
      continue;
    }
    d[b->tgt[r]] -= 1.0f;
    for (int64_t v = 0; v < V; v++) d[v] *= scale;
  }
  const float *Xtop = m->acts[L - 1].h; /* no dropout after the last layer */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)V, (int)H, (int)N, 1.0f, dl, (int)V, Xtop, (int)H, 1.0f,
              m->gdec_w, (int)H);
  cblas_sgemv(CblasRowMajor, CblasTrans, (int)N, (int)V, 1.0f, dl, (int)V, m->scratch.ones, 1, 1.0f, m->gdec_b, 1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)H, (int)V, 1.0f, dl, (int)V, m->dec_w, (int)H,
              0.0f, m->dA, (int)H);
  int ti = 2; /* tensors after the decoder: 4 per layer, top layer first */
  if (m->grad_ready) m->grad_ready(m->grad_arg, m->tensors[ti].offset);
  for (int l = L - 1; l >= 0; l--) {
    const float *X = l == 0 ? m->x0 : drop ? m->drop[l - 1] : m->acts[l - 1].h;
    layer_backward(&m->layer[l], &m->acts[l], X, &b->s, m->dA, m->dB, &m->scratch);
    if (l > 0 && drop) dropout_apply(m, b, l - 1, g_step, m->dB, m->dB);
    float *t = m->dA;
    m->dA = m->dB;
    m->dB = t;
    ti += 4;
    if (m->grad_ready) m->grad_ready(m->grad_arg, m->tensors[ti].offset);
  }
  for (int64_t r = 0; r < N; r++) {
    float *g = m->gemb + (int64_t)b->in[r] * E;
    const float *d = m->dA + r * E;
    for (int64_t j = 0; j < E; j++) g[j] += d[j];
  }
  if (m->grad_ready) m->grad_ready(m->grad_arg, m->n_params);
}

void model_final_state(const model *m, const batch *b, float *hT, float *cT) {
  const int64_t H = m->cfg.hidden, B = b->s.B;
  for (int l = 0; l < m->cfg.layers; l++)
    for (int64_t r = 0; r < B; r++) {
      if (b->len[r] == 0) continue;
      int64_t row = b->off[b->len[r] - 1] + r;
      memcpy(hT + (l * B + r) * H, m->acts[l].h + row * H, (size_t)H * sizeof(float));
      if (cT && m->cfg.cell == CELL_LSTM) memcpy(cT + (l * B + r) * H, m->acts[l].cell + row * H, (size_t)H * sizeof(float));
    }
}

double model_flops(const model_config *c, int64_t N) {
  double G = cell_gates(c->cell), H = c->hidden, f = 0;
  for (int l = 0; l < c->layers; l++) {
    double in = l == 0 ? c->embed : H;
    f += 2.0 * (double)N * G * H * (3.0 * in + 3.0 * H);
  }
  return f + 6.0 * (double)N * c->vocab * H;
}

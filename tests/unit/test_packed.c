/* Packed batches against padded-with-mask ones (same loss, same gradients), and stream windows:
 * two windows of T with carried state give the same values as one window of 2T. */
#include <string.h>

#include "check.h"
#include "recur/core.h"
#include "recur/model.h"

enum { V = 11, NSEQ = 4, TMAX = 9 };

static void packed_vs_padded(int cell) {
  model_config c = {
      .cell = cell, .layers = 2, .hidden = 8, .embed = 6, .vocab = V, .task = TASK_LM};
  model *m = model_create(&c, 9);
  int len[NSEQ] = {3, 9, 1, 6}, plen[NSEQ];
  int32_t tok[NSEQ][TMAX + 1], ptgt[NSEQ][TMAX];
  int32_t *in[NSEQ], *tgt[NSEQ], *pin[NSEQ], *pt[NSEQ];
  uint64_t ids[NSEQ] = {0, 1, 2, 3};
  for (int s = 0; s < NSEQ; s++) {
    for (int t = 0; t <= TMAX; t++)
      tok[s][t] = (int32_t)(rng_key(1, RNG_TEST, (uint64_t)s, (uint64_t)t, 0) % V);
    in[s] = tok[s];
    tgt[s] = tok[s] + 1;
    /* padded: every row runs TMAX steps, targets past the real length are masked (-1) */
    plen[s] = TMAX;
    for (int t = 0; t < TMAX; t++) ptgt[s][t] = t < len[s] ? tok[s][t + 1] : -1;
    pin[s] = tok[s];
    pt[s] = ptgt[s];
  }
  batch b = {0}, p = {0};
  batch_pack(&b, NSEQ, len, in, tgt, ids);
  batch_pack(&p, NSEQ, plen, pin, pt, ids);
  CHECK(b.s.N == 19 && p.s.N == NSEQ * TMAX, "packed rows %lld, padded rows %lld", (long long)b.s.N,
        (long long)p.s.N);
  CHECK(b.s.bs[0] == 4 && b.s.bs[1] == 3 && b.s.bs[3] == 2 && b.s.bs[8] == 1,
        "active rows per step");
  float *g1 = malloc((size_t)m->n_params * sizeof(float));
  memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
  double l1 = model_forward(m, &b, NULL, NULL, 0, 1);
  model_backward(m, &b, 0.1f);
  memcpy(g1, m->grads, (size_t)m->n_params * sizeof(float));
  memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
  double l2 = model_forward(m, &p, NULL, NULL, 0, 1);
  model_backward(m, &p, 0.1f);
  CHECK(b.n_targets == p.n_targets, "targets %lld vs %lld", (long long)b.n_targets,
        (long long)p.n_targets);
  CHECK_CLOSE(l1, l2, 1e-5 * fabs(l1), "packed vs padded loss");
  double worst = 0;
  for (int64_t i = 0; i < m->n_params; i++) worst = fmax(worst, fabs(g1[i] - m->grads[i]));
  CHECK(worst < 1e-6, "%s packed vs padded gradients differ by %.3g", cell_names[cell], worst);
  free(g1);
  batch_free(&b);
  batch_free(&p);
  model_free(m);
}

static void windows(int cell) {
  enum { B = 3, T = 5 };
  model_config c = {
      .cell = cell, .layers = 2, .hidden = 8, .embed = 6, .vocab = V, .task = TASK_LM};
  model *m = model_create(&c, 4);
  const int L = 2, H = 8;
  int32_t tok[B][2 * T + 1];
  int32_t *in[B], *tgt[B];
  uint64_t ids[B] = {0, 1, 2};
  int len[B];
  for (int s = 0; s < B; s++)
    for (int t = 0; t <= 2 * T; t++)
      tok[s][t] = (int32_t)(rng_key(2, RNG_TEST, (uint64_t)s, (uint64_t)t, 0) % V);
  /* one window of 2T */
  batch b = {0};
  for (int s = 0; s < B; s++) {
    in[s] = tok[s];
    tgt[s] = tok[s] + 1;
    len[s] = 2 * T;
  }
  batch_pack(&b, B, len, in, tgt, ids);
  double whole = model_forward(m, &b, NULL, NULL, 0, 0);
  float hT[2 * B * 8], cT[2 * B * 8];
  model_final_state(m, &b, hT, cT);
  /* two windows of T, state carried */
  float h[2 * B * 8] = {0}, cc[2 * B * 8] = {0};
  double parts = 0;
  for (int w = 0; w < 2; w++) {
    for (int s = 0; s < B; s++) {
      in[s] = tok[s] + w * T;
      tgt[s] = tok[s] + w * T + 1;
      len[s] = T;
    }
    batch_pack(&b, B, len, in, tgt, ids);
    parts += model_forward(m, &b, h, cc, 0, 0);
    model_final_state(m, &b, h, cc);
  }
  CHECK_CLOSE(whole, parts, 1e-5 * fabs(whole), "2 windows of T vs 1 of 2T: loss");
  double worst = 0;
  for (int i = 0; i < L * B * H; i++) {
    worst = fmax(worst, fabs(hT[i] - h[i]));
    if (cell == CELL_LSTM) worst = fmax(worst, fabs(cT[i] - cc[i]));
  }
  CHECK(worst < 1e-6, "%s final states differ by %.3g", cell_names[cell], worst);
  batch_free(&b);
  model_free(m);
}

int main(void) {
  for (int cell = 0; cell < CELL_COUNT; cell++) {
    packed_vs_padded(cell);
    windows(cell);
  }
  return check_done("test_packed");
}

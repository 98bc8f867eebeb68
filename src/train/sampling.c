/* sampling: scheduled sampling (Bengio et al., 2015): tokens, or a forecaster's frames. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "recur/dist.h"
#include "recur/train.h"
#include "train-impl.h"

/* ---- scheduled sampling ---- */
double ss_eps(enum ss_kind kind, double k, double c, double min, int64_t i) {
  double e = 1.0;
  switch (kind) {
  case SS_LINEAR: e = k - c * (double)i; break;
  case SS_EXP: e = pow(k, (double)i); break;
  case SS_INVSIGMOID: e = k / (k + exp((double)i / k)); break;
  default: return 1.0;
  }
  e = e < min ? min : e;
  return e > 1.0 ? 1.0 : e;
}

/* Replace inputs of b, position by position, as the paper does: the input at t+1 stays the
 * ground truth with probability eps, otherwise it is a sample from the model's own output
 * distribution at t, computed from the inputs already chosen. The coin flips and samples are
 * keyed by (seed, step, sequence, position); no gradient flows through them. seq2seq: the decoder
 * starts from the encoder's final states of b's sources and attends to their outputs. */
void ss_sample_inputs(model *m, batch *b, const float *h0, const float *c0, double eps,
                      uint64_t seed, uint64_t step) {
  /* h is Hp wide (--proj or --hidden), c is H wide; buffers of H hold either */
  const int L = m->cfg.layers, H = m->cfg.hidden, Hp = model_state_width(&m->cfg), B = b->s.B,
            V = m->O;
  float *h = xcalloc((size_t)L * B * H, sizeof(float)),
        *c = xcalloc((size_t)L * B * H, sizeof(float));
  float *hs = xmalloc((size_t)L * B * H * sizeof(float)),
        *cs = xmalloc((size_t)L * B * H * sizeof(float));
  const int s2s = task_is(m->cfg.task)->source, feed = m->cfg.input_feed;
  float *fd = feed ? xmalloc((size_t)B * (size_t)m->D * sizeof(float)) : NULL; /* rows' last h~ */
  if (s2s) { /* (the encoder's outputs stay in m->enc for the attention of every step below) */
    model_encode(m, b, step, 0);
    h0 = m->s2s_h0;
    c0 = cell_has_c(m->cfg.cell) ? m->s2s_c0 : NULL;
  }
  if (h0) memcpy(h, h0, (size_t)L * B * H * sizeof(float));
  if (c0) memcpy(c, c0, (size_t)L * B * H * sizeof(float));
  int32_t *tok = xmalloc((size_t)B * sizeof(int32_t)),
          **in = xmalloc((size_t)B * sizeof(int32_t *));
  /* forecast (horizon 1): the frames of b->xin are the inputs, replaced by the model's prediction
   * of them (the mean, or with --loss gaussian a draw from its Gaussian) */
  const int frames = task_is(m->cfg.task)->frames, D = m->cfg.n_in;
  const float **xs = frames ? xmalloc((size_t)B * sizeof(float *)) : NULL;
  int *one = xmalloc((size_t)B * sizeof(int));
  batch sb = {0};
  const int want = m->want_probs;
  m->want_probs = 1; /* the adaptive softmax's whole distribution, to draw from */
  for (int t = 0; t + 1 < b->s.T; t++) {
    const int bt = b->bs[t], next = b->bs[t + 1];
    for (int r = 0; r < bt; r++) {
      tok[r] = frames ? 0 : b->in[b->off[t] + r];
      in[r] = &tok[r];
      one[r] = 1;
      if (frames) xs[r] = b->xin + (b->off[t] + r) * D;
    }
    for (int l = 0; l < L; l++) { /* the first bt rows of the state, compact */
      memcpy(hs + (int64_t)l * bt * Hp, h + (int64_t)l * B * Hp, (size_t)bt * Hp * sizeof(float));
      memcpy(cs + (int64_t)l * bt * H, c + (int64_t)l * B * H, (size_t)bt * H * sizeof(float));
    }
    /* frames: every step a target (zeros), the frames as inputs (their targets unused) */
    batch_pack(&sb, bt, one, in, frames ? in : NULL, b->seq_id);
    if (frames) batch_set_values(&sb, xs, xs, D);
    if (s2s) { /* rows [0, bt) of b: their sources */
      sb.src = b->src;
      sb.src_row = b->src_row;
    }
    m->feed_in = t > 0 ? fd : NULL;
    model_forward(m, &sb, hs, cs, step, 0);
    model_final_state(m, &sb, hs, cs);
    if (feed) memcpy(fd, model_attn_state(m), (size_t)bt * (size_t)m->D * sizeof(float));
    for (int l = 0; l < L; l++) {
      memcpy(h + (int64_t)l * B * Hp, hs + (int64_t)l * bt * Hp, (size_t)bt * Hp * sizeof(float));
      memcpy(c + (int64_t)l * B * H, cs + (int64_t)l * bt * H, (size_t)bt * H * sizeof(float));
    }
    for (int r = 0; r < next; r++) {
      uint64_t key = rng_key(seed, RNG_SCHED_SAMPLING, step, b->seq_id[r], (uint64_t)t + 1);
      if (rng_uniform(key) < eps) continue;
      if (frames) {
        model_frame(m, m->probs + (int64_t)r * V, 1.0, key, b->xin + (b->off[t + 1] + r) * D);
        continue;
      }
      const float *p = m->probs + (int64_t)r * V;
      double u = rng_uniform(rng_sub(key, 1)), acc = 0;
      int pick = V - 1;
      for (int v = 0; v < V; v++) {
        acc += p[v];
        if (acc > u) {
          pick = v;
          break;
        }
      }
      b->in[b->off[t + 1] + r] = pick;
    }
  }
  m->feed_in = NULL;
  xfree(fd);
  sb.src = NULL; /* b's */
  sb.src_row = NULL;
  batch_free(&sb);
  m->want_probs = want;
  xfree(h);
  xfree(c);
  xfree(hs);
  xfree(cs);
  xfree(tok);
  xfree(in);
  xfree(one);
  xfree(xs);
}

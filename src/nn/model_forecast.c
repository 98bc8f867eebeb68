/* model_forecast: --task forecast's losses over the readout (mean squared error, or the Gaussian
 * negative log-likelihood of a mean and a log-variance per feature) and their gradients. */
#include <math.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"

/* forecast: a row's target frame in the model's units ((y - mean) / std), feature d */
static inline float target_n(const model *m, const batch *b, int64_t r, int64_t d) {
  const int64_t Din = m->cfg.n_in;
  const float y = b->ytgt[r * Din + d];
  return m->in_mean ? (float)((y - m->in_mean[d]) / m->in_std[d]) : y;
}

/* forecast: m->probs (R, O) holds the readout (the predicted frames' means, and with --loss
 * gaussian their log-variances after them); adds the bias, returns the summed loss over rows:
 * each row's mean over features of the squared error, or of the Gaussian negative log-likelihood
 * 0.5 (log 2 pi + s + (y - mu)^2 / exp(s)) */
double forecast_loss(model *m, const batch *b, int64_t R) {
  const int64_t O = m->O, Din = m->cfg.n_in;
  double loss = 0;
  for (int64_t r = 0; r < R; r++) {
    float *z = m->probs + r * O;
    for (int64_t v = 0; v < O; v++) z[v] += m->dec_b[v];
    double l = 0;
    for (int64_t d = 0; d < Din; d++) {
      const double e = (double)z[d] - target_n(m, b, r, d);
      l += m->cfg.loss == LOSS_GAUSSIAN
               ? 0.5 * (1.8378770664093453 + z[Din + d] + e * e * exp(-z[Din + d]))
               : e * e;
    }
    if (b->tgt[r] >= 0) loss += l / (double)Din;
  }
  return loss;
}

/* forecast: the loss's gradient with respect to the readout (R, O) into dl, times scale */
void forecast_grad(const model *m, const batch *b, int64_t R, float scale, float *dl,
                   const unsigned char *last) {
  const int64_t O = m->O, Din = m->cfg.n_in;
  const float *z = m->probs; /* forward's outputs, in place: dl may be the same buffer */
  for (int64_t r = 0; r < R; r++) {
    float *d = dl + r * O;
    if (b->tgt[r] < 0 || (last && !last[r])) {
      memset(d, 0, (size_t)O * sizeof(float));
      continue;
    }
    for (int64_t k = 0; k < Din; k++) {
      const float e = z[r * O + k] - target_n(m, b, r, k);
      if (m->cfg.loss == LOSS_GAUSSIAN) {
        const float iv = expf(-z[r * O + Din + k]);
        d[k] = scale * e * iv / (float)Din;
        d[Din + k] = scale * 0.5f * (1.0f - e * e * iv) / (float)Din;
      } else {
        d[k] = scale * 2.0f * e / (float)Din;
      }
    }
  }
}

void model_frame(const model *m, const float *z, double temperature, uint64_t key, float *x) {
  const int64_t D = m->cfg.n_in;
  for (int64_t d = 0; d < D; d++) {
    double y = z[d];
    if (m->cfg.loss == LOSS_GAUSSIAN && temperature > 0) { /* Box-Muller from two uniforms */
      const uint64_t k = rng_sub(key, 1 + (uint64_t)d);
      const double u1 = ((double)(k >> 40) + 0.5) / 16777216.0, u2 = rng_uniform(rng_sub(k, 1));
      y += temperature * exp(0.5 * z[D + d]) * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    }
    x[d] = (float)(m->in_mean ? y * m->in_std[d] + m->in_mean[d] : y);
  }
}

/* task forecast: real-valued sequences, each step predicting the frame --horizon steps ahead.
 * Figures, in the data's units: mse and mae of the model and of the naive "next = last", overall
 * and per feature; counted in frames. */
#include <math.h>

#include "recur/core.h"
#include "recur/tasks.h"

static double count(const eval_result *r) { return r->tokens; }

static void json(json_writer *j, const char *prefix, const dataset *ds, const eval_result *r) {
  static const char *const key[4] = {"mse", "mae", "baseline_mse", "baseline_mae"};
  for (int w = 0; w < 4; w++) task_json_num(j, prefix, key[w], eval_forecast(r, w, -1));
  char k[64];
  snprintf(k, sizeof k, "%sper_feature", prefix);
  json_object_begin(j, k);
  for (int d = 0; d < r->n_feat; d++) {
    json_object_begin(j, ds->feature_names ? ds->feature_names[d] : NULL);
    for (int w = 0; w < 4; w++) json_num(j, key[w], eval_forecast(r, w, d));
    json_object_end(j);
  }
  json_object_end(j);
}

static void brief(char *buf, size_t cap, const dataset *ds, const eval_result *r) {
  (void)ds;
  snprintf(buf, cap, "mse %.5g (next = last %.5g) | mae %.5g (%.5g)", eval_forecast(r, 0, -1),
           eval_forecast(r, 2, -1), eval_forecast(r, 1, -1), eval_forecast(r, 3, -1));
}

static void full(FILE *f, const char *split, const dataset *ds, const eval_result *r) {
  fprintf(f,
          "%s: loss %.4f over %.0f frames; in the data's units: mse %.6g, mae %.6g; the naive "
          "next = last: mse %.6g, mae %.6g\n",
          split, r->loss_sum / r->tokens, r->tokens, eval_forecast(r, 0, -1),
          eval_forecast(r, 1, -1), eval_forecast(r, 2, -1), eval_forecast(r, 3, -1));
  for (int k = 0; k < r->n_feat; k++)
    fprintf(f, "  %-20s mse %.6g (next = last %.6g)\n", ds->feature_names[k],
            eval_forecast(r, 0, k), eval_forecast(r, 2, k));
}

/* each step predicts the frame `horizon` steps on: a sequence of n frames runs n - horizon */
static int steps(const dataset *ds, int64_t n) {
  return n > ds->horizon ? (int)(n - ds->horizon) : 0;
}

static void load(items *it, const dataset *ds, int split, const uint64_t *q, int n, int max_len) {
  items_read_frames(it, ds, split, q, n, max_len, ITEMS_AHEAD);
}

/* frames in and frames out: the token side is zeros (every step a target) */
static void pack(batch *b, const items *it, int n, const dataset *ds) {
  batch_pack(b, n, it->len, NULL, it->zv, it->ids);
  batch_set_values(b, (const float *const *)it->xv, (const float *const *)it->yv, ds->n_features);
}

/* per feature: squared and absolute errors of the model, then of "next = last" */
static void score_open(eval_result *r, const model *m) {
  r->n_feat = m->cfg.n_in;
  r->fc = xcalloc((size_t)(4 * r->n_feat), sizeof(double));
}

/* the last forward's predictions (m->probs, normalised means first) against the target frames,
 * and the naive "next = last" baseline (the input frame), in the data's units */
static void score(eval_result *res, model *m, const dataset *ds, const items *it, int k,
                  const batch *b) {
  (void)ds, (void)it, (void)k;
  const int64_t D = m->cfg.n_in, O = m->O;
  double *fc = res->fc;
  for (int64_t r = 0; r < b->s.N; r++)
    for (int64_t d = 0; d < D; d++) {
      const double mu = m->in_mean ? m->in_mean[d] : 0, sd = m->in_std ? m->in_std[d] : 1;
      const double y = b->ytgt[r * D + d], p = m->probs[r * O + d] * sd + mu,
                   last = b->xin[r * D + d];
      fc[d] += (p - y) * (p - y);
      fc[D + d] += fabs(p - y);
      fc[2 * D + d] += (last - y) * (last - y);
      fc[3 * D + d] += fabs(last - y);
    }
}

const task_desc task_forecast = {.task = TASK_FORECAST,
                                 .default_mode = MODE_SEQUENCES,
                                 .steps = steps,
                                 .load = load,
                                 .pack = pack,
                                 .windowed = 1,
                                 .score_open = score_open,
                                 .score = score,
                                 .unit = "frames",
                                 .count = count,
                                 .json = json,
                                 .val_prefix = "val_",
                                 .brief = brief,
                                 .full = full};

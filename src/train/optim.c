/* optim: update rules as torch.optim (SGD with dampening 0, Adam with L2, AdamW decoupled). */
#include "recur/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

const char *const optim_names[OPTIM_COUNT + 1] = {"sgd", "adam", "adamw", NULL};
const char *const lr_names[LR_COUNT + 1] = {"constant", "step", "cosine", NULL};

void optim_init(optim *o, enum optim_type type, int64_t n) {
  memset(o, 0, sizeof *o);
  o->beta1 = 0.9f;
  o->beta2 = 0.999f;
  o->eps = 1e-8f;
  o->type = type;
  o->n = n;
  o->t = 0;
  o->state = xcalloc_fold((size_t)(2 * n), sizeof(float));
}

void optim_free(optim *o) {
  xfree(o->state);
  o->state = NULL;
}

/* the update of elements [lo, hi) at step o->t (already counted); g NULL: a gradient known to be
 * zero there (+0, as zeroed), not read: the same bits with a quarter less memory traffic. Inlined
 * twice, so each loop is compiled for its case. */
static inline __attribute__((always_inline)) void
update(optim *o, float *restrict p, const float *restrict g, float lr, int64_t lo, int64_t hi) {
  const int64_t n = o->n;
  float *restrict m = o->state, *restrict v = o->state + n;
  const float wd = o->weight_decay;
  if (o->type == OPTIM_SGD) {
    const float mu = o->momentum;
    for (int64_t i = lo; i < hi; i++) {
      float d = (g ? g[i] : 0.0f) + wd * p[i];
      if (mu != 0) {
        m[i] = o->t == 1 ? d : mu * m[i] + d;
        d = o->nesterov ? d + mu * m[i] : m[i];
      }
      p[i] -= lr * d;
    }
    return;
  }
  const float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
  const float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
  const float step = lr / bc1, sbc2 = sqrtf(bc2);
  const int adamw = o->type == OPTIM_ADAMW;
  for (int64_t i = lo; i < hi; i++) {
    float d = g ? g[i] : 0.0f;
    if (adamw)
      p[i] *= 1.0f - lr * wd;
    else
      d += wd * p[i];
    m[i] = b1 * m[i] + (1.0f - b1) * d;
    v[i] = b2 * v[i] + (1.0f - b2) * d * d;
    p[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
  }
}

RECUR_HOT static void update_range(optim *o, float *restrict p, const float *restrict g, float lr,
                                   int64_t lo, int64_t hi) {
  if (g)
    update(o, p, g, lr, lo, hi);
  else
    update(o, p, NULL, lr, lo, hi);
}

void optim_step(optim *o, float *restrict p, const float *restrict g, float lr) {
  o->t++;
  update_range(o, p, g, lr, 0, o->n);
}

void optim_step_rows(optim *o, float *p, const float *g, float lr, int64_t off, int64_t rows,
                     int64_t width, const unsigned char *marks, int lazy) {
  o->t++;
  update_range(o, p, g, lr, 0, off);
  for (int64_t r = 0, e; r < rows; r = e) { /* runs of rows alike */
    for (e = r + 1; e < rows && !marks[e] == !marks[r]; e++) {}
    if (marks[r] || !lazy)
      update_range(o, p, marks[r] ? g : NULL, lr, off + r * width, off + e * width);
  }
  update_range(o, p, g, lr, off + rows * width, o->n);
}

float lr_at(const lr_schedule *s, int64_t step) {
  step = step > s->start ? step - s->start : 0; /* steps into the schedule */
  if (s->warmup > 0 && step < s->warmup) return s->lr * (float)(step + 1) / (float)s->warmup;
  switch (s->kind) {
  case LR_STEP:
    return s->lr * powf(s->gamma, (float)(s->decay_every > 0 ? step / s->decay_every : 0));
  case LR_COSINE: {
    int64_t span = s->total - s->start - s->warmup;
    double prog = span > 0 ? (double)(step - s->warmup) / (double)span : 1.0;
    if (prog > 1) prog = 1;
    return s->min_lr + 0.5f * (s->lr - s->min_lr) * (float)(1.0 + cos(3.141592653589793 * prog));
  }
  default: return s->lr;
  }
}

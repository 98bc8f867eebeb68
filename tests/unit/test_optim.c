/* Optimizers and clipping against values computed by hand from the update rules. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "recur/norm.h"
#include "recur/optim.h"
#include "recur/train.h"

int main(void) {
  const float lr = 0.1f;
  /* Adam: the first step moves each parameter by lr * sign(g) (m_hat / sqrt(v_hat) = g / |g|). */
  {
    optim o;
    optim_init(&o, OPTIM_ADAM, 2);
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, -3.0f};
    optim_step(&o, p, g, lr);
    CHECK_CLOSE(p[0], 0.9, 1e-6, "adam step 1 p0");
    CHECK_CLOSE(p[1], -1.9, 1e-6, "adam step 1 p1");
    /* step 2 with g = (0.25, 1): m = (0.0725, -0.17), v = (0.0003124, 0.009991) */
    float g2[2] = {0.25f, 1.0f};
    optim_step(&o, p, g2, lr);
    double m0 = 0.9 * 0.05 + 0.1 * 0.25, v0 = 0.999 * 0.00025 + 0.001 * 0.0625;
    double m1 = 0.9 * -0.3 + 0.1 * 1.0, v1 = 0.999 * 0.009 + 0.001 * 1.0;
    double bc1 = 1 - 0.81, bc2 = 1 - 0.998001;
    CHECK_CLOSE(p[0], 0.9 - lr * (m0 / bc1) / (sqrt(v0 / bc2) + 1e-8), 1e-6, "adam step 2 p0");
    CHECK_CLOSE(p[1], -1.9 - lr * (m1 / bc1) / (sqrt(v1 / bc2) + 1e-8), 1e-6, "adam step 2 p1");
    optim_free(&o);
  }
  /* The lazy update: rows whose mark is 0 keep their values and moments; the others (and the
   * elements outside the block) get what a dense step gives them, the bias correction counting
   * every step. Layout: 1 element, a (3 rows x 2) block, 1 element. */
  {
    optim a, b;
    optim_init(&a, OPTIM_ADAM, 8);
    optim_init(&b, OPTIM_ADAM, 8);
    float pa[8] = {1, 2, 3, 4, 5, 6, 7, 8}, pb[8], g[8] = {0.5f, 1, -1, 1, -2, 2, 3, -0.5f};
    memcpy(pb, pa, sizeof pa);
    const unsigned char marks[3] = {1, 0, 1};
    for (int k = 0; k < 3; k++) {
      optim_step_rows(&a, pa, g, lr, 1, 3, 2, marks, 1);
      optim_step(&b, pb, g, lr);
    }
    for (int i = 0; i < 8; i++) {
      int frozen = i == 3 || i == 4; /* row 1 of the block */
      CHECK(frozen ? pa[i] == (float)(i + 1) && a.state[i] == 0 && a.state[8 + i] == 0
                   : pa[i] == pb[i] && a.state[i] == b.state[i],
            "lazy update: element %d is %g (dense %g)", i, pa[i], pb[i]);
    }
    optim_free(&a);
    optim_free(&b);
  }
  /* Not lazy: a row whose mark is 0 has a zero gradient, which the step does not read; every
   * element equals the dense step's bitwise, values and moments, for each rule with its decay and
   * momentum (here the unmarked row's gradient is NaN, so a read would show). */
  for (int rule = 0; rule < 3; rule++) {
    const enum optim_type ty[3] = {OPTIM_ADAM, OPTIM_ADAMW, OPTIM_SGD};
    optim a, b;
    optim_init(&a, ty[rule], 8);
    optim_init(&b, ty[rule], 8);
    a.weight_decay = b.weight_decay = 0.01f;
    a.momentum = b.momentum = 0.9f;
    float pa[8] = {1, 2, 3, 4, 5, 6, 7, 8}, pb[8], ga[8], gb[8] = {0.5f, 1, -1, 0, 0, 2, 3, -0.5f};
    memcpy(pb, pa, sizeof pa);
    memcpy(ga, gb, sizeof gb);
    ga[3] = ga[4] = NAN;
    const unsigned char marks[3] = {1, 0, 1};
    for (int k = 0; k < 3; k++) {
      optim_step_rows(&a, pa, ga, lr, 1, 3, 2, marks, 0);
      optim_step(&b, pb, gb, lr);
    }
    for (int i = 0; i < 8; i++)
      CHECK(memcmp(&pa[i], &pb[i], 4) == 0 && memcmp(&a.state[i], &b.state[i], 4) == 0 &&
                memcmp(&a.state[8 + i], &b.state[8 + i], 4) == 0,
            "rule %d, zero rows unread: element %d is %g (dense %g)", rule, i, pa[i], pb[i]);
    optim_free(&a);
    optim_free(&b);
  }
  /* Adam with L2 weight decay: the gradient becomes g + wd * p = 0.5 + 0.5 * 1 = 1 (sign +). */
  {
    optim o;
    optim_init(&o, OPTIM_ADAM, 1);
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    o.weight_decay = 0.5f;
    float p[1] = {1.0f}, g[1] = {-0.25f}; /* g + wd p = 0.25 > 0 */
    optim_step(&o, p, g, lr);
    CHECK_CLOSE(p[0], 0.9, 1e-6, "adam l2 step");
    optim_free(&o);
  }
  /* AdamW: decoupled decay p *= 1 - lr * wd, then the Adam step. */
  {
    optim o;
    optim_init(&o, OPTIM_ADAMW, 1);
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    o.weight_decay = 0.5f;
    float p[1] = {2.0f}, g[1] = {-1.0f};
    optim_step(&o, p, g, lr);
    CHECK_CLOSE(p[0], 2.0 * (1 - 0.05) + 0.1, 1e-6, "adamw step");
    optim_free(&o);
  }
  /* SGD with momentum 0.9: buf1 = g1; buf2 = 0.9 g1 + g2. Nesterov uses g + 0.9 buf. */
  for (int nest = 0; nest <= 1; nest++) {
    optim o;
    optim_init(&o, OPTIM_SGD, 1);
    o.momentum = 0.9f;
    o.nesterov = nest;
    float p[1] = {1.0f}, g1[1] = {1.0f}, g2[1] = {2.0f};
    optim_step(&o, p, g1, lr);
    double e1 = nest ? 1.0 - 0.1 * (1 + 0.9 * 1) : 0.9;
    CHECK_CLOSE(p[0], e1, 1e-6, nest ? "nesterov step 1" : "momentum step 1");
    optim_step(&o, p, g2, lr);
    double buf = 0.9 * 1 + 2;
    double e2 = nest ? e1 - 0.1 * (2 + 0.9 * buf) : e1 - 0.1 * buf;
    CHECK_CLOSE(p[0], e2, 1e-6, nest ? "nesterov step 2" : "momentum step 2");
    optim_free(&o);
  }
  /* plain SGD with weight decay: p -= lr (g + wd p) */
  {
    optim o;
    optim_init(&o, OPTIM_SGD, 1);
    o.weight_decay = 0.1f;
    float p[1] = {2.0f}, g[1] = {1.0f};
    optim_step(&o, p, g, lr);
    CHECK_CLOSE(p[0], 2.0 - 0.1 * 1.2, 1e-6, "sgd weight decay");
    optim_free(&o);
  }
  /* clipping: (3, 4) has norm 5; clip 1 gives (0.6, 0.8); clip 10 leaves it */
  {
    float g[2] = {3.0f, 4.0f};
    double n = norm_l2(g, 2);
    CHECK_CLOSE(n, 5.0, 1e-9, "norm");
    norm_clip(g, 2, n, 1.0f);
    CHECK_CLOSE(g[0], 0.6, 1e-6, "clip x");
    CHECK_CLOSE(g[1], 0.8, 1e-6, "clip y");
    float h[2] = {3.0f, 4.0f};
    norm_clip(h, 2, 5.0, 10.0f);
    CHECK(h[0] == 3.0f && h[1] == 4.0f, "no clip below the threshold");
  }
  /* schedules */
  {
    lr_schedule s = {LR_COSINE, 1.0f, 0.0f, 0.1f, 10, 0, 0, 110};
    CHECK_CLOSE(lr_at(&s, 0), 0.1, 1e-7, "warmup start");
    CHECK_CLOSE(lr_at(&s, 9), 1.0, 1e-7, "warmup end");
    CHECK_CLOSE(lr_at(&s, 60), 0.5, 1e-6, "cosine middle");
    CHECK_CLOSE(lr_at(&s, 110), 0.0, 1e-7, "cosine end");
    CHECK_CLOSE(lr_at(&s, 500), 0.0, 1e-7, "past the end: min_lr");
    lr_schedule st = {LR_STEP, 1.0f, 0.0f, 0.5f, 0, 100, 0, 1000};
    CHECK_CLOSE(lr_at(&st, 99), 1.0, 1e-7, "step before");
    CHECK_CLOSE(lr_at(&st, 250), 0.25, 1e-7, "step after two decays");
    /* a schedule restarted at step 60 (a resume's --restart-schedule): the same curve, shifted */
    lr_schedule r = {LR_COSINE, 1.0f, 0.0f, 0.1f, 10, 0, 60, 170};
    CHECK_CLOSE(lr_at(&r, 60), 0.1, 1e-7, "restarted: warmup start");
    CHECK_CLOSE(lr_at(&r, 120), 0.5, 1e-6, "restarted: cosine middle");
    CHECK_CLOSE(lr_at(&r, 170), 0.0, 1e-7, "restarted: cosine end");
  }
  /* scheduled sampling: eps_i of the three schedules of Bengio et al. (2015) */
  {
    CHECK_CLOSE(ss_eps(SS_LINEAR, 1.0, 0.01, 0.1, 0), 1.0, 1e-12, "linear at 0");
    CHECK_CLOSE(ss_eps(SS_LINEAR, 1.0, 0.01, 0.1, 30), 0.7, 1e-12, "linear at 30");
    CHECK_CLOSE(ss_eps(SS_LINEAR, 1.0, 0.01, 0.1, 500), 0.1, 1e-12, "linear floor");
    CHECK_CLOSE(ss_eps(SS_EXP, 0.99, 0, 0.0, 100), pow(0.99, 100), 1e-12, "exponential");
    CHECK_CLOSE(ss_eps(SS_EXP, 0.99, 0, 0.5, 1000), 0.5, 1e-12, "exponential floor");
    CHECK_CLOSE(ss_eps(SS_INVSIGMOID, 100, 0, 0, 0), 100.0 / 101.0, 1e-12, "inverse sigmoid at 0");
    CHECK_CLOSE(ss_eps(SS_INVSIGMOID, 100, 0, 0, 460), 100.0 / (100.0 + exp(4.6)), 1e-12,
                "inverse sigmoid at 460");
    CHECK_CLOSE(ss_eps(SS_NONE, 0.5, 0.5, 0.5, 10), 1.0, 0, "no scheduled sampling");
  }
  return check_done("test_optim");
}

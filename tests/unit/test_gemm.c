/* The three GEMM kernels against a double-precision reference, for every shape class the model
 * uses (A B^T, A B, A^T B; beta 0 and 1; a sub-matrix with a wider leading dimension): oneDNN fp32
 * within fp32 accumulation error, bf16 within bf16 rounding of both operands (and visibly not
 * fp32). bf16 rounding itself (nearest even, NaN, Inf); the weight copies made once per
 * generation; a product given A's bf16 copy against one converting it; and the gradients of small
 * LSTM/GRU/RNN models with bf16 products against fp32. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "recur/core.h"
#include "recur/gemm.h"
#include "recur/model.h"

static float rnd(uint64_t i, uint64_t j) {
  return 2.0f * rng_uniform(rng_key(11, RNG_TEST, i, j, 0)) - 1.0f;
}

static float bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static void check_rounding(void) {
  struct {
    uint32_t in;
    uint16_t out;
  } c[] = {
      {0x3f800000u, 0x3f80}, /* 1 */
      {0x3f808000u, 0x3f80}, /* a tie: to the even neighbour below */
      {0x3f818000u, 0x3f82}, /* a tie: to the even neighbour above */
      {0x3f808001u, 0x3f81}, /* just above the tie */
      {0xbf80ffffu, 0xbf81}, /* negative */
      {0x7f800000u, 0x7f80}, /* inf */
      {0x7f7fffffu, 0x7f80}, /* FLT_MAX rounds to inf */
      {0x00000001u, 0x0000}, /* the smallest subnormal rounds to zero */
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    float f = bits(c[i].in);
    uint16_t o;
    core_to_bf16(&o, &f, 1);
    CHECK(o == c[i].out, "bf16 of 0x%08x: 0x%04x, want 0x%04x", c[i].in, o, c[i].out);
  }
  float nan = bits(0x7f800001u), back;
  uint16_t o;
  core_to_bf16(&o, &nan, 1);
  core_from_bf16(&back, &o, 1);
  CHECK(back != back, "a NaN with a low mantissa bit became %g", back);
}

/* C = op(A) op(B) + beta C for one shape class; the error against a double reference relative to
 * sum |a||b| per element */
static double one_shape(int ta, int tb, int M, int N, int K, int pad, float beta, double *floor) {
  const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const int ar = ta ? K : M, br = tb ? N : K;
  float *A = xmalloc((size_t)ar * lda * sizeof(float)),
        *B = xmalloc((size_t)br * ldb * sizeof(float));
  float *C = xmalloc((size_t)M * ldc * sizeof(float)),
        *C0 = xmalloc((size_t)M * ldc * sizeof(float));
  for (int i = 0; i < ar * lda; i++) A[i] = rnd(1, (uint64_t)i);
  for (int i = 0; i < br * ldb; i++) B[i] = rnd(2, (uint64_t)i);
  for (int i = 0; i < M * ldc; i++) C0[i] = C[i] = rnd(3, (uint64_t)i);
  gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
  double worst = 0, err_max = 0;
  for (int m = 0; m < M; m++)
    for (int n = 0; n < ldc; n++) {
      if (n >= N) { /* the padding of C is never written */
        CHECK(C[m * ldc + n] == C0[m * ldc + n], "padding of C written at (%d,%d)", m, n);
        continue;
      }
      double ref = beta * C0[m * ldc + n], mag = fabs(ref);
      for (int k = 0; k < K; k++) {
        double a = ta ? A[k * lda + m] : A[m * lda + k], b = tb ? B[n * ldb + k] : B[k * ldb + n];
        ref += a * b;
        mag += fabs(a * b);
      }
      double e = fabs(C[m * ldc + n] - ref);
      if (e / mag > worst) worst = e / mag;
      if (e > err_max) err_max = e;
    }
  *floor = err_max;
  xfree(A), xfree(B), xfree(C), xfree(C0);
  return worst;
}

static void check_kernels(void) {
  const int shapes[][3] = {{0, 1, 0}, {0, 0, 0}, {1, 0, 0}, {0, 1, 3}, {1, 0, 5}};
  for (int k = GEMM_OPENBLAS; k <= GEMM_BF16; k++) {
    gemm_use((gemm_kernel)k);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
      for (int beta = 0; beta <= 1; beta++) {
        const int ta = shapes[s][0], tb = shapes[s][1], pad = shapes[s][2];
        double err_max;
        double w = one_shape(ta, tb, 13, 70, 150, pad, (float)beta, &err_max);
        /* fp32: accumulation error; bf16: both operands rounded to 8 significant bits (relative
         * error 2^-9 each, so 2^-8 per product) plus fp32 accumulation */
        double bound = k == GEMM_BF16 ? 1.05 * 0x1p-8 + 150 * 0x1p-24 : 150 * 0x1p-24;
        CHECK(w <= bound, "%s ta %d tb %d pad %d beta %d: relative error %.3g > %.3g",
              gemm_kernel_names[k], ta, tb, pad, beta, w, bound);
        if (k == GEMM_BF16) /* rounding to bf16 happened: far above fp32's error */
          CHECK(err_max > 1e-4, "bf16 ta %d tb %d: max error %.3g, as fp32", ta, tb, err_max);
      }
  }
  gemm_free();
}

static void count_poke(void *arg) { ++*(int *)arg; }

/* a weight in the registered parameter buffer is converted once per generation */
static void check_weight_copies(void) {
  enum { M = 4, N = 8, K = 16 };
  float P[N * K + 5], A[M * K], C[M * N], C2[M * N];
  for (int i = 0; i < N * K + 5; i++) P[i] = rnd(5, (uint64_t)i);
  for (int i = 0; i < M * K; i++) A[i] = rnd(6, (uint64_t)i);
  gemm_use(GEMM_BF16);
  gemm_params(P, N * K + 5);
  const float *W = P + 5;
  gemm(0, 1, M, N, K, A, K, W, K, 0.0f, C, N);
  P[5] += 0.5f; /* the weight changes, nobody says so: the copy of this generation is used */
  gemm(0, 1, M, N, K, A, K, W, K, 0.0f, C2, N);
  CHECK(!memcmp(C, C2, sizeof C), "the weight was converted again within one generation");
  gemm_params_changed();
  gemm(0, 1, M, N, K, A, K, W, K, 0.0f, C2, N);
  CHECK(memcmp(C, C2, sizeof C) != 0, "a new generation still used the old weight");
  gemm_use(GEMM_OPENBLAS);
  float R[M * N];
  gemm(0, 1, M, N, K, A, K, W, K, 0.0f, R, N);
  for (int i = 0; i < M * N; i++) CHECK_CLOSE(C2[i], R[i], 0.05, "bf16 vs fp32 after the change");
  gemm_free();
}

/* a product given A's bf16 copy (gemm_a16) gives the bits of the one that converts A itself: A
 * dense, a block of a wider A, transposed, and a product large enough to be cut into parts; the
 * copy is what the product reads (a copy that differs changes the result) */
static void check_a16(void) {
  const int shapes[][6] = {/* ta, M, N, K, lda pad, progress parts */
                           {0, 9, 70, 150, 0, 0},    {0, 9, 70, 150, 7, 0},
                           {1, 70, 9, 150, 0, 0},    {1, 70, 9, 150, 6, 0},
                           {1, 1536, 64, 200, 0, 0}, {1, 2048, 64, 4096, 0, 1}};
  gemm_use(GEMM_BF16);
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const int ta = shapes[s][0], M = shapes[s][1], N = shapes[s][2], K = shapes[s][3];
    const int lda = (ta ? M : K) + shapes[s][4], ar = ta ? K : M;
    float *A = xmalloc((size_t)ar * lda * sizeof(float)), *B = xmalloc((size_t)K * N * 4);
    float *C = xmalloc((size_t)M * N * 4), *C16 = xmalloc((size_t)M * N * 4);
    uint16_t *A16 = xmalloc((size_t)ar * lda * sizeof(uint16_t));
    for (int64_t i = 0; i < (int64_t)ar * lda; i++) A[i] = rnd(7, (uint64_t)i);
    for (int64_t i = 0; i < (int64_t)K * N; i++) B[i] = rnd(8, (uint64_t)i);
    core_to_bf16(A16, A, (int64_t)ar * lda);
    int pokes = 0;
    if (shapes[s][5]) gemm_progress(count_poke, &pokes);
    gemm(ta, 0, M, N, K, A, lda, B, N, 0.0f, C, N);
    gemm_a16(ta, 0, M, N, K, A, A16, lda, B, N, 0.0f, C16, N);
    gemm_progress(NULL, NULL);
    CHECK(!memcmp(C, C16, (size_t)M * N * 4), "gemm_a16 ta %d %dx%dx%d lda %d: other bits", ta, M,
          N, K, lda);
    CHECK(!shapes[s][5] || pokes > 0, "the product of %dx%dx%d was not cut into parts", M, N, K);
    A16[0] ^= 0x40; /* the copy is read, not A */
    gemm_a16(ta, 0, M, N, K, A, A16, lda, B, N, 0.0f, C16, N);
    CHECK(memcmp(C, C16, (size_t)M * N * 4) != 0, "gemm_a16 did not read A's copy");
    xfree(A), xfree(B), xfree(C), xfree(C16), xfree(A16);
  }
  gemm_use(GEMM_OPENBLAS);
  gemm_free();
}

/* the gradient of a small model with bf16 products against the fp32 one, per tensor */
static void check_gradients(int cell) {
  enum { NSEQ = 4, T = 12, V = 11 };
  model_config c = {
      .cell = cell, .layers = 2, .hidden = 32, .embed = 16, .vocab = V, .task = TASK_LM};
  int len[NSEQ] = {12, 5, 9, 3};
  int32_t tok[NSEQ][T + 1], *in[NSEQ], *tgt[NSEQ];
  uint64_t ids[NSEQ] = {1, 2, 3, 4};
  for (int s = 0; s < NSEQ; s++) {
    for (int t = 0; t <= T; t++) tok[s][t] = (int32_t)(rng_key(9, RNG_TEST, s, t, 0) % V);
    in[s] = tok[s];
    tgt[s] = tok[s] + 1;
  }
  batch b = {0};
  batch_pack(&b, NSEQ, len, in, tgt, ids);
  float *g[2];
  double loss[2];
  model *m = model_create(&c, 7);
  for (int k = 0; k < 2; k++) {
    gemm_use(k ? GEMM_BF16 : GEMM_OPENBLAS);
    gemm_params(m->params, m->n_params);
    memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
    loss[k] = model_forward(m, &b, NULL, NULL, 1, 1);
    model_backward(m, &b, 1.0f);
    g[k] = xmalloc((size_t)m->n_params * sizeof(float));
    memcpy(g[k], m->grads, (size_t)m->n_params * sizeof(float));
  }
  CHECK(fabs(loss[1] - loss[0]) <= 1e-2 * fabs(loss[0]), "%s loss: bf16 %.6f, fp32 %.6f",
        cell_names[cell], loss[1], loss[0]);
  double worst = 0;
  for (int ti = 0; ti < m->n_tensors; ti++) {
    const model_tensor *Tn = &m->tensors[ti];
    double d2 = 0, n2 = 0;
    for (int64_t i = Tn->offset; i < Tn->offset + Tn->n; i++) {
      d2 += (double)(g[1][i] - g[0][i]) * (g[1][i] - g[0][i]);
      n2 += (double)g[0][i] * g[0][i];
    }
    double rel = n2 > 0 ? sqrt(d2 / n2) : sqrt(d2);
    if (rel > worst) worst = rel;
    /* bound: 3.5x the worst seen over the cells at 2x32 (0.0056) */
    CHECK(rel <= 0.02, "%s %s: bf16 gradient relative error %.3g", cell_names[cell], Tn->name, rel);
  }
  printf("%s 2x32: bf16 vs fp32 loss %.2e relative, worst tensor gradient %.2e relative\n",
         cell_names[cell], fabs(loss[1] - loss[0]) / loss[0], worst);
  xfree(g[0]), xfree(g[1]);
  batch_free(&b);
  model_free(m);
  gemm_free();
}

int main(void) {
  check_rounding();
  check_kernels();
  check_weight_copies();
  check_a16();
  for (int cell = 0; cell < CELL_COUNT; cell++) check_gradients(cell);
  return check_done("test_gemm");
}

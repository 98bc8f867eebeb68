/* gemm: OpenBLAS or oneDNN matmul (fp32 or bf16) behind one call. */
#define _GNU_SOURCE
#include "recur/gemm.h"

#include <cblas.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recur/core.h"

const char *const gemm_kernel_names[] = {"openblas", "onednn", "bf16", NULL};
const char *const precision_names[] = {"fp32", "bf16", NULL};
const char *const gemm_lib_names[] = {"openblas", "onednn", "auto", NULL};

gemm_kernel gemm_kernel_of(int precision, int lib) {
  if (precision == PRECISION_BF16) return GEMM_BF16;
  return lib == GEMM_LIB_ONEDNN ? GEMM_ONEDNN : GEMM_OPENBLAS;
}

void gemm_choose(const gemm_choice *c, int lib_given) {
  if (c->precision == PRECISION_BF16 && lib_given && c->lib == GEMM_LIB_OPENBLAS)
    recur_usage_fail("leave out --gemm: bf16 runs on oneDNN",
                     "--precision bf16 with --gemm openblas");
  gemm_use(gemm_kernel_of(c->precision, c->lib == GEMM_LIB_AUTO ? GEMM_LIB_OPENBLAS : c->lib));
}

static gemm_kernel g_kernel = GEMM_OPENBLAS;
static dnnl_engine_t g_eng;
static dnnl_stream_t g_st;

#define DNNL_OK(x)                                                                                 \
  do {                                                                                             \
    dnnl_status_t s_ = (x);                                                                        \
    if (s_ != dnnl_success) recur_fail("oneDNN", NULL, "%s failed (status %d)", #x, (int)s_);      \
  } while (0)

/* one primitive per shape */
typedef struct {
  int ta, tb, M, N, K, lda, ldb, ldc, beta, bf16, packed;
} gemm_key;

typedef struct {
  gemm_key k;
  int used;
  dnnl_primitive_t prim;
  dnnl_memory_t a, b, c;
  dnnl_memory_desc_t wmd; /* the weights' layout the primitive wants (packed: its own blocking) */
} gemm_prim;

#define PRIM_CAP 4096 /* a power of two; shapes beyond it are created for the call and dropped */
static gemm_prim *g_prims;
static int g_nprims;

/* Weights (slices of the parameter buffer) as the kernel wants them, made once per generation: a
 * reorder from the fp32 parameters into the primitive's own blocked layout, in bf16 or fp32 */
typedef struct {
  const float *src;
  int tb, K, N, ld; /* the weight as the B operand: K x N, stored transposed when tb */
  uint64_t gen;
  dnnl_memory_desc_t md; /* its packed layout */
  void *buf;
  size_t cap;
  dnnl_primitive_t reorder;
  dnnl_memory_t from, to;
} weight_copy;

#define WEIGHT_CAP 256
static weight_copy g_w[WEIGHT_CAP];
static int g_nw;
static const float *g_pbase;
static int64_t g_pn;
static uint64_t g_gen = 1;
static uint16_t *g_abuf, *g_bbuf; /* per-call conversions */
static int64_t g_acap, g_bcap;

/* The caches live as long as the process: plain malloc, outside RECUR_CATCH's tracking (a failed
 * catch must not free them under the cache). */
static void *keep_alloc(size_t n, int zero) {
  void *p = zero ? calloc(1, n) : malloc(n);
  if (!p) recur_fail(NULL, NULL, "out of memory (%zu bytes for the GEMM caches)", n);
  return p;
}

static void engine_open(void) {
  if (g_eng) return;
  /* oneDNN's OpenMP threads: one per rank unless OMP_NUM_THREADS says otherwise, like OpenBLAS */
  if (!getenv("OMP_NUM_THREADS")) {
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set) set(1);
  }
  DNNL_OK(dnnl_engine_create(&g_eng, dnnl_cpu, 0));
  DNNL_OK(dnnl_stream_create(&g_st, g_eng, dnnl_stream_default_flags));
}

void gemm_use(gemm_kernel k) {
  g_kernel = k;
  if (k != GEMM_OPENBLAS) engine_open();
}

gemm_kernel gemm_current(void) { return g_kernel; }

const char *gemm_blas_held(void) {
  const char *ct = getenv("OPENBLAS_CORETYPE");
  if (!ct || !*ct) return NULL;
#if defined(__x86_64__) && defined(__GNUC__)
  if (!__builtin_cpu_supports("avx512f")) return NULL;
#else
  return NULL;
#endif
  const char *core = openblas_get_corename();
  static const char *const wide[] = {"skylakex", "cooperlake", "sapphirerapids"};
  for (size_t i = 0; core && i < sizeof wide / sizeof wide[0]; i++)
    if (!strcasecmp(core, wide[i])) return NULL;
  return core;
}

void gemm_params(const float *base, int64_t n) {
  g_pbase = base;
  g_pn = n;
  gemm_params_changed();
}

void gemm_params_changed(void) { g_gen++; }

/* rows x cols (leading dimension ld) to dense bf16 */
static void convert(uint16_t *dst, const float *src, int rows, int cols, int ld) {
  for (int r = 0; r < rows; r++) core_to_bf16(dst + (int64_t)r * cols, src + (int64_t)r * ld, cols);
}

static uint16_t *grow(uint16_t **buf, int64_t *cap, int64_t n) {
  if (n > *cap) {
    free(*buf);
    *buf = keep_alloc((size_t)n * sizeof(uint16_t), 0);
    *cap = n;
  }
  return *buf;
}

/* the bf16 form of an operand stored as rows x cols with leading dimension ld, made at each call */
static const uint16_t *operand_bf16(const float *p, int rows, int cols, int ld, uint16_t **buf,
                                    int64_t *cap) {
  uint16_t *d = grow(buf, cap, (int64_t)rows * cols);
  convert(d, p, rows, cols, ld);
  return d;
}

static void weight_drop(weight_copy *w) {
  if (w->reorder) {
    dnnl_primitive_destroy(w->reorder);
    dnnl_memory_destroy(w->from);
    dnnl_memory_destroy(w->to);
  }
  free(w->buf);
  memset(w, 0, sizeof *w);
}

static void md_init(dnnl_memory_desc_t *md, int rows, int cols, int trans, int ld,
                    dnnl_data_type_t dt);

/* the weight B (K x N; stored transposed when tb) in the layout md, remade once per generation
 * (one copy per layout: primitives of different row counts may want different blockings); NULL
 * when the table is full (the caller converts it at each call) */
static const void *weight_packed(const float *B, int tb, int K, int N, int ld,
                                 const dnnl_memory_desc_t *md) {
  weight_copy *w = NULL;
  for (int i = 0; i < g_nw && !w; i++)
    if (g_w[i].src == B && g_w[i].tb == tb && g_w[i].K == K && g_w[i].N == N && g_w[i].ld == ld &&
        dnnl_memory_desc_equal(&g_w[i].md, md))
      w = &g_w[i];
  if (!w) {
    if (g_nw == WEIGHT_CAP) return NULL;
    w = &g_w[g_nw++];
    *w = (weight_copy){.src = B, .tb = tb, .K = K, .N = N, .ld = ld, .md = *md};
    w->cap = dnnl_memory_desc_get_size(md);
    w->buf = keep_alloc(w->cap, 0);
    dnnl_memory_desc_t from;
    md_init(&from, K, N, tb, ld, dnnl_f32);
    dnnl_primitive_desc_t pd;
    DNNL_OK(dnnl_reorder_primitive_desc_create(&pd, &from, g_eng, md, g_eng, NULL));
    DNNL_OK(dnnl_primitive_create(&w->reorder, pd));
    dnnl_primitive_desc_destroy(pd);
    DNNL_OK(dnnl_memory_create(&w->from, &from, g_eng, DNNL_MEMORY_NONE));
    DNNL_OK(dnnl_memory_create(&w->to, md, g_eng, w->buf));
    w->gen = 0;
  }
  if (w->gen != g_gen) {
    DNNL_OK(dnnl_memory_set_data_handle(w->from, (void *)B));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, w->from}, {DNNL_ARG_TO, w->to}};
    DNNL_OK(dnnl_primitive_execute(w->reorder, g_st, 2, args));
    DNNL_OK(dnnl_stream_wait(g_st));
    w->gen = g_gen;
  }
  return w->buf;
}

static uint64_t key_hash(const gemm_key *k) {
  const int *v = (const int *)k;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < sizeof *k / sizeof(int); i++) h = (h ^ (uint32_t)v[i]) * 1099511628211ull;
  return h;
}

static void md_init(dnnl_memory_desc_t *md, int rows, int cols, int trans, int ld,
                    dnnl_data_type_t dt) {
  /* the logical (rows x cols) matrix; stored transposed when trans */
  dnnl_dims_t dims = {rows, cols}, strides = {trans ? 1 : ld, trans ? ld : 1};
  DNNL_OK(dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides));
}

static void prim_create(gemm_prim *p, const gemm_key *k) {
  dnnl_data_type_t dt = k->bf16 ? dnnl_bf16 : dnnl_f32;
  dnnl_memory_desc_t a, b, c;
  md_init(&a, k->M, k->K, k->ta, k->lda, dt);
  if (k->packed) { /* the primitive chooses the weights' layout */
    dnnl_dims_t dims = {k->K, k->N};
    DNNL_OK(dnnl_memory_desc_init_by_tag(&b, 2, dims, dt, dnnl_format_tag_any));
  } else
    md_init(&b, k->K, k->N, k->tb, k->ldb, dt);
  md_init(&c, k->M, k->N, 0, k->ldc, dnnl_f32);
  dnnl_matmul_desc_t d;
  DNNL_OK(dnnl_matmul_desc_init(&d, &a, &b, NULL, &c));
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  if (k->beta) { /* C += A B: the sum post-op */
    DNNL_OK(dnnl_primitive_attr_create(&attr));
    DNNL_OK(dnnl_post_ops_create(&po));
    DNNL_OK(dnnl_post_ops_append_sum(po, 1.0f));
    DNNL_OK(dnnl_primitive_attr_set_post_ops(attr, po));
  }
  dnnl_primitive_desc_t pd;
  DNNL_OK(dnnl_primitive_desc_create(&pd, &d, attr, g_eng, NULL));
  DNNL_OK(dnnl_primitive_create(&p->prim, pd));
  p->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  DNNL_OK(dnnl_memory_create(&p->a, &a, g_eng, DNNL_MEMORY_NONE));
  DNNL_OK(dnnl_memory_create(&p->b, &p->wmd, g_eng, DNNL_MEMORY_NONE));
  DNNL_OK(dnnl_memory_create(&p->c, &c, g_eng, DNNL_MEMORY_NONE));
  dnnl_primitive_desc_destroy(pd);
  if (po) dnnl_post_ops_destroy(po);
  if (attr) dnnl_primitive_attr_destroy(attr);
  p->k = *k;
  p->used = 1;
}

static void prim_destroy(gemm_prim *p) {
  dnnl_primitive_destroy(p->prim);
  dnnl_memory_destroy(p->a);
  dnnl_memory_destroy(p->b);
  dnnl_memory_destroy(p->c);
  p->used = 0;
}

static gemm_prim *prim_get(const gemm_key *k, gemm_prim *once) {
  if (!g_prims) g_prims = keep_alloc(PRIM_CAP * sizeof(gemm_prim), 1);
  gemm_prim *p = NULL;
  for (uint64_t i = key_hash(k) & (PRIM_CAP - 1), probes = 0; probes < 16;
       i = (i + 1) & (PRIM_CAP - 1), probes++) {
    if (g_prims[i].used && !memcmp(&g_prims[i].k, k, sizeof *k)) {
      p = &g_prims[i];
      break;
    }
    if (!g_prims[i].used) {
      p = &g_prims[i];
      prim_create(p, k);
      g_nprims++;
      break;
    }
  }
  if (!p) prim_create(p = once, k);
  return p;
}

static void prim_run(gemm_prim *p, gemm_prim *once, const void *A, const void *B, float *C) {
  DNNL_OK(dnnl_memory_set_data_handle(p->a, (void *)A));
  DNNL_OK(dnnl_memory_set_data_handle(p->b, (void *)B));
  DNNL_OK(dnnl_memory_set_data_handle(p->c, C));
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, p->a}, {DNNL_ARG_WEIGHTS, p->b}, {DNNL_ARG_DST, p->c}};
  DNNL_OK(dnnl_primitive_execute(p->prim, g_st, 3, args));
  DNNL_OK(dnnl_stream_wait(g_st));
  if (p == once) prim_destroy(p);
}

static int in_params(const float *X, int rows, int ld) {
  return g_pbase && X >= g_pbase && X + (int64_t)rows * ld <= g_pbase + g_pn;
}

/* one oneDNN product, through the primitive of its shape */
static void gemm_dnnl(int ta, int tb, int M, int N, int K, const float *A, const uint16_t *A16,
                      int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  const int bf16 = g_kernel == GEMM_BF16;
  const int weight = in_params(B, tb ? N : K, ldb);
  gemm_key k = {ta, tb, M, N, K, lda, ldb, ldc, beta != 0.0f, bf16, weight};
  const void *a = A, *b = NULL;
  if (bf16) { /* the activations: a dense bf16 copy in the same orientation (the caller's copy
               * where it gave one: in place when dense, else its block gathered; a product of
               * the same values and layout gives the same bits), else converted at each call */
    const int rows = ta ? K : M, cols = ta ? M : K;
    if (A16 && lda == cols)
      a = A16;
    else if (A16) {
      uint16_t *d = grow(&g_abuf, &g_acap, (int64_t)rows * cols);
      for (int r = 0; r < rows; r++)
        memcpy(d + (int64_t)r * cols, A16 + (int64_t)r * lda, (size_t)cols * sizeof(uint16_t));
      a = d;
    } else
      a = operand_bf16(A, rows, cols, lda, &g_abuf, &g_acap);
    k.lda = cols;
  }
  gemm_prim once = {0}, *p = prim_get(&k, &once);
  if (weight) b = weight_packed(B, tb, K, N, ldb, &p->wmd);
  if (!b && weight) { /* no room to keep it: a plain primitive */
    if (p == &once) prim_destroy(p);
    k.packed = 0;
    p = prim_get(&k, &once);
  }
  if (!b && bf16) {
    b = operand_bf16(B, tb ? N : K, tb ? K : N, ldb, &g_bbuf, &g_bcap);
    k.ldb = tb ? K : N;
    if (p == &once) prim_destroy(p);
    p = prim_get(&k, &once);
  } else if (!b)
    b = B;
  prim_run(p, &once, a, b, C);
}

/* the first part of a dimension n cut for oneDNN: the largest power of two in it, or all of it
 * below GEMM_SPLIT_MIN */
#define GEMM_SPLIT_MIN 16
static void (*g_progress)(void *);
static void *g_progress_arg;
void gemm_progress(void (*fn)(void *arg), void *arg) { g_progress = fn, g_progress_arg = arg; }

static int split_part(int n) {
  if (n < GEMM_SPLIT_MIN) return n;
  int p = GEMM_SPLIT_MIN;
  while (p <= n / 2) p *= 2;
  return p;
}

void gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
          float beta, float *C, int ldc) {
  gemm_a16(ta, tb, M, N, K, A, NULL, lda, B, ldb, beta, C, ldc);
}

void gemm_a16(int ta, int tb, int M, int N, int K, const float *A, const uint16_t *A16, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
  if (M == 0 || N == 0) return;
  if (g_kernel == GEMM_OPENBLAS || K == 0) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, 1.0f, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  RECUR_ASSERT(beta == 0.0f || beta == 1.0f);
  /* oneDNN keeps a primitive per shape, so a dimension that follows the batch's tokens (the rows
   * of a product over every step, the K of a weight's gradient) would make one for every count
   * seen (1.2 GB of them after 1,000 steps of sequences mode at hidden 256). The rows, and the K
   * of a product of two activations (no weight's K is cut: its packed copy is per shape), are
   * taken in power-of-two parts, so each product has a few dozen shapes at most. */
  const int cut_k = !in_params(B, tb ? N : K, ldb) && !in_params(A, ta ? K : M, lda);
  /* with a progress call, a product of 16M multiply-adds or more in parts of a quarter of its
   * rows (a power of two, 512 at least), the call between them */
  int most = M;
  if (g_progress && (int64_t)M * N * K >= ((int64_t)1 << 24) && M >= 1024) {
    most = 512;
    while (most < M / 4) most *= 2;
  }
  for (int m0 = 0, m; m0 < M; m0 += m) {
    if (m0 > 0 && g_progress) g_progress(g_progress_arg);
    m = split_part(M - m0);
    if (m > most) m = most;
    const int64_t am = ta ? m0 : (int64_t)m0 * lda;
    const float *Am = A + am;
    const uint16_t *Am16 = A16 ? A16 + am : NULL;
    float *Cm = C + (int64_t)m0 * ldc;
    if (!cut_k) {
      gemm_dnnl(ta, tb, m, N, K, Am, Am16, lda, B, ldb, beta, Cm, ldc);
      continue;
    }
    for (int k0 = 0, k; k0 < K; k0 += k) {
      k = split_part(K - k0);
      const int64_t ak = ta ? (int64_t)k0 * lda : k0;
      gemm_dnnl(ta, tb, m, N, k, Am + ak, Am16 ? Am16 + ak : NULL, lda,
                tb ? B + k0 : B + (int64_t)k0 * ldb, ldb, k0 ? 1.0f : beta, Cm, ldc);
    }
  }
}

const char *gemm_impl(void) {
  if (g_kernel == GEMM_OPENBLAS) return "cblas_sgemm";
  static char impl[128];
  /* the recurrent product of an LSTM 2x512 step at batch 64, with packed weights */
  gemm_key k = {0, 1, 64, 2048, 512, 512, 512, 2048, 1, g_kernel == GEMM_BF16, 1};
  dnnl_data_type_t dt = k.bf16 ? dnnl_bf16 : dnnl_f32;
  dnnl_memory_desc_t a, b, c;
  dnnl_dims_t bdims = {k.K, k.N};
  md_init(&a, k.M, k.K, 0, k.lda, dt);
  DNNL_OK(dnnl_memory_desc_init_by_tag(&b, 2, bdims, dt, dnnl_format_tag_any));
  md_init(&c, k.M, k.N, 0, k.ldc, dnnl_f32);
  dnnl_matmul_desc_t d;
  DNNL_OK(dnnl_matmul_desc_init(&d, &a, &b, NULL, &c));
  dnnl_primitive_desc_t pd;
  DNNL_OK(dnnl_primitive_desc_create(&pd, &d, NULL, g_eng, NULL));
  const char *s = "?";
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
  snprintf(impl, sizeof impl, "%s", s);
  dnnl_primitive_desc_destroy(pd);
  return impl;
}

/* GFLOP/s: the best of three windows of 10 ms (a window the OS took the core in reads low) */
static double time_kernel(int M, int N, int K, const float *A, const float *B, float *C) {
  gemm(0, 1, M, N, K, A, K, B, K, 1.0f, C, N); /* creates the primitive */
  double best = 0;
  for (int w = 0; w < 3; w++) {
    int it = 0;
    double t0 = core_now(), t;
    do {
      if (it % 100 == 0) gemm_params_changed(); /* the weight's conversion: once per 100 steps */
      gemm(0, 1, M, N, K, A, K, B, K, 1.0f, C, N);
      it++;
    } while ((t = core_now() - t0) < 0.01);
    const double g = 2.0 * M * N * K * it / t * 1e-9;
    best = g > best ? g : best;
  }
  return best;
}

/* GFLOP/s of each of kernels ks[0..n) at C (M x N) += A (M x K) B^T, B registered as a weight
 * for the time of the probe (its conversion, as training's, once per 100 calls) */
static void probe_kernels(int M, int N, int K, const gemm_kernel *ks, int n, double *gflops) {
  float *A = xcalloc((size_t)M * K, sizeof(float)), *B = xcalloc((size_t)N * K, sizeof(float)),
        *C = xcalloc((size_t)M * N, sizeof(float));
  const float *pb = g_pbase;
  int64_t pn = g_pn;
  gemm_params(B, (int64_t)N * K);
  gemm_kernel k = g_kernel;
  for (int i = 0; i < n; i++) {
    if (ks[i] != GEMM_OPENBLAS) engine_open();
    g_kernel = ks[i];
    gflops[i] = time_kernel(M, N, K, A, B, C);
  }
  g_kernel = k;
  for (int i = 0; i < g_nw; i++) /* forget the probe's weight */
    if (g_w[i].src == B) {
      weight_drop(&g_w[i]);
      g_w[i] = g_w[--g_nw];
      memset(&g_w[g_nw], 0, sizeof g_w[0]);
      i--;
    }
  gemm_params(pb, pn);
  xfree(A), xfree(B), xfree(C);
}

void gemm_probe(int M, int N, int K, double *gflops_now, double *gflops_openblas) {
  const gemm_kernel ks[2] = {g_kernel, GEMM_OPENBLAS};
  double g[2];
  probe_kernels(M, N, K, ks, 2, g);
  *gflops_now = g[0], *gflops_openblas = g[1];
}

int gemm_fastest(int M, int N, int K, double gflops[2], double *bf16) {
  gflops[0] = gflops[1] = *bf16 = 0;
  if ((double)M * N * K < GEMM_AUTO_MIN_MACS && (double)N * K < GEMM_AUTO_MIN_WEIGHT)
    return GEMM_LIB_OPENBLAS;
  const gemm_kernel ks[3] = {GEMM_OPENBLAS, GEMM_ONEDNN, GEMM_BF16};
  double g[3];
  probe_kernels(M, N, K, ks, 3, g);
  gflops[0] = g[0], gflops[1] = g[1], *bf16 = g[2];
  return gflops[1] > gflops[0] ? GEMM_LIB_ONEDNN : GEMM_LIB_OPENBLAS;
}

void gemm_free(void) {
  for (int i = 0; g_prims && i < PRIM_CAP; i++)
    if (g_prims[i].used) prim_destroy(&g_prims[i]);
  free(g_prims);
  g_prims = NULL;
  g_nprims = 0;
  for (int i = 0; i < g_nw; i++) weight_drop(&g_w[i]);
  g_nw = 0;
  free(g_abuf), free(g_bbuf);
  g_abuf = g_bbuf = NULL;
  g_acap = g_bcap = 0;
  if (g_st) dnnl_stream_destroy(g_st);
  if (g_eng) dnnl_engine_destroy(g_eng);
  g_st = NULL;
  g_eng = NULL;
  g_kernel = GEMM_OPENBLAS;
}

void gemm_colsum(int N, int C, const float *X, int ldx, const float *ones, float beta, float *y) {
  cblas_sgemv(CblasRowMajor, CblasTrans, N, C, 1.0f, X, ldx, ones, 1, beta, y, 1);
}

void gemm_add(int n, const float *x, float *y) { cblas_saxpy(n, 1.0f, x, 1, y, 1); }

void gemm_threads_default(void) {
  if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
}

const char *gemm_blas_config(void) { return openblas_get_config(); }

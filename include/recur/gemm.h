/* gemm: the matrix products of forward and backward, C = op(A) op(B) + beta C (row-major, alpha 1,
 * beta 0 or 1), through one of three kernels chosen once per process:
 *   GEMM_OPENBLAS   cblas_sgemm, fp32 (the default: results bitwise what they always were);
 *   GEMM_ONEDNN     oneDNN's matmul primitive in fp32 (faster than OpenBLAS on some CPUs);
 *   GEMM_BF16       oneDNN's matmul with bf16 operands accumulating in fp32 (AMX or AVX512-BF16
 *                   where the CPU has them): A and B are rounded to bf16 (nearest even), C stays
 *                   fp32. Operands inside the registered parameter buffer are converted once per
 *                   gemm_params_changed(), the others at each call.
 * oneDNN primitives are created once per shape and reused. Results are deterministic for a given
 * kernel, shape and CPU. One thread. */
#ifndef RECUR_GEMM_H
#define RECUR_GEMM_H

#include <stdint.h>

typedef enum { GEMM_OPENBLAS, GEMM_ONEDNN, GEMM_BF16 } gemm_kernel;

extern const char *const gemm_kernel_names[]; /* "openblas", "onednn", "bf16", NULL */
/* the flags that choose it: --precision fp32|bf16, --gemm openblas|onednn (fp32 only) */
enum { PRECISION_FP32, PRECISION_BF16 };
enum { GEMM_LIB_OPENBLAS, GEMM_LIB_ONEDNN, GEMM_LIB_AUTO };
extern const char *const precision_names[];
extern const char *const gemm_lib_names[];
gemm_kernel gemm_kernel_of(int precision, int lib);
/* The two flags as every command that runs a model has them (train, eval, sample, predict): one
 * text, GEMM_OPT_DEFS(flags_type, member, default --gemm) in its opt_def table (opts.h). The
 * default is auto: the fp32 library that runs the model's own recurrent product fastest here
 * (gemm_fastest), resolved once per run (train records the library it took, so a resume keeps
 * it). */
typedef struct {
  int precision, lib;
} gemm_choice;
#define GEMM_PRECISION_HELP                                                                        \
  "bf16: matrix products take bf16 operands and accumulate in fp32 (oneDNN; AMX or AVX512-BF16 "   \
  "where the CPU has them); weights, optimizer and elementwise math stay fp32"
#define GEMM_LIB_HELP                                                                              \
  "fp32 matrix products by OpenBLAS or oneDNN's matmul (results differ in the last bits); auto: "  \
  "the faster of the two at the model's recurrent product, timed at the start (OpenBLAS for "      \
  "products under 4 million multiply-adds; a resumed run keeps the one its run took)"
#define GEMM_OPT_DEFS(type, member, lib_default)                                                   \
  {"--precision",                                                                                  \
   NULL,                                                                                           \
   OPT_CHOICE,                                                                                     \
   OPT_FIELD(type, member.precision),                                                              \
   0,                                                                                              \
   0,                                                                                              \
   precision_names,                                                                                \
   "fp32",                                                                                         \
   NULL,                                                                                           \
   GEMM_PRECISION_HELP,                                                                            \
   0},                                                                                             \
  {                                                                                                \
    "--gemm", NULL, OPT_CHOICE, OPT_FIELD(type, member.lib), 0, 0, gemm_lib_names, lib_default,    \
        NULL, GEMM_LIB_HELP, 0                                                                     \
  }
/* Use the kernel the flags name; lib_given: --gemm was on the command line (bf16 with --gemm
 * openblas is then a usage error; bf16 alone runs on oneDNN). c->lib is openblas or onednn here
 * (auto resolved by the caller: gemm_fastest, the same answer on every rank). */
void gemm_choose(const gemm_choice *c, int lib_given);

/* --gemm auto: the fp32 library (GEMM_LIB_*) that computes C (M x N) += A (M x K) B^T faster on
 * this CPU, each timed for about 30 ms (the best of three 10 ms windows); OpenBLAS, untimed, for a
 * product under GEMM_AUTO_MIN_MACS multiply-adds whose B is under GEMM_AUTO_MIN_WEIGHT elements
 * (a toy model's, whose step the products do not set: the same kernel run after run, as the
 * tests' small models need). Measured on a 2-core Zen 4 (whole training steps): oneDNN 1.9x
 * OpenBLAS at a GRU 2x256 with 16 rows (3.1M multiply-adds) with OPENBLAS_CORETYPE=Haswell, 1.2x
 * with OpenBLAS's own kernels; both timed now (before, the bounds were 4M and 1M: untimed).
 * gflops[0], [1]: OpenBLAS's and oneDNN's GFLOP/s; *bf16: bf16's (all 0 when not timed). */
#define GEMM_AUTO_MIN_MACS   2000000.0
#define GEMM_AUTO_MIN_WEIGHT 131072.0
int gemm_fastest(int M, int N, int K, double gflops[2], double *bf16);

/* Select the kernel for every later call (the first oneDNN use creates its engine). */
void gemm_use(gemm_kernel k);
gemm_kernel gemm_current(void);
/* OpenBLAS's kernel set when OPENBLAS_CORETYPE holds it below the CPU (a core without AVX-512,
 * e.g. "Haswell", on a CPU that has AVX-512; these machines export it), NULL otherwise. */
const char *gemm_blas_held(void);
/* The name of the code oneDNN runs for a typical recurrent shape (e.g. "brg:avx512_core_bf16"),
 * "cblas_sgemm" for OpenBLAS; a static string. */
const char *gemm_impl(void);

/* GFLOP/s of the current kernel and of OpenBLAS at C (M x N) += A (M x K) B^T, each timed for
 * about 30 ms: at the start of a bf16 or oneDNN run, to say what it gains on this CPU. */
void gemm_probe(int M, int N, int K, double *gflops_now, double *gflops_openblas);

/* The parameter buffer whose slices are weights: their bf16 copies live until the next
 * gemm_params_changed() (after each optimizer step, load, or any write to the parameters). */
void gemm_params(const float *base, int64_t n);
void gemm_params_changed(void);

/* C (M x N, ldc) = op(A) (M x K) op(B) (K x N) + beta C. op(A) = A (lda) or A^T when ta; the same
 * for B. beta is 0 or 1. */
void gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
          float beta, float *C, int ldc);
/* gemm with A's bf16 copy A16 (the same layout and lda, each value as core_to_bf16 rounds it;
 * NULL: none): the bf16 kernel reads it instead of converting A; the others ignore it */
void gemm_a16(int ta, int tb, int M, int N, int K, const float *A, const uint16_t *A16, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* A call made between the parts of a large product in oneDNN's kernels (a product of 16M
 * multiply-adds or more in parts of a quarter of its rows, 512 at least), so that the sums in
 * flight move on during it (a backward's weight gradients; Open MPI's non-blocking sums advance
 * only when called). fn NULL: none (products whole, as their shapes' power-of-two parts). */
void gemm_progress(void (*fn)(void *arg), void *arg);

/* y (C) = sum over the N rows of X (N x C, ldx) + beta y, as one matrix-vector product with a
 * vector of N ones (the bias gradients; OpenBLAS's sgemv, whatever the kernel of gemm). */
void gemm_colsum(int N, int C, const float *X, int ldx, const float *ones, float beta, float *y);
/* y (n) += x (n) */
void gemm_add(int n, const float *x, float *y);
/* The BLAS's threads: one per rank unless OPENBLAS_NUM_THREADS says otherwise; and its build
 * (OpenBLAS's config string: version, kernels, threads) for the record. */
void gemm_threads_default(void);
const char *gemm_blas_config(void);

/* Release the primitives, caches and engine. */
void gemm_free(void);

#endif

/* cli_model: the model of sample, eval and predict (see cli.h). */
#include "cli.h"
#include "recur/core.h"
#include "recur/dist.h"

model *cli_model_load(const char *path, int best, model_vocab *v, gemm_choice *kernel,
                      int lib_given, int rows, int agree, char **file) {
  char *f = model_resolve_best(path, best);
  model *m = model_load(f, v, NULL);
  if (file)
    *file = f;
  else
    xfree(f);
  gemm_threads_default();
  if (kernel->lib == GEMM_LIB_AUTO) {
    double gf[2], bf16;
    int lib = GEMM_LIB_ONEDNN; /* bf16 runs on oneDNN */
    if (kernel->precision == PRECISION_FP32 && (!agree || core_rank() == 0))
      lib = gemm_fastest(rows, cell_gates(m->cfg.cell) * m->cfg.hidden, m->cfg.hidden, gf, &bf16);
    kernel->lib = agree ? dist_bcast_int(lib, "rank 0's choice of kernel") : lib;
  }
  gemm_choose(kernel, lib_given);
  gemm_params(m->params, m->n_params);
  return m;
}

/* cli_model: the model of sample, eval and predict (see cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dist.h"

model *cli_model_load(const char *path, int best, int last, int quiet, model_vocab *v,
                      gemm_choice *kernel, int lib_given, int rows, int agree, char **file) {
  if (best && last) recur_usage_fail("--best or --last", "--best and --last exclude each other");
  const model_pick pick = best ? MODEL_PICK_BEST : last ? MODEL_PICK_LAST : MODEL_PICK_AUTO;
  char *f = model_resolve_pick(path, pick);
  int64_t step = 0;
  model *m = model_load(f, v, &step);
  const size_t n = strlen(f), nb = strlen("/model-best.h5");
  if (pick == MODEL_PICK_AUTO && !quiet && core_rank() == 0 && n > nb &&
      !strcmp(f + n - nb, "/model-best.h5"))
    fprintf(stderr, "recur: %s: the best validated model (step %lld); --last for the last one\n", f,
            (long long)step);
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

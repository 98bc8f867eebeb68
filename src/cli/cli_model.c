/* cli_model: the model of sample, eval and predict (see cli.h). */
#include "cli.h"
#include "recur/core.h"

model *cli_model_load(const char *path, int best, model_vocab *v, const gemm_choice *kernel,
                      int lib_given, char **file) {
  char *f = model_resolve_best(path, best);
  model *m = model_load(f, v, NULL);
  if (file)
    *file = f;
  else
    xfree(f);
  gemm_threads_default();
  gemm_choose(kernel, lib_given);
  gemm_params(m->params, m->n_params);
  return m;
}

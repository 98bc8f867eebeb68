/* cli: the subcommands (each parses its flags with an opts table, calls the library, prints). */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

#include <stdint.h>

#include "recur/gemm.h"
#include "recur/model.h"

int cmd_prepare(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* The test hooks and a simulation's sampling from the environment (recur/hooks.h), for the
 * library: the program's, never the library's, reading of RECUR_TEST_* and RECUR_SIM_* */
void cli_hooks_from_env(void);

/* --best and --last, as sample, eval and predict take them (fields best and last of type) */
#define CLI_PICK_OPT_DEFS(type)                                                                    \
  {"--best",                                                                                       \
   NULL,                                                                                           \
   OPT_SWITCH,                                                                                     \
   OPT_FIELD(type, best),                                                                          \
   0,                                                                                              \
   1,                                                                                              \
   NULL,                                                                                           \
   "0",                                                                                            \
   NULL,                                                                                           \
   "a run directory's model-best.h5 (the lowest validation loss); an error if it has none",        \
   0},                                                                                             \
  {                                                                                                \
    "--last", NULL, OPT_SWITCH, OPT_FIELD(type, last), 0, 1, NULL, "0", NULL,                      \
        "a run directory's last model (model.h5), not its best validated one", 0                   \
  }
#define CLI_PICK_HELP                                                                              \
  "A run directory means its best validated model (model-best.h5, said on stderr) when it has\n"   \
  "one, else its last (model.h5); --last or --best choose.\n"

/* MODEL as sample, eval and predict take it (a model.h5, checkpoint or run directory; of a run
 * directory its model-best.h5 when it has one, else its last: --last and --best choose, and when
 * the best is taken without --best a line on stderr says so unless quiet), loaded with its matrix
 * products on the kernel the flags name (lib_given:
 * --gemm was on the command line; --gemm auto times the model's recurrent product at `rows` rows;
 * agree: every rank loads it, and takes rank 0's choice) and one BLAS thread unless
 * OPENBLAS_NUM_THREADS says more; *file (if file is not NULL) the model.h5 it resolved to
 * (malloc'd) */
model *cli_model_load(const char *path, int best, int last, int quiet, model_vocab *v,
                      gemm_choice *kernel, int lib_given, int rows, int agree, char **file);

#endif

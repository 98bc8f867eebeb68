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

/* MODEL as sample, eval and predict take it (a model.h5, checkpoint or run directory; --best: the
 * run's model-best.h5), loaded with its matrix products on the kernel the flags name (lib_given:
 * --gemm was on the command line; --gemm auto times the model's recurrent product at `rows` rows;
 * agree: every rank loads it, and takes rank 0's choice) and one BLAS thread unless
 * OPENBLAS_NUM_THREADS says more; *file (if file is not NULL) the model.h5 it resolved to
 * (malloc'd) */
model *cli_model_load(const char *path, int best, model_vocab *v, gemm_choice *kernel,
                      int lib_given, int rows, int agree, char **file);

#endif

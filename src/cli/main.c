/* recur: command-line entry point. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/h5.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: recur COMMAND [ARGS]\n"
          "  prepare INPUT... -o OUT.h5   text -> HDF5 dataset\n"
          "  inspect PATH [--json]        describe a dataset, model.h5 or checkpoint\n"
          "  decode D.h5 [--split S]      write a split back as text\n"
          "  train --data D.h5 --out RUN  train a model (run under mpirun for several ranks)\n"
          "  sample MODEL                 generate text\n"
          "  eval MODEL --data D.h5       exact loss of a split\n"
          "run `recur COMMAND --help` for a command's flags\n");
}

int64_t cli_int(const char *flag, const char *val, int64_t min, int64_t max) {
  char *end;
  long long v = strtoll(val, &end, 10);
  if (!*val || *end) recur_fail(NULL, NULL, "%s expects an integer, got '%s'", flag, val);
  if (v < min || v > max) recur_fail(NULL, NULL, "%s must be in [%lld, %lld], got %lld", flag, (long long)min, (long long)max, v);
  return v;
}

double cli_double(const char *flag, const char *val, double min, double max) {
  char *end;
  double v = strtod(val, &end);
  if (!*val || *end) recur_fail(NULL, NULL, "%s expects a number, got '%s'", flag, val);
  if (!(v >= min && v <= max)) recur_fail(NULL, NULL, "%s must be in [%g, %g], got %g", flag, min, max, v);
  return v;
}

const char *cli_choice(const char *flag, const char *val, const char *const *choices) {
  char list[512] = "";
  for (int i = 0; choices[i]; i++) {
    if (strcmp(val, choices[i]) == 0) return choices[i];
    strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
    strncat(list, choices[i], sizeof list - strlen(list) - 1);
  }
  recur_fail(NULL, NULL, "%s must be one of %s, got '%s'", flag, list, val);
}

const char *cli_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) recur_fail(NULL, NULL, "%s needs a value", argv[*i]);
  return argv[++*i];
}

void cli_unknown(const char *cmd, const char *flag) {
  char hint[128];
  snprintf(hint, sizeof hint, "see `recur %s --help`", cmd);
  recur_fail(NULL, hint, "unknown flag '%s' for %s", flag, cmd);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  h5_init();
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    if (core_rank() == 0) usage(argc < 2 ? stderr : stdout);
    MPI_Finalize();
    return argc < 2 ? 2 : 0;
  }
  int rc;
  const char *c = argv[1];
  if (strcmp(c, "prepare") == 0) rc = cmd_prepare(argc - 1, argv + 1);
  else if (strcmp(c, "inspect") == 0) rc = cmd_inspect(argc - 1, argv + 1);
  else if (strcmp(c, "decode") == 0) rc = cmd_decode(argc - 1, argv + 1);
  else if (strcmp(c, "train") == 0) rc = cmd_train(argc - 1, argv + 1);
  else if (strcmp(c, "sample") == 0) rc = cmd_sample(argc - 1, argv + 1);
  else if (strcmp(c, "eval") == 0) rc = cmd_eval(argc - 1, argv + 1);
  else {
    recur_fail(NULL, "run `recur --help` for the commands", "unknown command '%s'", c);
  }
  MPI_Finalize();
  return rc;
}

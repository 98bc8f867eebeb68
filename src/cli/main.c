/* recur: command-line entry point. */
#include <mpi.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/h5.h"
#include "recur/hooks.h"

static void usage(FILE *f) {
  fprintf(f, "usage: recur COMMAND [ARGS]\n"
             "  prepare INPUT... -o OUT.h5   text -> HDF5 dataset\n"
             "  inspect PATH [--json]        describe a dataset, model.h5 or checkpoint\n"
             "  decode D.h5 [--split S]      write a split back as text\n"
             "  train --data D.h5 --out RUN  train a model (run under mpirun for several ranks)\n"
             "  sample MODEL                 generate text\n"
             "  eval MODEL --data D.h5       exact loss of a split (accuracy, F1 for classifiers "
             "and taggers)\n"
             "  predict MODEL [TEXT | -]     label of each line, or tags of its tokens\n"
             "run `recur COMMAND --help` for a command's flags\n");
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  h5_init();
  signal(SIGXFSZ, SIG_IGN); /* a file-size limit becomes a write error with a message, not a kill */
  if (hooks_get()->fsize_limit > 0) { /* a disk that fills up (after MPI_Init, which needs files) */
    struct rlimit rl = {(rlim_t)hooks_get()->fsize_limit, (rlim_t)hooks_get()->fsize_limit};
    setrlimit(RLIMIT_FSIZE, &rl);
  }
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    if (core_rank() == 0) usage(argc < 2 ? stderr : stdout);
    MPI_Finalize();
    return argc < 2 ? 2 : 0;
  }
  static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
  } COMMANDS[] = {{"prepare", cmd_prepare}, {"inspect", cmd_inspect}, {"decode", cmd_decode},
                  {"train", cmd_train},     {"sample", cmd_sample},   {"eval", cmd_eval},
                  {"predict", cmd_predict}};
  int rc = -1;
  for (size_t k = 0; k < sizeof COMMANDS / sizeof COMMANDS[0] && rc < 0; k++)
    if (!strcmp(argv[1], COMMANDS[k].name)) rc = COMMANDS[k].run(argc - 1, argv + 1);
  if (rc < 0)
    recur_fail(NULL, "run `recur --help` for the commands", "unknown command '%s'", argv[1]);
  MPI_Finalize();
  return rc;
}

/* recur: command-line entry point. */
#define _XOPEN_SOURCE 700 /* setenv, nftw */
#include <ftw.h>
#include <mpi.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dist.h"
#include "recur/h5.h"
#include "recur/hooks.h"
#include "recur/opts.h"

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
             "  report RUN [RUN...]          one HTML page of plots about runs\n"
             "  help [COMMAND]               this list, or a command's flags (= recur COMMAND "
             "--help)\n"
             "  --version                    the version of recur\n"
             "run `recur COMMAND --help` for a command's flags\n");
}

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
} COMMANDS[] = {{"prepare", cmd_prepare}, {"inspect", cmd_inspect}, {"decode", cmd_decode},
                {"train", cmd_train},     {"sample", cmd_sample},   {"eval", cmd_eval},
                {"predict", cmd_predict}, {"report", cmd_report}};

static int find_command(const char *name) {
  for (int k = 0; k < (int)(sizeof COMMANDS / sizeof COMMANDS[0]); k++)
    if (!strcmp(name, COMMANDS[k].name)) return k;
  return -1;
}

/* the command that name is a typo of, as a hint */
static void unknown_command(const char *name) {
  const char *names[sizeof COMMANDS / sizeof COMMANDS[0]];
  const int n = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);
  for (int k = 0; k < n; k++) names[k] = COMMANDS[k].name;
  int k = opts_suggest(name, names, n);
  char hint[128];
  snprintf(hint, sizeof hint, "%s%s%srun `recur help` for the commands",
           k >= 0 ? "did you mean " : "", k >= 0 ? names[k] : "", k >= 0 ? "? " : "");
  recur_usage_fail(hint, "unknown command '%s'", name);
}

static int finish(int rc) {
  MPI_Finalize();
  return rc;
}

/* A process that no launcher started (no mpirun, no srun) is a world of one: Open MPI need not
 * probe for PSM/OFI network hardware (100 ms each) nor start a daemon to get a job id: MPI_Init
 * and MPI_Finalize take 0.13 s, not 0.5, on the AMD EPYC (recur sample, inspect, prepare and eval
 * alone start that much sooner). Such singletons all have job id 0, so each keeps its session
 * files under a directory of its own (two at once collided in /tmp/ompi.*.jf.0 without it), removed
 * at exit. What the environment sets is kept. */
#ifndef RECUR_SMPI
static char g_session[256];
static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}
/* at exit: the directory and what Open MPI left in it (it empties it only at MPI_Finalize, not
 * when a command fails) */
static void session_remove(void) {
  if (g_session[0]) nftw(g_session, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}
#endif
static void singleton_quick(void) {
#ifndef RECUR_SMPI
  if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK")) return;
  setenv("OMPI_MCA_pml", "ob1", 0);
  if (getenv("OMPI_MCA_ess_singleton_isolated") || getenv("OMPI_MCA_orte_tmpdir_base")) return;
  const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  int n = snprintf(g_session, sizeof g_session, "%s/recur-mpi-%ld", tmp, (long)getpid());
  if (n <= 0 || n >= (int)sizeof g_session) {
    g_session[0] = 0;
    return;
  }
  setenv("OMPI_MCA_orte_tmpdir_base", g_session, 1);
  setenv("OMPI_MCA_ess_singleton_isolated", "1", 1);
  atexit(session_remove);
  core_on_exit(session_remove);
#endif
}

int main(int argc, char **argv) {
  singleton_quick();
  MPI_Init(&argc, &argv);
  core_init();
  h5_init();
  cli_hooks_from_env();
  signal(SIGXFSZ, SIG_IGN); /* a file-size limit becomes a write error with a message, not a kill */
  if (hooks_get()->fsize_limit > 0) { /* a disk that fills up (after MPI_Init, which needs files) */
    struct rlimit rl = {(rlim_t)hooks_get()->fsize_limit, (rlim_t)hooks_get()->fsize_limit};
    setrlimit(RLIMIT_FSIZE, &rl);
  }
  /* the command line is the same on every rank: its errors are printed once (core.h) */
  core_errors_agreed(1);
  const char *cmd = argc < 2 ? NULL : argv[1];
  if (cmd && (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version"))) {
    if (core_rank() == 0) printf("recur %s\n", recur_version());
    return finish(0);
  }
  if (cmd && !strcmp(cmd, "help") && argc > 2) { /* recur help COMMAND = recur COMMAND --help */
    if (find_command(argv[2]) < 0) unknown_command(argv[2]);
    char *help_argv[] = {argv[2], "--help", NULL};
    return finish(COMMANDS[find_command(argv[2])].run(2, help_argv));
  }
  if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (core_rank() == 0) usage(cmd ? stdout : stderr);
    return finish(cmd ? 0 : RECUR_EXIT_USAGE);
  }
  int k = find_command(cmd);
  if (k < 0) unknown_command(cmd);
  /* every wait on the other ranks is bounded, whatever the command (dist.h) */
  dist_watch_start(atof(DIST_TIMEOUT_DEFAULT));
  return finish(COMMANDS[k].run(argc - 1, argv + 1));
}

/* recur train: flags (the table in train/options.c) -> train_opts -> a run driven through the
 * library's API (train.h: train_open, train_step, train_close), its lines printed on stdout, the
 * signals a user or a scheduler sends turned into the run's requests. */
#define _XOPEN_SOURCE 700 /* sigaltstack, SA_ONSTACK */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/train.h"

/* SIGINT, SIGTERM, SIGUSR2: stop after the step with a checkpoint; a second SIGINT ends the
 * process at once (the newest committed checkpoint stays). SIGUSR1: a checkpoint, and go on. */
static volatile sig_atomic_t g_interrupted;
static void on_signal(int sig) {
  if (sig == SIGUSR1) {
    train_request(TRAIN_CHECKPOINT, sig);
    return;
  }
  if (sig == SIGINT && g_interrupted) _exit(130);
  if (sig == SIGINT) g_interrupted = 1;
  train_request(TRAIN_STOP, sig);
}

static void say(void *arg, const char *lines) {
  (void)arg;
  fputs(lines, stdout);
  fflush(stdout);
}

/* The handler runs on a stack of its own. Handled on the interrupted stack, a signal arriving
 * during a backward's oneDNN products in parts of 512 rows corrupted the heap ("corrupted size vs.
 * prev_size") in 7 of 9 runs given SIGUSR1 or SIGTERM, 0 of 10 with this stack: most likely one of
 * oneDNN 2.6's JIT kernels keeps data below its stack pointer, past the 128 bytes the ABI leaves
 * a function, where the kernel writes the signal's frame. */
static void signals_install(void) {
  static char alt[1 << 16];
  stack_t st = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  sigaltstack(&st, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_flags = SA_ONSTACK;
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

int cmd_train(int argc, char **argv) {
  train_opts o;
  train_opts_default(&o);
  if (opts_parse(train_options(), &o, o.given, argc, argv, NULL, 0, NULL)) return 0;
  if (o.options_json) {
    train_options_json(stdout);
    train_opts_free(&o);
    return 0;
  }
  const train_sink console = {say, NULL, NULL};
  trainer *t = train_open(&o, MPI_COMM_WORLD, &console, NULL, 0); /* errors end the process */
  signals_install(); /* from the first step on: a stop commits a checkpoint */
  while (train_step(t)) {}
  train_close(t);
  train_opts_free(&o);
  return 0;
}

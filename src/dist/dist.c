/* dist: the watchdog and the small collectives (barrier, broadcast, sums of statistics). */
#define _POSIX_C_SOURCE 200809L
#include "recur/dist.h"

#include <limits.h>
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recur/core.h"
#include "recur/hooks.h"

/* The watchdog: a thread that only reads the clock and two atomics, so it needs no MPI thread
 * support. The main thread marks each wait on the other ranks; a wait longer than the limit means
 * a rank, a host or the network between hosts is gone (TCP notices a silent peer only after many
 * minutes, and a blocked collective never returns), so the process ends itself. Its exit without
 * MPI_Finalize makes mpirun end the ranks it can still reach; ranks it cannot reach time out on
 * their own side of the cut the same way. */
static _Atomic double g_wait_since; /* core_now() when the current wait began, 0 = not waiting */
static _Atomic(const char *) g_wait_what;
static _Atomic double g_watch_s;
static int g_watching, g_watch_rank;

static void *watch_main(void *arg) {
  (void)arg;
  for (;;) {
    const struct timespec tick = {0, 100000000}; /* a variable: SMPI's nanosleep is a macro */
    nanosleep(&tick, NULL);
    double since = atomic_load(&g_wait_since);
    double limit = atomic_load(&g_watch_s);
    if (since <= 0 || core_now() - since < limit) continue;
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    fprintf(
        stderr,
        "[rank %d on %s] recur: error: waited %.0f s for the other ranks (%s): a rank, a host or "
        "the network between hosts is gone; ending the job\n"
        "hint: --comm-timeout sets the wait; a training run resumes from its last committed "
        "checkpoint with --resume\n",
        g_watch_rank, host, limit, atomic_load(&g_wait_what));
    fflush(stderr);
    _exit(RECUR_EXIT_ERROR);
  }
  return NULL;
}

void dist_watch_start(double seconds) {
#ifdef RECUR_SMPI /* SimGrid's ranks are actors of one process: no thread may read their clock, */
  return;         /* and no host of a simulated cluster is lost */
#endif
  if (g_watching || seconds <= 0 || core_world() == 1) return;
  atomic_store(&g_watch_s, seconds);
  g_watch_rank = core_rank();
  pthread_t th;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&th, &at, watch_main, NULL) == 0) g_watching = 1;
  pthread_attr_destroy(&at);
}

void dist_watch_set(double seconds) {
  if (seconds > 0 && !g_watching) dist_watch_start(seconds);
  atomic_store(&g_watch_s, seconds > 0 ? seconds : 1e300); /* off: no wait lasts that long */
}

void dist_wait_begin(const char *what) {
  static int held;
  const test_hooks *hk = hooks_get();
  if (!held && hk->hold_rank == core_rank() && hk->hold_ms > 0) {
    held = 1;
    const struct timespec hold = {(time_t)(hk->hold_ms / 1000), (hk->hold_ms % 1000) * 1000000L};
    nanosleep(&hold, NULL);
  }
  atomic_store(&g_wait_what, what);
  atomic_store(&g_wait_since, core_now());
}

void dist_wait_end(void) { atomic_store(&g_wait_since, 0.0); }

void dist_barrier(const char *what) {
  if (core_world() == 1) return;
  dist_wait_begin(what);
  MPI_Barrier(core_comm());
  dist_wait_end();
}

int dist_bcast_int(int v, const char *what) {
  if (core_world() == 1) return v;
  DIST_WAIT(what, MPI_Bcast(&v, 1, MPI_INT, 0, core_comm()));
  return v;
}

void dist_sum_doubles(double *buf, int n) {
  if (core_world() == 1) return;
  dist_wait_begin("a sum of statistics");
  MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, core_comm());
  dist_wait_end();
}

/* dist: MPI reductions and the watchdog. */
#define _POSIX_C_SOURCE 200809L
#include "recur/dist.h"

#include <cblas.h>
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

void dist_blas_threads_default(void) {
  if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
}

/* The watchdog: a thread that only reads the clock and two atomics, so it needs no MPI thread
 * support. The main thread marks each wait on the other ranks; a wait longer than the limit means
 * a rank, a host or the network between hosts is gone (TCP notices a silent peer only after many
 * minutes, and a blocked collective never returns), so the process ends itself. Its exit without
 * MPI_Finalize makes mpirun end the ranks it can still reach; ranks it cannot reach time out on
 * their own side of the cut the same way. */
static _Atomic double g_wait_since; /* core_now() when the current wait began, 0 = not waiting */
static _Atomic(const char *) g_wait_what;
static double g_watch_s;
static int g_watching, g_watch_rank;

static void *watch_main(void *arg) {
  (void)arg;
  for (;;) {
    nanosleep(&(struct timespec){0, 100000000}, NULL);
    double since = atomic_load(&g_wait_since);
    if (since <= 0 || core_now() - since < g_watch_s) continue;
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    fprintf(
        stderr,
        "[rank %d on %s] recur: error: waited %.0f s for the other ranks (%s): a rank, a host or "
        "the network between hosts is gone; ending the job\n"
        "hint: resume from the last committed checkpoint with --resume; --comm-timeout sets "
        "the wait\n",
        g_watch_rank, host, g_watch_s, atomic_load(&g_wait_what));
    fflush(stderr);
    _exit(RECUR_EXIT_ERROR);
  }
  return NULL;
}

void dist_watch_start(double seconds) {
  if (g_watching || seconds <= 0 || core_world() == 1) return;
  g_watch_s = seconds;
  g_watch_rank = core_rank();
  pthread_t th;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&th, &at, watch_main, NULL) == 0) g_watching = 1;
  pthread_attr_destroy(&at);
}

void dist_wait_begin(const char *what) {
  atomic_store(&g_wait_what, what);
  atomic_store(&g_wait_since, core_now());
}

void dist_wait_end(void) { atomic_store(&g_wait_since, 0.0); }

void dist_barrier(const char *what) {
  if (core_world() == 1) return;
  dist_wait_begin(what);
  MPI_Barrier(MPI_COMM_WORLD);
  dist_wait_end();
}

void dist_sum_floats(float *buf, int64_t n) {
  if (core_world() == 1) return;
  dist_wait_begin("a sum of floats");
  for (int64_t i = 0; i < n; i += INT_MAX / 2) {
    int k = (int)(n - i < INT_MAX / 2 ? n - i : INT_MAX / 2);
    MPI_Allreduce(MPI_IN_PLACE, buf + i, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  dist_wait_end();
}

void dist_sum_doubles(double *buf, int n) {
  if (core_world() == 1) return;
  dist_wait_begin("a sum of statistics");
  MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  dist_wait_end();
}

void dist_reducer_init(dist_reducer *r, float *grads, int64_t n, int64_t bucket_bytes) {
  memset(r, 0, sizeof *r);
  r->grads = grads;
  r->n = n;
  r->bucket = bucket_bytes / (int64_t)sizeof(float);
  if (r->bucket < 1) r->bucket = 1;
  if (r->bucket > INT_MAX / 2) r->bucket = INT_MAX / 2;
  r->nb = (int)((n + r->bucket - 1) / r->bucket);
  r->recv = xmalloc((size_t)n * sizeof(float));
  r->reqs = xcalloc((size_t)(r->nb > 0 ? r->nb : 1), sizeof(MPI_Request));
}

void dist_reducer_free(dist_reducer *r) {
  xfree(r->recv);
  xfree(r->reqs);
  r->recv = NULL;
  r->reqs = NULL;
}

void dist_reducer_begin(dist_reducer *r, int active) {
  r->active = active && core_world() > 1;
  r->started = 0;
  r->t0 = 0;
}

void dist_reducer_ready(dist_reducer *r, int64_t upto) {
  if (!r->active) return;
  MPI_Request *q = r->reqs;
  while (r->started < r->nb) {
    int64_t lo = (int64_t)r->started * r->bucket,
            hi = lo + r->bucket < r->n ? lo + r->bucket : r->n;
    if (hi > upto) break;
    if (r->started == 0) r->t0 = core_now();
    MPI_Iallreduce(r->grads + lo, r->recv + lo, (int)(hi - lo), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                   &q[r->started]);
    r->started++;
  }
}

void dist_reducer_poke(dist_reducer *r) {
  if (!r->active || r->started == 0) return;
  int flag;
  MPI_Testall(r->started, (MPI_Request *)r->reqs, &flag, MPI_STATUSES_IGNORE);
}

void dist_reducer_finish(dist_reducer *r) {
  if (!r->active) return;
  dist_reducer_ready(r, r->n);
  double t = core_now();
  dist_wait_begin("the gradient sum");
  MPI_Waitall(r->nb, (MPI_Request *)r->reqs, MPI_STATUSES_IGNORE);
  dist_wait_end();
  double e = core_now();
  r->wait_s = e - t;
  r->total_s = e - r->t0;
  memcpy(r->grads, r->recv, (size_t)r->n * sizeof(float));
}

/* dist: MPI reductions. */
#include "recur/dist.h"

#include <cblas.h>
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

void dist_blas_threads_default(void) {
  if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
}

void dist_sum_floats(float *buf, int64_t n) {
  if (core_world() == 1) return;
  for (int64_t i = 0; i < n; i += INT_MAX / 2) {
    int k = (int)(n - i < INT_MAX / 2 ? n - i : INT_MAX / 2);
    MPI_Allreduce(MPI_IN_PLACE, buf + i, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
}

void dist_sum_doubles(double *buf, int n) {
  if (core_world() == 1) return;
  MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
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
  MPI_Waitall(r->nb, (MPI_Request *)r->reqs, MPI_STATUSES_IGNORE);
  double e = core_now();
  r->wait_s = e - t;
  r->total_s = e - r->t0;
  memcpy(r->grads, r->recv, (size_t)r->n * sizeof(float));
}

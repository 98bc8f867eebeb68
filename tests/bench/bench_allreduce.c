/* The gradient reduction alone: dist_reducer (4 MiB buckets, non-blocking) over a buffer the
 * size of LSTM 2x512's gradients, repeated. Usage: mpirun -np N bench_allreduce [N_FLOATS] [REPS]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "recur/core.h"
#include "recur/dist.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int64_t n = argc > 1 ? atoll(argv[1]) : 3322497;
  int reps = argc > 2 ? atoi(argv[2]) : 20;
  float *g = xmalloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) g[i] = (float)(i % 13) * 0.01f;
  dist_reducer r;
  dist_reducer_init(&r, g, n, 4 << 20);
  double best = 1e9, sum = 0;
  for (int k = 0; k < reps + 2; k++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t = core_now();
    dist_reducer_begin(&r, 1);
    dist_reducer_ready(&r, n);
    dist_reducer_finish(&r);
    double dt = core_now() - t;
    MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (k >= 2) {
      sum += dt;
      best = dt < best ? dt : best;
    }
  }
  if (core_rank() == 0)
    printf("ranks %d: reduce %.1f MB of gradients: mean %.1f ms, best %.1f ms per step\n",
           core_world(), (double)n * 4 / 1e6, sum / reps * 1e3, best * 1e3);
  dist_reducer_free(&r);
  free(g);
  MPI_Finalize();
  return 0;
}

/* dist-impl: what the reducer (reducer.c) and the simulated build's sums (nbc.c) share. */
#ifndef RECUR_DIST_IMPL_H
#define RECUR_DIST_IMPL_H

#include <mpi.h>
#include <stdint.h>

#include "recur/core.h"

/* what a sum adds: floats, bytes OR-ed (a union of rows), bf16 values (--grad-sum bf16: each
 * addition in fp32, rounded to bf16, as a bf16 allreduce adds) */
enum sum_kind { SUM_F32, SUM_OR8, SUM_BF16 };

static inline void bf16_add(uint16_t *x, const uint16_t *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = bf16_round(bf16_float(x[i]) + bf16_float(y[i]));
}

static inline MPI_Datatype sum_type(int kind) {
  return kind == SUM_F32 ? MPI_FLOAT : kind == SUM_OR8 ? MPI_UNSIGNED_CHAR : MPI_UINT16_T;
}

#ifdef RECUR_SMPI
/* SimGrid 3.32's MPI_Iallreduce sends every rank's whole buffer to every other rank (O(N) bytes
 * per rank), which makes simulated sums N/2 times too slow at scale. So the simulated build sums
 * each bucket with a schedule of its own, chosen and shaped as Open MPI 4.1's libnbc does for
 * MPI_Iallreduce (nbc_iallreduce.c; recur's sums are commutative and not in place):
 *   - fewer than 4 ranks, or under 64 KiB: binomial (a tree's sums to rank 0, then its broadcast);
 *   - else, with at least as many floats as the largest power of two <= N (p'): Rabenseifner's
 *     (the ranks past p' folded into their neighbours by halves, then a reduce-scatter by vector
 *     halving and distance doubling, an allgather the other way, the folded ranks sent the result):
 *     2 log2 p' steps, each rank sending about twice the bucket in all;
 *   - else a ring (a reduce-scatter and an allgather, 2(N-1) steps of 1/N of the bucket).
 * OMPI_MCA_coll_libnbc_iallreduce_algorithm (1 ring, 2 binomial, 3 rabenseifner), the variable
 * `mpirun --mca coll_libnbc_iallreduce_algorithm K` sets, chooses as it does in Open MPI.
 * A schedule is steps (post a send and/or a receive, wait for both, add what came); it is advanced
 * where Open MPI's are (the backward's pokes, the wait at the end), so the sums overlap the
 * backward as they do on a real cluster. */
typedef struct {
  int to, from;   /* peers (-1: no send / no receive) */
  int add;        /* the receive is added to x (through tmp), else it lands in x */
  int64_t so, sn; /* the elements sent: x[so, so + sn) */
  int64_t ro, rn; /* the elements received: x[ro, ro + rn) */
} sum_step;

typedef struct {
  unsigned char *x, *tmp; /* the bucket's sum in the making; a part received, to add */
  int64_t n, cap;         /* elements: the bucket's; bytes: tmp's */
  int tmp_own;            /* tmp is this rank's alone (a union's bits), not folded (core.h) */
  int kind;               /* enum sum_kind */
  sum_step *st;           /* (ns) the schedule */
  int ns, scap, at, tag;  /* steps, their room, the step in flight (ns: done) */
  MPI_Request rq[2];
} nbc;

/* start the sum (enum sum_kind) of n elements of src into x: every rank's x ends with it */
void nbc_start(nbc *g, void *x, const void *src, int64_t n, int tag, int kind);
/* as far as the messages that arrived take it; returns whether it moved */
int nbc_advance(nbc *g);
/* the schedules to their end (every one, or until g[until] ends), all progressing together */
void nbcs_wait(nbc *g, int n, int until);
#endif

#endif

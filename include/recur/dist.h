/* dist: MPI helpers for data parallelism: sums across ranks of the gradient buffer (bucketed,
 * non-blocking, overlapped with backward) and of small statistics. */
#ifndef RECUR_DIST_H
#define RECUR_DIST_H

#include <stdint.h>

/* In-place sums across all ranks. */
void dist_sum_doubles(double *buf, int n);

/* The watchdog. dist_watch_start(s) (s > 0, more than one rank) starts a thread that ends the
 * process with a one-line error when a wait on the other ranks, marked by dist_wait_begin(what)
 * and dist_wait_end(), lasts s seconds: a blocked collective after a host or the network died.
 * Every wait in this module is marked; callers mark their own collectives. */
void dist_watch_start(double seconds);
/* Every command under mpirun starts the watchdog at DIST_TIMEOUT_DEFAULT seconds (main.c); a
 * command's --comm-timeout sets another limit (0: off). */
void dist_watch_set(double seconds);
#define DIST_TIMEOUT_DEFAULT "1800"
/* --comm-timeout in an opt_def table (opts.h) whose type has a double member */
#define DIST_TIMEOUT_OPT_DEF(type, member, flags)                                                  \
  {                                                                                                \
    "--comm-timeout", NULL, OPT_REAL, OPT_FIELD(type, member), 0, 1e7, NULL, DIST_TIMEOUT_DEFAULT, \
        "S",                                                                                       \
        "end the job when a rank waits S seconds for the others: a host or the network is gone "   \
        "(0 = wait forever)",                                                                      \
        flags                                                                                      \
  }
/* a collective marked as a wait: DIST_WAIT("the vocabulary's counts", MPI_Allreduce(...)) */
#define DIST_WAIT(what, call) (dist_wait_begin(what), (void)(call), dist_wait_end())
void dist_wait_begin(const char *what); /* what: a static string naming the wait */
void dist_wait_end(void);
/* MPI_Barrier on the world, marked as a wait. */
void dist_barrier(const char *what);
/* rank 0's v, on every rank (marked as a wait) */
int dist_bcast_int(int v, const char *what);

/* Bucketed gradient reduction. The gradient buffer is cut into buckets of about bucket_bytes;
 * dist_reducer_ready(r, upto) says that grads[0, upto) is final (backward finishes the buffer
 * front to back), which starts non-blocking sums of every bucket inside it. dist_reducer_poke
 * lets MPI progress them; dist_reducer_finish waits and copies the sums into grads.
 *
 * Sparse segments (dist_reducer_sparse, before the first begin): a tensor of `rows` rows of
 * `width` whose gradient is zero outside the rows marked in `marks` (one byte per row), marked
 * before the backward begins (the forward's inputs). At the first ready (or finish) the ranks
 * start OR-ing their marks (one bit per row, non-blocking, while the backward goes on); at finish,
 * when the rows any rank marked are fewer in bytes than the dense tensor, they sum only those
 * rows, gathered into one buffer (non-blocking, with the buckets still in flight); otherwise the
 * tensor densely. The choice is the same on every rank (it depends on the union). finish leaves
 * in the marks the rows that may now be non-zero on this rank (the union; every row after a dense
 * sum); their owner clears them. sparse = 0 (--sparse-reduce off) always sums densely: the
 * reference. */
#define DIST_MAX_SPARSE 16
typedef struct {
  int64_t offset, rows, width;
  unsigned char *marks;
} dist_sparse;

typedef struct {
  float *grads;      /* the model's gradient buffer */
  float *recv;       /* (n) receive buffer */
  int64_t n, bucket; /* elements, elements per bucket */
  int nb, started;   /* buckets, buckets started */
  int64_t *lo, *hi;  /* (nb) each bucket's range: the buffer outside sparse segments */
  void *reqs;        /* MPI_Request[nb + 2 nsp]: the buckets', each segment's union and rows */
  int active;        /* reductions happen only when world > 1 and active */
  int sparse_on;     /* sum sparse segments by their rows when that is smaller */
  int sum_bf16;      /* sums cross the network in bf16 (--grad-sum bf16; before the first begin) */
  uint16_t *send16, *recv16; /* (n) the gradients in bf16, their sums (sum_bf16) */
  int want_union; /* leave the exact union in the marks after a dense sum too (one bit per
                     row more to send) */
  dist_sparse sp[DIST_MAX_SPARSE];
  int nsp;
  unsigned char *bits;                   /* each segment's marks as bits, then their unions */
  unsigned char *ubits[DIST_MAX_SPARSE]; /* each segment's union of rows (bits) */
  int64_t nbits_all;                     /* bytes of bits over the segments */
  int unions;                            /* the unions were started this step */
  int rows_started;                      /* the rows' sums were started this step */
  int64_t nrows[DIST_MAX_SPARSE];        /* rows of the union summed (-1: the segment densely) */
  float *rows_at[DIST_MAX_SPARSE];       /* each segment's gathered rows in rowbuf */
  float *rowbuf;                         /* the union's rows gathered, then their sums */
  int64_t rowcap;
  int64_t rows_all;    /* floats of rows gathered this step: their sums follow them in rowbuf */
  double bytes;        /* bytes this rank sent into sums at the last finish (0 when inactive) */
  double wait_s;       /* time spent blocked in finish (not hidden), of which: */
  double wait_union_s; /* the sparse segments' unions and the gathering of their rows */
  double wait_rows_s;  /* the union's rows, after every dense bucket had ended */
  double total_s;      /* from first start to finish */
  double t0;
} dist_reducer;

void dist_reducer_init(dist_reducer *r, float *grads, int64_t n, int64_t bucket_bytes);
void dist_reducer_sparse(dist_reducer *r, int64_t offset, int64_t rows, int64_t width,
                         unsigned char *marks);
void dist_reducer_free(dist_reducer *r);
void dist_reducer_begin(dist_reducer *r,
                        int active); /* before the backward whose result is final */
void dist_reducer_ready(dist_reducer *r, int64_t upto);
/* the sparse segments' rows are final (before the rest of the buffer is): their union's rows
 * start summing now instead of at finish */
void dist_reducer_rows_ready(dist_reducer *r);
void dist_reducer_poke(dist_reducer *r);
void dist_reducer_finish(dist_reducer *r);

#endif

/* dist: MPI reductions and the watchdog. */
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

void dist_reducer_init(dist_reducer *r, float *grads, int64_t n, int64_t bucket_bytes) {
  memset(r, 0, sizeof *r);
  r->grads = grads;
  r->n = n;
  r->bucket = bucket_bytes / (int64_t)sizeof(float);
  if (r->bucket < 1) r->bucket = 1;
  if (r->bucket > INT_MAX / 2) r->bucket = INT_MAX / 2;
  r->sparse_on = 1;
  r->nb = -1; /* planned at the first begin, when the sparse segments are known */
  r->recv = xmalloc((size_t)(n > 0 ? n : 1) * sizeof(float));
}

/* what a sum adds: floats, bytes OR-ed (a union of rows), bf16 values (--grad-sum bf16: each
 * addition in fp32, rounded to bf16, as a bf16 allreduce adds) */
enum sum_kind { SUM_F32, SUM_OR8, SUM_BF16 };

static void bf16_add(uint16_t *x, const uint16_t *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = bf16_round(bf16_float(x[i]) + bf16_float(y[i]));
}

#ifndef RECUR_SMPI
static void bf16_sum_op(void *in, void *inout, int *len, MPI_Datatype *type) {
  (void)type;
  bf16_add(inout, in, *len);
}
#endif

static MPI_Datatype sum_type(int kind) {
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
static const size_t sum_size[] = {sizeof(float), 1, sizeof(uint16_t)};

typedef struct {
  int to, from;   /* peers (-1: no send / no receive) */
  int add;        /* the receive is added to x (through tmp), else it lands in x */
  int64_t so, sn; /* the elements sent: x[so, so + sn) */
  int64_t ro, rn; /* the elements received: x[ro, ro + rn) */
} sum_step;

typedef struct {
  unsigned char *x, *tmp; /* the bucket's sum in the making; a part received, to add */
  int64_t n, cap;         /* elements: the bucket's; bytes: tmp's */
  int kind;               /* enum sum_kind */
  sum_step *st;           /* (ns) the schedule */
  int ns, scap, at, tag;  /* steps, their room, the step in flight (ns: done) */
  MPI_Request rq[2];
} nbc;

enum { NBC_AUTO, NBC_RING, NBC_BINOMIAL, NBC_RABENSEIFNER };

static void nbc_add(nbc *g, int to, int64_t so, int64_t sn, int from, int64_t ro, int64_t rn,
                    int add) {
  if (g->ns == g->scap) {
    g->scap = g->scap ? 2 * g->scap : 16;
    g->st = xrealloc(g->st, (size_t)g->scap * sizeof(sum_step));
  }
  g->st[g->ns++] = (sum_step){to, from, add, so, sn, ro, rn};
}

/* the ring's k-th part of n floats: the first n % N parts one longer */
static int64_t chunk_at(int64_t n, int N, int k) { return k * (n / N) + (k < n % N ? k : n % N); }

static void plan_ring(nbc *g, int N, int r) {
  const int64_t n = g->n;
  for (int s = 0; s < 2 * (N - 1); s++) {
    const int send = ((r + 1 - s) % N + 2 * N) % N, recv = ((r - s) % N + 2 * N) % N;
    const int64_t rl = chunk_at(n, N, recv), sl = chunk_at(n, N, send);
    nbc_add(g, (r + 1) % N, sl, chunk_at(n, N, send + 1) - sl, (r + N - 1) % N, rl,
            chunk_at(n, N, recv + 1) - rl, s < N - 1);
  }
}

static void plan_binomial(nbc *g, int N, int r) {
  int maxr = 0;
  while ((1 << maxr) < N) maxr++;
  for (int k = 1; k <= maxr; k++) { /* the sums up the tree to rank 0 */
    const int h = 1 << (k - 1);
    if (r % (1 << k)) {
      nbc_add(g, r - h, 0, g->n, -1, 0, 0, 0);
      break;
    }
    if (r + h < N) nbc_add(g, -1, 0, 0, r + h, 0, g->n, 1);
  }
  for (int k = 0; k < maxr; k++) /* the broadcast down */
    if (r >= (1 << k) && r < (1 << (k + 1))) nbc_add(g, -1, 0, 0, r - (1 << k), 0, g->n, 0);
  for (int k = 0; k < maxr; k++)
    if (r < (1 << k) && r + (1 << k) < N) nbc_add(g, r + (1 << k), 0, g->n, -1, 0, 0, 0);
}

static void plan_rabenseifner(nbc *g, int N, int r) {
  int p2 = 1, steps = 0;
  while (2 * p2 <= N) p2 *= 2, steps++;
  const int rem = N - p2;
  const int64_t lh = g->n / 2, rh = g->n - lh;
  int v = r - rem;
  if (r < 2 * rem) { /* fold the ranks past p' into their left neighbours */
    if (r % 2) {
      nbc_add(g, r - 1, 0, lh, r - 1, lh, rh, 1);
      nbc_add(g, r - 1, lh, rh, -1, 0, 0, 0);
      nbc_add(g, -1, 0, 0, r - 1, 0, g->n, 0); /* the result, at the end */
      return;
    }
    nbc_add(g, r + 1, lh, rh, r + 1, 0, lh, 1);
    nbc_add(g, -1, 0, 0, r + 1, lh, rh, 0);
    v = r / 2;
  }
  int64_t klo[32], kn[32], slo[32], sn[32], wlo = 0, wn = g->n;
  int peer[32];
  for (int k = 0; k < steps; k++) { /* reduce-scatter: halve the window, double the distance */
    const int vd = v ^ (1 << k);
    peer[k] = vd < rem ? 2 * vd : vd + rem;
    const int64_t half = wn / 2;
    if (r < peer[k]) /* keep the left half */
      klo[k] = wlo, kn[k] = half, slo[k] = wlo + half, sn[k] = wn - half;
    else
      slo[k] = wlo, sn[k] = half, klo[k] = wlo + half, kn[k] = wn - half;
    nbc_add(g, peer[k], slo[k], sn[k], peer[k], klo[k], kn[k], 1);
    wlo = klo[k], wn = kn[k];
  }
  for (int k = steps - 1; k >= 0; k--) /* allgather: the same exchanges backwards */
    nbc_add(g, peer[k], klo[k], kn[k], peer[k], slo[k], sn[k], 0);
  if (r < 2 * rem) nbc_add(g, r + 1, 0, g->n, -1, 0, 0, 0);
}

static int nbc_algorithm(int64_t n, int64_t bytes, int N) {
  static int forced = -1;
  if (forced < 0) {
    const char *e = getenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm");
    forced = e ? atoi(e) : NBC_AUTO;
  }
  int p2 = 1;
  while (2 * p2 <= N) p2 *= 2;
  if (forced == NBC_RING || forced == NBC_BINOMIAL) return forced;
  if (forced == NBC_RABENSEIFNER) return n >= p2 ? NBC_RABENSEIFNER : NBC_RING;
  if (N < 4 || bytes < 65536) return NBC_BINOMIAL;
  return n >= p2 ? NBC_RABENSEIFNER : NBC_RING;
}

/* post the step in flight */
static void nbc_post(nbc *g) {
  const sum_step *s = &g->st[g->at];
  const size_t es = sum_size[g->kind];
  const MPI_Datatype dt = sum_type(g->kind);
  g->rq[0] = g->rq[1] = MPI_REQUEST_NULL;
  if (s->from >= 0)
    MPI_Irecv(s->add ? g->tmp : g->x + s->ro * es, (int)s->rn, dt, s->from, g->tag, core_comm(),
              &g->rq[0]);
  if (s->to >= 0)
    MPI_Isend(g->x + s->so * es, (int)s->sn, dt, s->to, g->tag, core_comm(), &g->rq[1]);
}

/* start the sum (enum sum_kind) of n elements of src into x: every rank's x ends with it */
static void nbc_start(nbc *g, void *x, const void *src, int64_t n, int tag, int kind) {
  const int N = core_world(), r = core_rank();
  const size_t es = sum_size[kind];
  memcpy(x, src, (size_t)n * es);
  g->x = x, g->n = n, g->tag = tag, g->kind = kind, g->ns = g->at = 0;
  switch (nbc_algorithm(n, n * (int64_t)es, N)) {
  case NBC_BINOMIAL: plan_binomial(g, N, r); break;
  case NBC_RABENSEIFNER: plan_rabenseifner(g, N, r); break;
  default: plan_ring(g, N, r);
  }
  int64_t need = 1;
  for (int k = 0; k < g->ns; k++)
    if (g->st[k].add && g->st[k].rn * (int64_t)es > need) need = g->st[k].rn * (int64_t)es;
  if (g->cap < need) {
    xfree(g->tmp);
    g->tmp = xmalloc((size_t)need);
    g->cap = need;
  }
  if (g->ns > 0) nbc_post(g);
}

/* the step in flight finished: what came added, the next step posted */
static void nbc_next(nbc *g) {
  const sum_step *s = &g->st[g->at];
  if (s->from >= 0 && s->add) {
    if (g->kind == SUM_OR8)
      for (int64_t i = 0; i < s->rn; i++) g->x[s->ro + i] |= g->tmp[i];
    else if (g->kind == SUM_BF16)
      bf16_add((uint16_t *)g->x + s->ro, (const uint16_t *)g->tmp, s->rn);
    else {
      float *x = (float *)g->x + s->ro;
      const float *t = (const float *)g->tmp;
      for (int64_t i = 0; i < s->rn; i++) x[i] += t[i];
    }
  }
  if (++g->at < g->ns) nbc_post(g);
}

/* as far as the messages that arrived take it; returns whether it moved */
static int nbc_advance(nbc *g) {
  int moved = 0;
  while (g->at < g->ns) {
    int done = 1;
    MPI_Testall(2, g->rq, &done, MPI_STATUSES_IGNORE);
    if (!done) return moved;
    nbc_next(g);
    moved = 1;
  }
  return moved;
}

/* the schedules to their end (every one, or until g[until] ends), all progressing together as
 * Open MPI's progress engine advances every libnbc schedule in any wait: when none can move,
 * wait for any of their messages */
static void nbcs_wait(nbc *g, int n, int until) {
  MPI_Request *any = xmalloc((size_t)(2 * (n > 0 ? n : 1)) * sizeof(MPI_Request));
  int *owner = xmalloc((size_t)(2 * (n > 0 ? n : 1)) * sizeof(int));
  for (;;) {
    int open = 0, moved = 0;
    for (int b = 0; b < n; b++) {
      moved |= nbc_advance(&g[b]);
      if (g[b].at < g[b].ns)
        for (int k = 0; k < 2; k++)
          if (g[b].rq[k] != MPI_REQUEST_NULL) owner[open] = 2 * b + k, any[open++] = g[b].rq[k];
    }
    if (open == 0 || (until >= 0 && g[until].at >= g[until].ns)) break;
    if (!moved) { /* a copy of the handles: the schedule's own are completed by its next test */
      int idx;
      MPI_Waitany(open, any, &idx, MPI_STATUS_IGNORE);
      if (idx != MPI_UNDEFINED) g[owner[idx] / 2].rq[owner[idx] % 2] = any[idx];
    }
  }
  xfree(owner);
  xfree(any);
}
#endif

void dist_reducer_sparse(dist_reducer *r, int64_t offset, int64_t rows, int64_t width,
                         unsigned char *marks) {
  RECUR_ASSERT(r->nb < 0 && r->nsp < DIST_MAX_SPARSE && offset >= 0 &&
               offset + rows * width <= r->n);
  r->sp[r->nsp++] = (dist_sparse){offset, rows, width, marks};
}

/* buckets over [0, n) outside the sparse segments, front to back */
static void reducer_plan(dist_reducer *r) {
  int cap = 16;
  r->lo = xmalloc((size_t)cap * sizeof(int64_t));
  r->hi = xmalloc((size_t)cap * sizeof(int64_t));
  r->nb = 0;
  int64_t at = 0;
  for (int k = 0; k <= r->nsp; k++) {
    int64_t end = r->n, next = r->n;
    for (int j = 0; j < r->nsp; j++) /* the nearest segment at or after `at` */
      if (r->sp[j].offset >= at && r->sp[j].offset < end) {
        end = r->sp[j].offset;
        next = end + r->sp[j].rows * r->sp[j].width;
      }
    for (int64_t lo = at; lo < end; lo += r->bucket) {
      if (r->nb == cap) {
        cap *= 2;
        r->lo = xrealloc(r->lo, (size_t)cap * sizeof(int64_t));
        r->hi = xrealloc(r->hi, (size_t)cap * sizeof(int64_t));
      }
      r->lo[r->nb] = lo;
      r->hi[r->nb++] = lo + r->bucket < end ? lo + r->bucket : end;
    }
    at = next;
  }
  /* requests: the buckets', then each sparse segment's union and rows */
  const int nq = r->nb + 2 * r->nsp;
#ifdef RECUR_SMPI
  r->reqs = xcalloc((size_t)(nq > 0 ? nq : 1), sizeof(nbc));
#else
  r->reqs = xmalloc((size_t)(nq > 0 ? nq : 1) * sizeof(MPI_Request));
  for (int k = 0; k < nq; k++) ((MPI_Request *)r->reqs)[k] = MPI_REQUEST_NULL;
#endif
  int64_t nbits = 0;
  for (int k = 0; k < r->nsp; k++) nbits += (r->sp[k].rows + 7) / 8;
  if (r->sum_bf16) {
    r->send16 = xmalloc((size_t)(r->n > 0 ? r->n : 1) * sizeof(uint16_t));
    r->recv16 = xmalloc((size_t)(r->n > 0 ? r->n : 1) * sizeof(uint16_t));
  }
  r->nbits_all = nbits;
  r->bits = xcalloc((size_t)(2 * nbits > 0 ? 2 * nbits : 1), 1);
}

void dist_reducer_free(dist_reducer *r) {
#ifdef RECUR_SMPI
  for (int b = 0; r->reqs && b < r->nb + 2 * r->nsp; b++) {
    xfree(((nbc *)r->reqs)[b].tmp);
    xfree(((nbc *)r->reqs)[b].st);
  }
#endif
  xfree(r->recv);
  xfree(r->reqs);
  xfree(r->lo);
  xfree(r->hi);
  xfree(r->bits);
  xfree(r->rowbuf);
  xfree(r->send16);
  xfree(r->recv16);
  r->send16 = r->recv16 = NULL;
  r->recv = r->rowbuf = NULL;
  r->reqs = NULL;
  r->lo = r->hi = NULL;
  r->bits = NULL;
}

/* request k: a non-blocking sum (enum sum_kind) of n elements from send into recv */
static void reducer_isum(dist_reducer *r, int k, const void *send, void *recv, int64_t n,
                         int kind) {
#ifdef RECUR_SMPI
  nbc_start((nbc *)r->reqs + k, recv, send, n, k % 32768, kind);
#else
  static MPI_Op bf16_sum = MPI_OP_NULL;
  if (kind == SUM_BF16 && bf16_sum == MPI_OP_NULL) MPI_Op_create(bf16_sum_op, 1, &bf16_sum);
  MPI_Iallreduce(send, recv, (int)n, sum_type(kind),
                 kind == SUM_OR8    ? MPI_BOR
                 : kind == SUM_BF16 ? bf16_sum
                                    : MPI_SUM,
                 core_comm(), (MPI_Request *)r->reqs + k);
#endif
}

/* until request k ends (k < 0: every request), the others progressing meanwhile */
static void reducer_wait(dist_reducer *r, int k) {
  const int nq = r->nb + 2 * r->nsp;
#ifdef RECUR_SMPI
  nbcs_wait((nbc *)r->reqs, nq, k);
#else
  if (k >= 0)
    MPI_Wait((MPI_Request *)r->reqs + k, MPI_STATUS_IGNORE);
  else
    MPI_Waitall(nq, (MPI_Request *)r->reqs, MPI_STATUSES_IGNORE);
#endif
}

void dist_reducer_begin(dist_reducer *r, int active) {
  if (r->nb < 0) reducer_plan(r);
  r->active = active && core_world() > 1;
  r->started = 0;
  r->unions = 0;
  r->bytes = 0;
  r->t0 = 0;
}

/* each sparse segment's union of rows: its marks (final once the backward began: the forward
 * marked its inputs) as bits, OR-ed over the ranks while the backward goes on */
static void reducer_start_unions(dist_reducer *r) {
  if (!(r->sparse_on || r->want_union) || r->unions) return;
  r->unions = 1;
  unsigned char *mine = r->bits;
  for (int k = 0; k < r->nsp; k++) {
    const dist_sparse *s = &r->sp[k];
    const int64_t nbits = (s->rows + 7) / 8;
    memset(mine, 0, (size_t)nbits);
    for (int64_t i = 0; i < s->rows; i++)
      if (s->marks[i]) mine[i >> 3] |= (unsigned char)(1u << (i & 7));
    r->ubits[k] = mine + r->nbits_all;
    reducer_isum(r, r->nb + 2 * k, mine, r->ubits[k], nbits, SUM_OR8);
    r->bytes += (double)nbits;
    mine += nbits;
  }
}

/* start the sums of the buckets below upto */
static void reducer_start(dist_reducer *r, int64_t upto) {
  if (!r->active) return;
  reducer_start_unions(r);
  while (r->started < r->nb && r->hi[r->started] <= upto) {
    int64_t lo = r->lo[r->started], hi = r->hi[r->started];
    if (r->started == 0) r->t0 = core_now();
    if (r->sum_bf16) {
      core_to_bf16(r->send16 + lo, r->grads + lo, hi - lo);
      reducer_isum(r, r->started, r->send16 + lo, r->recv16 + lo, hi - lo, SUM_BF16);
    } else
      reducer_isum(r, r->started, r->grads + lo, r->recv + lo, hi - lo, SUM_F32);
    r->bytes += (double)(hi - lo) * (r->sum_bf16 ? sizeof(uint16_t) : sizeof(float));
    r->started++;
  }
}

void dist_reducer_ready(dist_reducer *r, int64_t upto) { reducer_start(r, upto); }

void dist_reducer_poke(dist_reducer *r) {
  if (!r->active || r->started == 0) return;
#ifdef RECUR_SMPI
  for (int b = 0; b < r->nb + 2 * r->nsp; b++) nbc_advance((nbc *)r->reqs + b);
#else
  int flag;
  MPI_Testall(r->nb + 2 * r->nsp, (MPI_Request *)r->reqs, &flag, MPI_STATUSES_IGNORE);
#endif
}

static int64_t union_rows(const unsigned char *bits, int64_t nbits) {
  int64_t k = 0;
  for (int64_t i = 0; i < nbits; i++) k += __builtin_popcount(bits[i]);
  return k;
}

static void bits_to_marks(const unsigned char *bits, const dist_sparse *s) {
  for (int64_t i = 0; i < s->rows; i++) s->marks[i] = (unsigned char)(bits[i >> 3] >> (i & 7) & 1);
}

/* the sparse segments' sums, once their unions are known: the rows any rank marked, gathered and
 * summed (non-blocking, with the buckets still in flight) where they are fewer in bytes than the
 * segment, else the segment densely */
static void reduce_sparse_start(dist_reducer *r) {
  int64_t need = 0;
  for (int k = 0; k < r->nsp; k++) {
    const dist_sparse *s = &r->sp[k];
    r->nrows[k] = -1; /* dense */
    if (!(r->sparse_on || r->want_union)) continue;
    reducer_wait(r, r->nb + 2 * k);
    const int64_t u = union_rows(r->ubits[k], (s->rows + 7) / 8);
    if (r->sparse_on && u * s->width < s->rows * s->width && u * s->width <= INT_MAX / 2)
      r->nrows[k] = u, need += u * s->width;
  }
  if (2 * need > r->rowcap) {
    r->rowcap = 2 * need;
    r->rowbuf = xrealloc(r->rowbuf, (size_t)r->rowcap * sizeof(float));
  }
  float *at = r->rowbuf;
  for (int k = 0; k < r->nsp; k++) {
    const dist_sparse *s = &r->sp[k];
    const float *g = r->grads + s->offset;
    if (r->nrows[k] < 0) { /* dense, blocking (the other sums progress in it as it waits) */
      const int64_t dense = s->rows * s->width;
      for (int64_t i = 0; i < dense; i += INT_MAX / 2) {
        int c = (int)(dense - i < INT_MAX / 2 ? dense - i : INT_MAX / 2);
        MPI_Allreduce(MPI_IN_PLACE, r->grads + s->offset + i, c, MPI_FLOAT, MPI_SUM, core_comm());
      }
      r->bytes += (double)dense * sizeof(float);
      continue;
    }
    const int64_t n = r->nrows[k] * s->width;
    int64_t j = 0;
    for (int64_t i = 0; i < s->rows; i++)
      if (r->ubits[k][i >> 3] >> (i & 7) & 1)
        memcpy(at + j++ * s->width, g + i * s->width, (size_t)s->width * sizeof(float));
    r->rows_at[k] = at;
    if (n > 0 && r->sum_bf16) { /* in the segment's room of the bf16 buffers */
      core_to_bf16(r->send16 + s->offset, at, n);
      reducer_isum(r, r->nb + 2 * k + 1, r->send16 + s->offset, r->recv16 + s->offset, n, SUM_BF16);
    } else if (n > 0)
      reducer_isum(r, r->nb + 2 * k + 1, at, at + need, n, SUM_F32);
    r->bytes += (double)n * (r->sum_bf16 ? sizeof(uint16_t) : sizeof(float));
    at += n;
  }
}

/* the summed rows back into the gradients; the marks left as dist_reducer_finish says */
static void reduce_sparse_end(dist_reducer *r) {
  int64_t need = 0;
  for (int k = 0; k < r->nsp; k++) need += r->nrows[k] > 0 ? r->nrows[k] * r->sp[k].width : 0;
  for (int k = 0; k < r->nsp; k++) {
    const dist_sparse *s = &r->sp[k];
    if (r->nrows[k] >= 0) {
      float *sum = r->rows_at[k] + need;
      if (r->sum_bf16) core_from_bf16(sum, r->recv16 + s->offset, r->nrows[k] * s->width);
      float *g = r->grads + s->offset;
      int64_t j = 0;
      for (int64_t i = 0; i < s->rows; i++)
        if (r->ubits[k][i >> 3] >> (i & 7) & 1)
          memcpy(g + i * s->width, sum + j++ * s->width, (size_t)s->width * sizeof(float));
      bits_to_marks(r->ubits[k], s); /* the rows now non-zero here: the union */
    } else if (r->want_union)        /* the rows some rank used (the others are zero: 0 + 0) */
      bits_to_marks(r->ubits[k], s);
    else
      memset(s->marks, 1, (size_t)s->rows); /* any row may be non-zero now */
  }
}

void dist_reducer_finish(dist_reducer *r) {
  if (r->active) {
    reducer_start(r, r->n);
    double t = core_now();
    dist_wait_begin("the gradient sum");
    reduce_sparse_start(r);
    reducer_wait(r, -1);
    reduce_sparse_end(r);
    dist_wait_end();
    double e = core_now();
    r->wait_s = e - t;
    r->total_s = e - (r->t0 > 0 ? r->t0 : t);
    for (int b = 0; b < r->nb; b++)
      if (r->sum_bf16)
        core_from_bf16(r->grads + r->lo[b], r->recv16 + r->lo[b], r->hi[b] - r->lo[b]);
      else
        memcpy(r->grads + r->lo[b], r->recv + r->lo[b],
               (size_t)(r->hi[b] - r->lo[b]) * sizeof(float));
  }
}

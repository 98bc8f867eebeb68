/* nbc: the simulated build's gradient sums (RECUR_SMPI), Open MPI 4.1's libnbc schedules. */
#include "dist-impl.h"

#ifdef RECUR_SMPI
#include <stdlib.h>
#include <string.h>

static const size_t sum_size[] = {sizeof(float), 1, sizeof(uint16_t)};

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
void nbc_start(nbc *g, void *x, const void *src, int64_t n, int tag, int kind) {
  const int N = core_world(), r = core_rank();
  const size_t es = sum_size[kind];
  const int values = kind == SUM_OR8 || !core_folded(); /* (a folded replay's mean nothing) */
  if (values) memcpy(x, src, (size_t)n * es);
  g->x = x, g->n = n, g->tag = tag, g->kind = kind, g->ns = g->at = 0;
  switch (nbc_algorithm(n, n * (int64_t)es, N)) {
  case NBC_BINOMIAL: plan_binomial(g, N, r); break;
  case NBC_RABENSEIFNER: plan_rabenseifner(g, N, r); break;
  default: plan_ring(g, N, r);
  }
  int64_t need = 1;
  for (int k = 0; k < g->ns; k++)
    if (g->st[k].add && g->st[k].rn * (int64_t)es > need) need = g->st[k].rn * (int64_t)es;
  const int own = kind == SUM_OR8; /* the union's bits decide what is sent: never folded */
  if (g->cap < need || g->tmp_own != own) {
    xfree(g->tmp);
    g->tmp = own ? xmalloc((size_t)need) : xcalloc_fold((size_t)need, 1);
    g->cap = need;
    g->tmp_own = own;
  }
  if (g->ns > 0) nbc_post(g);
}

/* the step in flight finished: what came added, the next step posted */
static void nbc_next(nbc *g) {
  const sum_step *s = &g->st[g->at];
  if (s->from >= 0 && s->add && (g->kind == SUM_OR8 || !core_folded())) {
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
int nbc_advance(nbc *g) {
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
void nbcs_wait(nbc *g, int n, int until) {
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

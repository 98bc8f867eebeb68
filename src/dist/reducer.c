/* reducer: the bucketed, overlapped gradient sums and the sparse segments' unions. */
#include "recur/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "dist-impl.h"
#include "recur/core.h"

void dist_reducer_init(dist_reducer *r, float *grads, int64_t n, int64_t bucket_bytes) {
  memset(r, 0, sizeof *r);
  r->grads = grads;
  r->n = n;
  r->bucket = bucket_bytes / (int64_t)sizeof(float);
  if (r->bucket < 1) r->bucket = 1;
  if (r->bucket > INT_MAX / 2) r->bucket = INT_MAX / 2;
  r->sparse_on = 1;
  r->nb = -1; /* planned at the first begin, when the sparse segments are known */
  r->recv = xcalloc_fold((size_t)(n > 0 ? n : 1), sizeof(float));
}

#ifndef RECUR_SMPI
static void bf16_sum_op(void *in, void *inout, int *len, MPI_Datatype *type) {
  (void)type;
  bf16_add(inout, in, *len);
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
    r->send16 = xcalloc_fold((size_t)(r->n > 0 ? r->n : 1), sizeof(uint16_t));
    r->recv16 = xcalloc_fold((size_t)(r->n > 0 ? r->n : 1), sizeof(uint16_t));
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
  r->rows_started = 0;
  r->wait_union_s = 0;
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
      if (!core_folded()) core_to_bf16(r->send16 + lo, r->grads + lo, hi - lo);
      reducer_isum(r, r->started, r->send16 + lo, r->recv16 + lo, hi - lo, SUM_BF16);
    } else
      reducer_isum(r, r->started, r->grads + lo, r->recv + lo, hi - lo, SUM_F32);
    r->bytes += (double)(hi - lo) * (r->sum_bf16 ? sizeof(uint16_t) : sizeof(float));
    r->started++;
  }
}

void dist_reducer_ready(dist_reducer *r, int64_t upto) { reducer_start(r, upto); }

static void reduce_sparse_start(dist_reducer *r);
void dist_reducer_rows_ready(dist_reducer *r) {
  if (!r->active || r->rows_started) return;
  double t = core_now();
  reducer_start_unions(r);
  dist_wait_begin("the union of the embedding's rows");
  reduce_sparse_start(r);
  dist_wait_end();
  r->rows_started = 1;
  r->wait_union_s = core_now() - t;
}

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
  r->rows_all = need;
  if (2 * need > r->rowcap) {
    r->rowcap = 2 * need;
    xfree(r->rowbuf); /* nothing in it is kept: the rows are gathered into it next */
    r->rowbuf = xcalloc_fold((size_t)r->rowcap, sizeof(float));
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
    for (int64_t i = 0; i < s->rows && !core_folded(); i++)
      if (r->ubits[k][i >> 3] >> (i & 7) & 1)
        memcpy(at + j++ * s->width, g + i * s->width, (size_t)s->width * sizeof(float));
    r->rows_at[k] = at;
    if (n > 0 && r->sum_bf16) { /* in the segment's room of the bf16 buffers */
      if (!core_folded()) core_to_bf16(r->send16 + s->offset, at, n);
      reducer_isum(r, r->nb + 2 * k + 1, r->send16 + s->offset, r->recv16 + s->offset, n, SUM_BF16);
    } else if (n > 0)
      reducer_isum(r, r->nb + 2 * k + 1, at, at + need, n, SUM_F32);
    r->bytes += (double)n * (r->sum_bf16 ? sizeof(uint16_t) : sizeof(float));
    at += n;
  }
}

/* the summed rows back into the gradients; the marks left as dist_reducer_finish says */
static void reduce_sparse_end(dist_reducer *r) {
  const int64_t need = r->rows_all;
  for (int k = 0; k < r->nsp; k++) {
    const dist_sparse *s = &r->sp[k];
    if (r->nrows[k] >= 0) {
      if (core_folded()) { /* a replay's: the values mean nothing */
        bits_to_marks(r->ubits[k], s);
        continue;
      }
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
    const double early = r->rows_started ? r->wait_union_s : 0;
    if (!r->rows_started) reduce_sparse_start(r);
    double tu = core_now();
    for (int b = 0; b < r->nb && r->nsp > 0; b++) reducer_wait(r, b); /* (all progress) */
    double td = core_now();
    reducer_wait(r, -1);
    reduce_sparse_end(r);
    dist_wait_end();
    double e = core_now();
    r->wait_s = e - t + early; /* with the union's wait in the backward (rows ready early) */
    r->wait_union_s = tu - t + early;
    r->wait_rows_s = r->nsp > 0 ? e - td : 0;
    r->total_s = e - (r->t0 > 0 ? r->t0 : t);
    for (int b = 0; b < r->nb && !core_folded(); b++)
      if (r->sum_bf16)
        core_from_bf16(r->grads + r->lo[b], r->recv16 + r->lo[b], r->hi[b] - r->lo[b]);
      else
        memcpy(r->grads + r->lo[b], r->recv + r->lo[b],
               (size_t)(r->hi[b] - r->lo[b]) * sizeof(float));
  }
}

/* schedule: the global batch schedule (see schedule.h). */
#include "recur/schedule.h"

#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

const char *const mode_names[MODE_COUNT + 1] = {"stream", "sequences", NULL};
const char *const shuffle_names[SHUFFLE_COUNT + 1] = {"pools", "global", NULL};

void schedule_init(schedule *sc, const dataset *ds, int split, enum train_mode mode,
                   enum shuffle_kind shuffle, int B, int T, int max_len, uint64_t seed) {
  memset(sc, 0, sizeof *sc);
  sc->mode = mode;
  sc->shuffle = shuffle;
  sc->B = B;
  sc->T = T;
  sc->max_len = max_len;
  sc->seed = seed;
  sc->split = split;
  sc->ds = ds;
  sc->order_epoch = -1;
  sc->order_pool = -1;
  const ds_split *sp = &ds->split[split];
  if (mode == MODE_STREAM) {
    sc->stream_len = sp->n_tok > 0 ? (sp->n_tok - 1) / (uint64_t)B : 0;
    sc->windows = (int64_t)(sc->stream_len / (uint64_t)T);
  } else {
    sc->steps_per_epoch = (int64_t)((sp->n_seq + (uint64_t)B - 1) / (uint64_t)B);
    const uint64_t n =
        shuffle == SHUFFLE_GLOBAL ? sp->n_seq : (uint64_t)SCHEDULE_POOL * (uint64_t)B;
    sc->order = xmalloc((n + 1) * sizeof(uint64_t));
  }
}

void schedule_free(schedule *sc) {
  xfree(sc->order);
  sc->order = NULL;
}

int64_t schedule_steps_per_epoch(const schedule *sc) {
  return sc->mode == MODE_STREAM ? sc->windows : sc->steps_per_epoch;
}

/* This epoch's order: a seeded shuffle, then length-sorted runs of 50 batches (length buckets),
 * cut into batches of B whose order is shuffled again. A pure function of (seed, epoch). */
static void build_order(schedule *sc, int64_t epoch) {
  const uint64_t n = sc->ds->split[sc->split].n_seq, B = (uint64_t)sc->B;
  uint64_t *o = sc->order;
  for (uint64_t i = 0; i < n; i++) o[i] = i;
  for (uint64_t i = n; i > 1; i--) {
    uint64_t j = rng_key(sc->seed, RNG_SHUFFLE, (uint64_t)epoch, i, 0) % i;
    uint64_t t = o[i - 1];
    o[i - 1] = o[j];
    o[j] = t;
  }
  const uint64_t mega = B * SCHEDULE_POOL;
  for (uint64_t s = 0; s < n; s += mega)
    dataset_sort_by_length(sc->ds, sc->split, o + s, n - s < mega ? n - s : mega);
  /* shuffle whole batches (the partial last batch stays last so all others are full) */
  uint64_t nfull = n / B;
  uint64_t *tmp = xmalloc((B > 0 ? B : 1) * sizeof(uint64_t));
  for (uint64_t i = nfull; i > 1; i--) {
    uint64_t j = rng_key(sc->seed, RNG_SHUFFLE, (uint64_t)epoch, i, 1) % i;
    memcpy(tmp, o + (i - 1) * B, B * sizeof(uint64_t));
    memcpy(o + (i - 1) * B, o + j * B, B * sizeof(uint64_t));
    memcpy(o + j * B, tmp, B * sizeof(uint64_t));
  }
  xfree(tmp);
  sc->order_epoch = epoch;
}

/* pools: pool p of the epoch into sc->order (sorted), its batches' order into sc->pool_perm
 * (schedule_items reads a batch through it: no copy of the pool). The epoch's pools
 * are SCHEDULE_POOL * B positions of the split under a keyed permutation, the full ones in a keyed
 * order, the partial one last; a pool is sorted longest first and its full batches shuffled (the
 * partial batch last). A pure function of (seed, epoch, p). */
static void build_pool(schedule *sc, int64_t epoch, int64_t p) {
  const uint64_t n = sc->ds->split[sc->split].n_seq, B = (uint64_t)sc->B;
  const uint64_t P = B * SCHEDULE_POOL, full = n / P;
  const uint64_t src =
      (uint64_t)p < full
          ? rng_permute(rng_key(sc->seed, RNG_SHUFFLE, (uint64_t)epoch, 0, 2), full, (uint64_t)p)
          : full;
  const uint64_t size = src < full ? P : n - full * P,
                 key = rng_key(sc->seed, RNG_SHUFFLE, (uint64_t)epoch, 0, 3);
  uint64_t *o = sc->order;
  for (uint64_t i = 0; i < size; i++) o[i] = rng_permute(key, n, src * P + i);
  dataset_sort_by_length(sc->ds, sc->split, o, size);
  uint64_t *perm = sc->pool_perm, nfull = size / B;
  for (uint64_t i = 0; i < nfull; i++) perm[i] = i;
  for (uint64_t i = nfull; i > 1; i--) {
    uint64_t j = rng_key(sc->seed, RNG_SHUFFLE, (uint64_t)epoch, src * SCHEDULE_POOL + i, 4) % i;
    uint64_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
  sc->pool_full = nfull;
  sc->order_epoch = epoch;
  sc->order_pool = p;
}

int schedule_items(schedule *sc, int64_t g, uint64_t *ids) {
  if (sc->mode == MODE_STREAM) {
    for (int i = 0; i < sc->B; i++) ids[i] = (uint64_t)i;
    return sc->B;
  }
  int64_t epoch = g / sc->steps_per_epoch, k = g % sc->steps_per_epoch;
  if (sc->shuffle == SHUFFLE_POOLS) {
    const int64_t p = k / SCHEDULE_POOL, kb = k % SCHEDULE_POOL;
    if (epoch != sc->order_epoch || p != sc->order_pool) build_pool(sc, epoch, p);
    const uint64_t n = sc->ds->split[sc->split].n_seq, B = (uint64_t)sc->B;
    const uint64_t start = (uint64_t)k * B, end = start + B < n ? start + B : n;
    const uint64_t *from =
        sc->order + ((uint64_t)kb < sc->pool_full ? sc->pool_perm[kb] : (uint64_t)kb) * B;
    for (uint64_t i = start; i < end; i++) ids[i - start] = from[i - start];
    return (int)(end - start);
  }
  if (epoch != sc->order_epoch) build_order(sc, epoch);
  uint64_t n = sc->ds->split[sc->split].n_seq, start = (uint64_t)k * (uint64_t)sc->B;
  int cnt = 0;
  for (uint64_t i = start; i < n && i < start + (uint64_t)sc->B; i++) ids[cnt++] = sc->order[i];
  return cnt;
}

int schedule_slot(int n, int k, int S, int *idx) {
  int c = 0;
  for (int i = k; i < n; i += S) idx[c++] = i;
  return c;
}

/* schedule: the global batch schedule (a pure function of seed and epoch, identical on every rank)
 * and each rank's slice of it. */
#ifndef RECUR_SCHEDULE_H
#define RECUR_SCHEDULE_H

#include <stdint.h>

#include "recur/dataset.h"

enum train_mode { MODE_STREAM, MODE_SEQUENCES, MODE_COUNT };
extern const char *const mode_names[MODE_COUNT + 1];
/* How sequences mode orders an epoch. pools: pools of SCHEDULE_POOL batches, each drawn by a keyed
 * permutation of the split (rng_permute), sorted by length and cut into batches shuffled within the
 * pool (torchtext's BucketIterator); memory does not grow with the corpus. global: the whole split
 * permuted in memory (8 bytes a sequence), length-sorted in runs of SCHEDULE_POOL batches whose
 * batches are then shuffled over the epoch: what runs made before --shuffle use. */
enum shuffle_kind { SHUFFLE_POOLS, SHUFFLE_GLOBAL, SHUFFLE_COUNT };
extern const char *const shuffle_names[SHUFFLE_COUNT + 1];
#define SCHEDULE_POOL 50 /* batches a pool (a length-sorted run) */

typedef struct {
  enum train_mode mode;
  int B;       /* global batch: streams or sequences per optimizer step */
  int T;       /* stream: window length */
  int max_len; /* sequences: longer ones are cut */
  uint64_t seed;
  int split;
  const dataset *ds;
  /* stream mode */
  uint64_t stream_len; /* tokens per stream */
  int64_t windows;     /* windows per epoch */
  /* sequences mode */
  enum shuffle_kind shuffle;
  int64_t steps_per_epoch;
  uint64_t *order; /* global: (n_seq) this epoch's order, batches are consecutive runs; pools:
                      (SCHEDULE_POOL * B) the current pool's, longest first */
  int64_t order_epoch, order_pool;
  uint64_t pool_perm[SCHEDULE_POOL]; /* pools: the pool's k-th batch is its sorted batch perm[k] */
  uint64_t pool_full;                /* pools: the pool's full batches (the partial one last) */
} schedule;

void schedule_init(schedule *sc, const dataset *ds, int split, enum train_mode mode,
                   enum shuffle_kind shuffle, int B, int T, int max_len, uint64_t seed);
void schedule_free(schedule *sc);
int64_t schedule_steps_per_epoch(const schedule *sc);
/* Items (stream or sequence ids) of global step g (0-based over all epochs): writes up to B ids,
 * returns how many. Every rank gets the same answer. */
int schedule_items(schedule *sc, int64_t g, uint64_t *ids);
/* Slot k of S slots takes items k, k+S, k+2S, ... (round robin over the length-sorted batch).
 * Returns how many items of n belong to the slot and writes their indices. */
int schedule_slot(int n, int k, int S, int *idx);

#endif

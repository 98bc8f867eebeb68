/* dataset_index: a split's sequence offsets, read from the files' offsets datasets a block at a
 * time as they are used, a few blocks cached, so that memory does not grow with the corpus (a
 * line-delimited corpus of 40 GB has about a billion sequences: 8 GB of offsets). Checked whole
 * when the dataset is opened, streamed through the same blocks. */
#include <string.h>

#include "dataset-impl.h"
#include "recur/core.h"

#define IDX_BLOCK 8192 /* entries a block: one chunk of the offsets datasets prepare writes */
#define IDX_SLOTS 64   /* blocks cached, direct-mapped: 4 MiB at most */

struct ds_index {
  int n_parts;
  int64_t *dset;            /* (n_parts) HDF5 ids of the parts' offsets datasets (owned) */
  char **where;             /* (n_parts) file:/split/offsets, for errors */
  uint64_t *first;          /* (n_parts + 1) first global sequence of each part, then the total */
  uint64_t *base;           /* (n_parts) first global token of each part */
  uint64_t *entries;        /* (n_parts) entries of each part's offsets: its sequences + 1 */
  uint64_t *count;          /* (n_parts) tokens (steps) of each part: its last offset */
  uint64_t key[IDX_SLOTS];  /* 1 + (part << 44 | block) of the block a slot holds; 0: none */
  uint64_t *blk[IDX_SLOTS]; /* a slot's block, allocated when first used (a small index, or a
                             simulation's 1,024 ranks, take what they read) */
};

ds_index *ds_index_new(void) {
  ds_index *x = xcalloc(1, sizeof *x);
  x->first = xcalloc(1, sizeof(uint64_t));
  return x;
}

void ds_index_add(ds_index *x, int64_t dset, uint64_t entries, uint64_t base, uint64_t count,
                  const char *where) {
  const int p = x->n_parts++;
  x->dset = xrealloc(x->dset, (size_t)x->n_parts * sizeof(int64_t));
  x->where = xrealloc(x->where, (size_t)x->n_parts * sizeof(char *));
  x->first = xrealloc(x->first, (size_t)(x->n_parts + 1) * sizeof(uint64_t));
  x->base = xrealloc(x->base, (size_t)x->n_parts * sizeof(uint64_t));
  x->entries = xrealloc(x->entries, (size_t)x->n_parts * sizeof(uint64_t));
  x->count = xrealloc(x->count, (size_t)x->n_parts * sizeof(uint64_t));
  x->dset[p] = dset;
  x->where[p] = xstrdup(where);
  x->first[p + 1] = x->first[p] + entries - 1;
  x->base[p] = base;
  x->entries[p] = entries;
  x->count[p] = count;
}

/* block b of part p, read into its slot when it is not there */
static const uint64_t *block(ds_index *x, int p, uint64_t b) {
  const uint64_t key = 1 + ((uint64_t)p << 44 | b);
  const int s = (int)((b + (uint64_t)p * 17) % IDX_SLOTS);
  if (x->key[s] != key) {
    if (!x->blk[s]) x->blk[s] = xmalloc(IDX_BLOCK * sizeof(uint64_t));
    const uint64_t start = b * IDX_BLOCK, n = x->entries[p] - start;
    x->key[s] = 0;
    if (h5_read_range(x->dset[p], H5T_NATIVE_UINT64, start, n < IDX_BLOCK ? n : IDX_BLOCK,
                      x->blk[s]) < 0)
      recur_fail(x->where[p], "the file is truncated or damaged (checksum)", "cannot read offsets");
    x->key[s] = key;
  }
  return x->blk[s];
}

void ds_index_check(ds_index *x) {
  for (int p = 0; p < x->n_parts; p++) {
    uint64_t prev = 0;
    for (uint64_t b0 = 0; b0 < x->entries[p]; b0 += IDX_BLOCK) { /* a block at a time */
      const uint64_t *o = block(x, p, b0 / IDX_BLOCK), n = x->entries[p] - b0;
      if (b0 == 0 && o[0] != 0)
        recur_fail(x->where[p], NULL, "offsets[0] is %llu, must be 0", (unsigned long long)o[0]);
      for (uint64_t i = 0; i < (n < IDX_BLOCK ? n : IDX_BLOCK); i++) {
        if (o[i] < prev)
          recur_fail(x->where[p], "the dataset is damaged; prepare it again",
                     "offsets not monotonic at index %llu (%llu < %llu)",
                     (unsigned long long)(b0 + i), (unsigned long long)o[i],
                     (unsigned long long)prev);
        prev = o[i];
      }
    }
    if (prev != x->count[p])
      recur_fail(x->where[p], "the dataset is truncated or damaged",
                 "last offset %llu != number of tokens %llu", (unsigned long long)prev,
                 (unsigned long long)x->count[p]);
  }
}

uint64_t ds_index_at(ds_index *x, uint64_t j) {
  RECUR_ASSERT(j <= x->first[x->n_parts]);
  if (x->n_parts == 0) return 0;   /* an empty split */
  int lo = 0, hi = x->n_parts - 1; /* the last part whose first sequence is <= j */
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (x->first[mid] <= j)
      lo = mid;
    else
      hi = mid - 1;
  }
  const uint64_t i = j - x->first[lo];
  return x->base[lo] + block(x, lo, i / IDX_BLOCK)[i % IDX_BLOCK];
}

void ds_index_free(ds_index *x) {
  if (!x) return;
  for (int p = 0; p < x->n_parts; p++) {
    H5Dclose(x->dset[p]);
    xfree(x->where[p]);
  }
  xfree(x->dset);
  xfree(x->where);
  xfree(x->first);
  xfree(x->base);
  xfree(x->entries);
  xfree(x->count);
  for (int s = 0; s < IDX_SLOTS; s++) xfree(x->blk[s]);
  xfree(x);
}

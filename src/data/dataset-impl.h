/* dataset-impl: what the parts of the dataset reader share (not a public API).
 *   dataset.c       open, validate and close files and shard sets; token text
 *   dataset_real.c  --level real's values (with labels or tags), the statistics of real features
 *   dataset_read.c  ranges of a split: tokens, tags, sources, values, vectors, frames
 *   dataset_index.c the sequences' offsets, read in blocks as they are used */
#ifndef RECUR_DATASET_IMPL_H
#define RECUR_DATASET_IMPL_H

#include "recur/dataset.h"
#include "recur/h5.h"

/* tag: a split group's tags, one per token (step) */
hid_t ds_open_tags(hid_t g, const char *path, const char *name, int64_t ntok);
/* classify, condlm: a split group's labels, one per sequence, each < n_out (malloc'd, nseq + 1) */
int32_t *ds_read_labels(const dataset *ds, hid_t g, const char *path, const char *name,
                        int64_t nseq);
/* label_names or tag_names of a classify, tag or condlm dataset */
void ds_read_out_names(dataset *ds, hid_t f, const char *path);
/* a vector's per-feature mean and standard deviation (D each, malloc'd), checked */
void ds_read_stats(hid_t f, const char *path, const char *mname, const char *sname, int64_t D,
                   double **mean, double **sd);
/* ds_index (dataset.h): an empty index; a part's offsets dataset appended (entries = its sequences
 * + 1; its offsets are added to base; its last offset must be count; the index closes dset); the
 * whole index checked (from 0, monotonic, ending at count), streamed: an error names the part;
 * global entry j (j <= the sequences). */
ds_index *ds_index_new(void);
void ds_index_add(ds_index *x, int64_t dset, uint64_t entries, uint64_t base, uint64_t count,
                  const char *where);
void ds_index_check(ds_index *x);
uint64_t ds_index_at(ds_index *x, uint64_t j);
void ds_index_free(ds_index *x);
/* a part's offsets dataset opened with no chunk cache of its own (ds_index caches the blocks):
 * path:/name/offname checked 1-D 64-bit integers; its entries */
hid_t ds_open_offsets(hid_t g, const char *path, const char *name, const char *offname,
                      int64_t *entries);
/* every split's index, made empty where the split has no part, checked */
void ds_check_index(dataset *ds);
/* --level real: features, statistics, and per split (steps, features) float32 values + offsets */
void ds_open_real(dataset *ds, hid_t f, const char *path);

#endif

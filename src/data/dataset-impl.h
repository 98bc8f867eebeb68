/* dataset-impl: what the parts of the dataset reader share (not a public API).
 *   dataset.c       open, validate and close files and shard sets; token text
 *   dataset_real.c  --level real's values (with labels or tags), the statistics of real features
 *   dataset_read.c  ranges of a split: tokens, tags, sources, values, vectors, frames */
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
/* --level real: features, statistics, and per split (steps, features) float32 values + offsets */
void ds_open_real(dataset *ds, hid_t f, const char *path);

#endif

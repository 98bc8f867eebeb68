/* dataset_read: ranges of a split read from its parts (tokens, tags, source tokens, values,
 * conditioning vectors, source frames), every id checked against its bound and every value
 * checked finite; a damaged chunk is a named error. */
#include <math.h>
#include <stdio.h>

#include "dataset-impl.h"
#include "recur/core.h"
#include "recur/h5.h"

/* the part holding position at, given each part's first position first[0..n_parts) */
static int part_of(const uint64_t *first, int n_parts, uint64_t at) {
  int lo = 0, hi = n_parts - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (first[mid] <= at)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* rows [start, start+rows) of a (rows, width) float dataset into out: -1 when read and finite,
 * -2 when unreadable, else the index of the first value that is not finite */
static int64_t read_finite(hid_t d, uint64_t start, uint64_t rows, uint64_t width, float *out) {
  if (h5_read_rows(d, H5T_NATIVE_FLOAT, start, rows, width, out) < 0) return -2;
  for (uint64_t i = 0; i < rows * width; i++)
    if (!isfinite(out[i])) return (int64_t)i;
  return -1;
}

/* which: 0 tokens, 1 tags, 2 source tokens */
static void read_ids(const dataset *ds, int split, uint64_t start, uint64_t count, int32_t *out,
                     int which) {
  const ds_split *sp = &ds->split[split];
  const int tags = which == 1;
  const int64_t bound = tags ? ds->n_out : which == 2 ? ds->src_vocab_size : ds->vocab_size;
  const char *obj = which == 1 ? "tags" : which == 2 ? "src_tokens" : "tokens";
  const uint64_t *part_tok = which == 2 ? sp->src_part_tok : sp->part_tok;
  const int64_t *dsets = which == 1 ? sp->tags : which == 2 ? sp->src_tokens : sp->tokens;
  RECUR_ASSERT(start + count <= (which == 2 ? sp->n_src_tok : sp->n_tok));
  while (count > 0) {
    const int lo = part_of(part_tok, sp->n_parts, start);
    uint64_t local = start - part_tok[lo];
    uint64_t avail = part_tok[lo + 1] - start;
    uint64_t k = count < avail ? count : avail;
    char *where = NULL;
    if (h5_read_range(dsets[lo], H5T_NATIVE_INT32, local, k, out) < 0) {
      xfree(where), where = core_path("%s:/%s/%s", ds->file_paths[sp->part_file[lo]],
                                      ds_split_names[split], obj);
      recur_fail(where, "the file is truncated or damaged (checksum mismatch)",
                 "cannot read tokens %llu..%llu", (unsigned long long)local,
                 (unsigned long long)(local + k));
    }
    for (uint64_t i = 0; i < k; i++)
      if ((uint32_t)out[i] >= (uint64_t)bound) {
        xfree(where), where = core_path("%s:/%s/%s", ds->file_paths[sp->part_file[lo]],
                                        ds_split_names[split], obj);
        recur_fail(where, "the dataset is damaged; prepare it again",
                   "%s id %u at index %llu >= %s size %lld", tags ? "tag" : "token",
                   (uint32_t)out[i], (unsigned long long)(local + i),
                   tags ? "tag set" : "vocabulary", (long long)bound);
      }
    out += k;
    start += k;
    count -= k;
  }
}

void dataset_read(const dataset *ds, int split, uint64_t start, uint64_t count, int32_t *out) {
  read_ids(ds, split, start, count, out, 0);
}

void dataset_read_src(const dataset *ds, int split, uint64_t start, uint64_t count, int32_t *out) {
  RECUR_ASSERT(task_is(ds->task)->source);
  read_ids(ds, split, start, count, out, 2);
}

void dataset_read_tags(const dataset *ds, int split, uint64_t start, uint64_t count, int32_t *out) {
  RECUR_ASSERT(task_is(ds->task)->tags);
  read_ids(ds, split, start, count, out, 1);
}

void dataset_read_values(const dataset *ds, int split, uint64_t start, uint64_t count, float *out) {
  const ds_split *sp = &ds->split[split];
  const int64_t D = ds->n_features;
  RECUR_ASSERT(ds->level == LEVEL_REAL && start + count <= sp->n_tok);
  const int64_t at = read_finite(sp->values, start, count, (uint64_t)D, out);
  if (at != -1) {
    char *where = core_path("%s:/%s/values", ds->file_paths[0], ds_split_names[split]);
    if (at >= 0)
      recur_fail(where, "the dataset is damaged; prepare it again", "step %llu, feature %lld is %g",
                 (unsigned long long)(start + (uint64_t)(at / D)), (long long)(at % D),
                 (double)out[at]);
    recur_fail(where, "the file is truncated or damaged (checksum mismatch)",
               "cannot read steps %llu..%llu", (unsigned long long)start,
               (unsigned long long)(start + count));
  }
}

void dataset_read_cond(const dataset *ds, int split, uint64_t seq, float *out) {
  const ds_split *sp = &ds->split[split];
  RECUR_ASSERT(ds->n_cond_features > 0 && seq < sp->n_seq);
  const int lo = part_of(sp->part_seq, sp->n_parts, seq);
  const int D = ds->n_cond_features;
  if (read_finite(sp->cond[lo], seq - sp->part_seq[lo], 1, (uint64_t)D, out) != -1) {
    char *where =
        core_path("%s:/%s/cond", ds->file_paths[sp->part_file[lo]], ds_split_names[split]);
    recur_fail(where, "the file is truncated or damaged; prepare it again",
               "cannot read a finite vector for sequence %llu", (unsigned long long)seq);
  }
}

void dataset_read_src_values(const dataset *ds, int split, uint64_t start, uint64_t count,
                             float *out) {
  const ds_split *sp = &ds->split[split];
  const int64_t D = ds->n_cond_features;
  RECUR_ASSERT(task_is(ds->task)->source && D > 0 && start + count <= sp->n_src_tok);
  while (count > 0) {
    const int lo = part_of(sp->src_part_tok, sp->n_parts, start);
    const uint64_t local = start - sp->src_part_tok[lo], avail = sp->src_part_tok[lo + 1] - start,
                   k = count < avail ? count : avail;
    if (read_finite(sp->src_tokens[lo], local, k, (uint64_t)D, out) != -1) {
      char *where =
          core_path("%s:/%s/src_values", ds->file_paths[sp->part_file[lo]], ds_split_names[split]);
      recur_fail(where, "the file is truncated or damaged; prepare it again",
                 "cannot read finite frames %llu..%llu", (unsigned long long)local,
                 (unsigned long long)(local + k));
    }
    out += k * (uint64_t)D;
    start += k;
    count -= k;
  }
}

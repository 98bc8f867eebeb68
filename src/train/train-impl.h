/* train-impl: internals shared by the training loop and evaluation (not a public API). */
#ifndef RECUR_TRAIN_IMPL_H
#define RECUR_TRAIN_IMPL_H

#include "recur/batch.h"
#include "recur/dataset.h"
#include "recur/model.h"

/* A batch's items before packing: a sequence or a stream window as inputs and targets. */
typedef struct {
  int32_t *pool, *tagpool;
  int64_t cap;
  int32_t **in, **tgt;
  int *len;
  uint64_t *ids;
  int32_t *labels;  /* classify: label of each item */
  int capn;
} items;

void items_reserve(items *it, int n, int64_t tokens);
void items_free(items *it);
/* tokens a sequence contributes (cut at max_len), the steps it runs, the targets it counts */
int64_t items_seq_tokens(const dataset *ds, int split, uint64_t q, int max_len);
int items_seq_steps(const dataset *ds, int split, uint64_t q, int max_len);
int items_seq_targets(const dataset *ds, int split, uint64_t q, int max_len);
/* Sequences q[0..n) of a split: for lm, inputs <eos> x0 .. x_{n-2} and targets x0 .. x_{n-1}
 * (without <eos>: inputs x0 .. x_{n-2}, targets x1 .. x_{n-1}); for classify and tag, inputs
 * x0 .. x_{n-1} and targets the tags or the sequence's label. */
void items_load_sequences(items *it, const dataset *ds, int split, const uint64_t *q, int n, int max_len);
/* Windows [pos, pos + T] of streams s[0..n), each stream_len tokens long. */
void items_load_windows(items *it, const dataset *ds, int split, const uint64_t *s, int n, uint64_t stream_len,
                        uint64_t pos, int T);
/* Pack n items into b with their targets (next tokens, tags, or a label per sequence). */
void items_pack(batch *b, const items *it, int n, const dataset *ds);

/* Scheduled sampling: replace b's inputs position by position (see sampling.c). */
void ss_sample_inputs(model *m, batch *b, const float *h0, const float *c0, double eps, uint64_t seed, uint64_t step);

#endif

/* batch: packed batches (sorted by length, no padding): what the model's forward and backward
 * read. The schedule that chooses their items is schedule.h. */
#ifndef RECUR_BATCH_H
#define RECUR_BATCH_H

#include <stdint.h>

#include "recur/packed.h"

/* A packed batch: rows of step t are [off[t], off[t] + bs[t]), batch rows sorted by length. */
typedef struct batch {
  packed_shape s;    /* views of bs/off below */
  int *bs;           /* (T) */
  int64_t *off;      /* (T + 1) */
  int *len;          /* (B) steps of each batch row, non-increasing */
  uint64_t *seq_id;  /* (B) global id of each row (sequence or stream), keys its randomness */
  int *item;         /* (B) index of the row in the caller's item list */
  int32_t *in;       /* (N) input token of each packed row */
  int32_t *tgt;      /* (N) target token, -1 for none */
  int32_t *label;    /* (B) classify: label of each batch row, -1 for none */
  int64_t n_targets; /* rows with a target */
  float *xin, *ytgt; /* (N, n_in) real-valued inputs and target frames (forecast), raw units */
  float *cond;       /* (B, cond_labels) condlm --cond-features: each row's vector, raw units */
  int cond_labels;
  int64_t capC;
  int n_in;
  int64_t capX;
  struct batch *src; /* seq2seq: the rows' sources, packed on their own (sorted by their lengths) */
  int *src_row;      /* (B) seq2seq: the row of src holding row r's source */
  int capB, capT;
  int64_t capN;
} batch;

/* Build a packed batch from n items given as token arrays: item i has inputs in_i[0..len_i) and
 * targets tgt_i[0..len_i). Rows are sorted by length (stable). */
void batch_pack(batch *b, int n, const int *len, int32_t *const *in, int32_t *const *tgt,
                const uint64_t *ids);
void batch_free(batch *b);
/* Labels per item (in the caller's order) for classification. */
void batch_set_labels(batch *b, const int32_t *labels);
/* real-valued rows: item i's inputs x[i] and targets y[i] ((len_i, d) each), packed like the
 * tokens (batch_pack with in = NULL first). */
/* condlm --cond-features: row r's vector is v[item[r]] (d floats each). */
void batch_set_cond(batch *b, const float *const *v, int d);
void batch_set_values(batch *b, const float *const *x, const float *const *y, int d);
/* seq2seq: the n items' sources (in the caller's order), packed into b->src, and b->src_row:
 * tokens src, or (--cond-features, src NULL) frames x of d features each. */
void batch_set_sources(batch *b, const int *len, int32_t *const *src, const float *const *x, int d);

#endif

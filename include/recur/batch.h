/* batch: the global batch schedule (a pure function of seed and epoch, identical on every rank),
 * each rank's slice of it, and packed batches (sorted by length, no padding). */
#ifndef RECUR_BATCH_H
#define RECUR_BATCH_H

#include <stdint.h>

#include "recur/dataset.h"
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
  float *cond;       /* (B, n_cond) condlm --cond-features: each row's vector, raw units */
  int n_cond;
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

/* ---- schedules ---- */
enum train_mode { MODE_STREAM, MODE_SEQUENCES, MODE_COUNT };
extern const char *const mode_names[MODE_COUNT + 1];

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
  int64_t steps_per_epoch;
  uint64_t *order; /* (n_seq) this epoch's order, batches are consecutive runs */
  int64_t order_epoch;
} schedule;

void schedule_init(schedule *sc, const dataset *ds, int split, enum train_mode mode, int B, int T,
                   int max_len, uint64_t seed);
void schedule_free(schedule *sc);
int64_t schedule_steps_per_epoch(const schedule *sc);
/* Items (stream or sequence ids) of global step g (0-based over all epochs): writes up to B ids,
 * returns how many. Every rank gets the same answer. */
int schedule_items(schedule *sc, int64_t g, uint64_t *ids);
/* Slot k of S slots takes items k, k+S, k+2S, ... (round robin over the length-sorted batch).
 * Returns how many items of n belong to the slot and writes their indices. */
int schedule_slot(int n, int k, int S, int *idx);

#endif

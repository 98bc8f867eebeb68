/* items: a batch's sequences or stream windows read from a dataset, then packed (batch.h). What a
 * task reads and packs is its descriptor's (tasks.h: load, pack, steps); the readers here are the
 * parts the tasks share. */
#ifndef RECUR_ITEMS_H
#define RECUR_ITEMS_H

#include <stdint.h>

#include "recur/batch.h"
#include "recur/dataset.h"

/* A batch's items before packing: a sequence or a stream window as inputs and targets. */
typedef struct items {
  int32_t *pool, *tagpool;
  int64_t cap;
  int32_t **in, **tgt;
  int *len;
  uint64_t *ids;
  int32_t *labels; /* a label per item (classify's target, condlm's condition), or -1 */
  int capn;
  /* seq2seq: each item's source tokens */
  int32_t *srcpool;
  int64_t src_cap;
  int32_t **src;
  int *src_len;
  /* real-valued items: each item's frames (xv; forecast's targets yv, horizon rows on), and
   * zeros for the token side (zv) */
  float *vpool, **xv, **yv;
  int64_t vcap;
  int32_t *zeros, **zv;
  int64_t zcap;
  /* --cond-features: condlm each item's vector (cpool, cv); seq2seq each item's source frames
   * (cpool, cv; src[i] NULL) */
  float *cpool, **cv;
  int64_t ccap;
} items;

void items_reserve(items *it, int n, int64_t tokens);
void items_free(items *it);
/* tokens a sequence contributes (cut at max_len), the steps it runs, the targets it counts
 * (the task's: tasks.h steps and per_sequence) */
int64_t items_seq_tokens(const dataset *ds, int split, uint64_t q, int max_len);
int items_seq_steps(const dataset *ds, int split, uint64_t q, int max_len);
int items_seq_targets(const dataset *ds, int split, uint64_t q, int max_len);
/* Sequences q[0..n) of a split, cut at max_len, as the dataset's task reads them. */
void items_load_sequences(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                          int max_len);
/* Windows [pos, pos + T] of streams s[0..n), each stream_len tokens long (next-token targets). */
void items_load_windows(items *it, const dataset *ds, int split, const uint64_t *s, int n,
                        uint64_t stream_len, uint64_t pos, int T);
/* Pack n items into b with their targets, as the dataset's task packs them. */
void items_pack(batch *b, const items *it, int n, const dataset *ds);

/* ---- the readers tasks share ---- */
/* next-token items: the steps a sequence of n tokens runs (n with <eos>, else n - 1) */
int items_next_steps(const dataset *ds, int64_t n);
/* what an item carries besides its inputs: the tags (a target per token), the sequence's label,
 * or (frames) the frames `horizon` steps on as targets */
enum { ITEMS_TAGS = 1, ITEMS_LABEL = 2, ITEMS_AHEAD = 4 };
/* next-token items: with <eos>, inputs <eos> x0 .. x_{n-2} and targets x0 .. x_{n-1}; without,
 * inputs x0 .. x_{n-2} and targets x1 .. x_{n-1}; labels -1 */
void items_read_next(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                     int max_len);
/* token inputs x0 .. x_{n-1} (what a flag asks besides) */
void items_read_inputs(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                       int max_len, int flags);
/* real-valued inputs: every frame (what a flag asks besides; ITEMS_AHEAD: inputs frames 0 .. k-1-h,
 * targets frames h .. k-1) */
void items_read_frames(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                       int max_len, int flags);
/* seq2seq: the sources of sequences q[0..n), cut at max_len like the targets: tokens, or
 * (--cond-features) frames of D floats (cv; src[i] NULL) */
void items_read_sources(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                        int max_len);
/* condlm --cond-features: each sequence's vector (cv) */
void items_read_cond(items *it, const dataset *ds, int split, const uint64_t *q, int n);
/* the packing all items share: inputs (tokens, or frames when the level is real) and tgt (the
 * targets, NULL: none per step) */
void items_pack_inputs(batch *b, const items *it, int n, const dataset *ds, int32_t *const *tgt);

#endif

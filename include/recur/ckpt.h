/* ckpt: sharded checkpoints. RUN/checkpoints/step-NNNNNNNN/ holds model.h5 (rank 0), one state
 * shard per rank (its slice of the optimizer moments, the counters, the carried states of the
 * streams it owns), and COMMIT, written by rank 0 only after every rank reported its shard
 * durable; COMMIT's manifest names every shard with its size, hash and range. Then
 * RUN/checkpoints/latest is replaced atomically. */
#ifndef RECUR_CKPT_H
#define RECUR_CKPT_H

#include <stdint.h>

#include "recur/model.h"
#include "recur/opts.h"
#include "recur/optim.h"

#define CKPT_STATE_FORMAT "recur-state"
#define CKPT_VERSION      1

typedef struct {
  int64_t step;      /* optimizer steps done */
  int64_t bad_total; /* skipped steps so far */
  double best_val;   /* best validation loss so far */
  int world;         /* ranks that wrote it */
} ckpt_counters;

/* What a checkpoint holds besides the model: every rank passes the full arrays. */
typedef struct {
  optim *opt;
  float *carry_h, *carry_c; /* (L, n_own, H) the carried states of this rank's streams (row i:
                               stream own[i]), or NULL (sequences mode) */
  int L, B, H;              /* B: the streams of all ranks */
  const int *own;           /* (n_own) streams whose carried state this rank computes */
  int n_own;
  const int *slot;     /* (B) a stream's row in carry_h (its index in own), or -1: another rank's */
  const char *options; /* training options as "key=value" lines */
} ckpt_payload;

/* Collective. Saves step st->step under run; keeps the newest `keep` committed checkpoints
 * (0 = all). A rank that cannot write ends the job; the previous checkpoint stays loadable. */
void ckpt_save(const char *run, const model *m, const model_vocab *v, const ckpt_counters *st,
               const ckpt_payload *p, int keep);

/* Rank 0, after ckpt_save of step: make run/model.h5 that checkpoint's model (a hard link put in
 * place atomically; written again where the file system has no hard links). */
void ckpt_publish_model(const char *run, int64_t step, const model *m, const model_vocab *v);
/* Collective. path is a run directory (newest valid committed checkpoint, falling back to
 * older ones with a message) or a checkpoint directory. Returns the one chosen (malloc'd). */
char *ckpt_find_dir(const char *path);
/* The training options saved in checkpoint dir (malloc'd "--flag value" lines). */
char *ckpt_saved_options(const char *dir);
/* Collective. Loads the optimizer state, carried states and counters of checkpoint dir into p
 * and st (resharding from any world size). */
void ckpt_load_state(const char *dir, ckpt_payload *p, ckpt_counters *st);
/* Rank 0: remove uncommitted checkpoint directories (crash leftovers) under run. */
void ckpt_cleanup(const char *run);
/* Validate one checkpoint directory; 0 if good, else -1 with a reason in err. */
int ckpt_validate(const char *dir, char *err, int cap);
/* Print what a checkpoint holds (rank 0): its counters, the model, and (with options, the table
 * that saved them) every option the run was started with, grouped by whether a resume may change
 * it. */
void ckpt_inspect(const char *dir, int json, const opt_table *options);

#endif

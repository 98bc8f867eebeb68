/* trainer: the state of a training run, shared by its opening (train_open.c) and its loop
 * (train.c). Not a public API. */
#ifndef RECUR_TRAINER_H
#define RECUR_TRAINER_H

#include "recur/batch.h"
#include "recur/ckpt.h"
#include "recur/dist.h"
#include "recur/train.h"
#include "train-impl.h"

struct trainer {
  train_opts opts; /* the options in force (a resumed run's merged with its checkpoint's) */
  int rank, W;
  int gemm_timed; /* --gemm auto timed the kernels at this start */
  char *ckdir;    /* the checkpoint resumed from, or NULL */
  dataset *ds;
  model *m;
  model_vocab mv;
  schedule sc;
  int64_t spe, total, start;
  lr_schedule lr;
  optim opt;
  dist_reducer red;
  ckpt_payload pay;
  char *options;            /* saved options text */
  int stream;               /* --mode stream: states carried across windows */
  float *carry_h, *carry_c; /* (L, n_own, H) carried states of this rank's streams */
  float *h0, *c0;           /* (L, n_own, H) initial states of a slot's rows (at most n_own) */
  int *own, n_own;          /* streams whose carried state this rank computes */
  int *slot;                /* (B) a stream's row in carry_h (its index in own), or -1 */
  uint64_t *ids, *mine;     /* (B) items of the global batch, of this slot */
  int *idx;
  items it;
  batch b;
  metrics mt;                      /* rank 0 */
  double best_val, t_ckpt, t_eval; /* t_*: core_now() of the last checkpoint, validation */
  double *diag, *diag_pn; /* gradient flow of a diagnosed step: model.h's diag, tensor norms */
  int64_t bad_total;
  int bad_run;
  int64_t step;      /* the next step (train_step) */
  double train_time; /* seconds in steps, for the ETA */
  /* --time-budget: the opening's and the first step's end (core_now), the most steps the run may
   * have (--steps or --epochs, else none), whether the schedule's end follows the fitted length,
   * the last validation's and checkpoint's seconds (the end must fit them), tokens so far */
  double t_open, t_first, eval_s, ckpt_s, fit_tokens;
#define TRAIN_NO_CAP ((int64_t)1 << 50)
  int64_t cap, fitted; /* fitted: the last step as last fitted (0: not yet) */
  int fit_sched;
  int over; /* the run has ended: its last step, or a stop */
};

/* Options, data, model, schedule, optimizer and run directory: everything a run needs before its
 * first step (errors up to here are met by every rank alike and printed once). */
void trainer_open(trainer *t, const train_opts *given);

#endif

/* train: the training loop (global batches, slices per rank, gradient accumulation, overlapped
 * reduction, optimizer, logging, evaluation, model saving) and exact evaluation of a split. */
#ifndef RECUR_TRAIN_H
#define RECUR_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "recur/dataset.h"
#include "recur/model.h"
#include "recur/optim.h"

#define TRAIN_MAX_FLAGS 48

typedef struct {
  const char *data, *out, *resume;
  int keep;                  /* committed checkpoints kept (0 = all) */
  model_config mc;           /* vocab is taken from the dataset */
  int mode;                  /* enum train_mode */
  int T, max_len, B, accum;
  int64_t steps, epochs;     /* steps wins when > 0 */
  int optim;
  float weight_decay, momentum, beta1, beta2, eps;
  int nesterov;
  lr_schedule lr;
  float clip;
  uint64_t seed;
  int64_t eval_every, log_every, save_every;
  double ckpt_minutes;       /* also checkpoint when this much wall time passed since the last (0 = off) */
  int max_bad_steps;
  int ss_kind;               /* scheduled sampling: enum ss_kind */
  float ss_k, ss_c, ss_min;
  int quiet;
  /* every flag's value in canonical text, and whether the user gave it */
  char canon[TRAIN_MAX_FLAGS][1024];
  unsigned char given[TRAIN_MAX_FLAGS];
} train_opts;

enum ss_kind { SS_NONE, SS_LINEAR, SS_EXP, SS_INVSIGMOID };
/* Scheduled sampling (Bengio et al. 2015): the probability eps_i of feeding the ground truth at
 * training step i: linear max(min, k - c i), exponential max(min, k^i), inverse sigmoid
 * max(min, k / (k + exp(i / k))); 1 without scheduled sampling. */
double ss_eps(int kind, double k, double c, double min, int64_t i);

void train_opts_default(train_opts *o);
/* Set one flag from its text: returns 2 if it took val, 1 for a switch without value, 0 if the
 * flag is unknown. Bad values end the process naming the flag. */
int train_opts_set(train_opts *o, const char *flag, const char *val);
int train_flag_takes_value(const char *flag); /* -1 unknown, 0 switch, 1 takes a value */
int train_flag_index(const char *flag);      /* index into canon/given, -1 if unknown */
/* Runs training; every rank calls it. Returns 0, or ends the process on error. */
int train_run(const train_opts *o);

typedef struct {
  double loss_sum;  /* summed negative log-likelihood, nats */
  double tokens;    /* predicted tokens (classify: sequences) */
  double *confusion; /* classify, tag: (n_out, n_out) counts, true class by predicted (malloc'd) */
  int n_out;
} eval_result;

double eval_accuracy(const eval_result *r);
double eval_f1(const eval_result *r, int k);     /* F1 of class k */
double eval_macro_f1(const eval_result *r);      /* mean F1 over classes that occur */
/* "accuracy":..,"f1":..,"f1_per_class":{..},"confusion":[[..]] (no braces around) */
void eval_json(FILE *f, const eval_result *r, char *const *names);

/* Loss of a split, sharded across ranks and summed. as_streams: the split is cut into `streams`
 * parallel streams processed in windows of T with carried state (streams = 1: exact for an
 * undelimited split). Otherwise every sequence from a zero state (cut at max_len if > 0), in
 * batches of B. */
eval_result train_eval(model *m, const dataset *ds, int split, int as_streams, int streams, int T, int B, int max_len);

#endif

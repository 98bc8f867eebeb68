/* train: the training loop (global batches, slices per rank, gradient accumulation, overlapped
 * reduction, optimizer, logging, evaluation, model saving) and exact evaluation of a split. */
#ifndef RECUR_TRAIN_H
#define RECUR_TRAIN_H

#include <stdint.h>

#include "recur/dataset.h"
#include "recur/model.h"
#include "recur/optim.h"

typedef struct {
  const char *data, *out;
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
  int max_bad_steps;
  int quiet;
} train_opts;

void train_opts_default(train_opts *o);
/* Runs training; every rank calls it. Returns 0, or ends the process on error. */
int train_run(const train_opts *o);

typedef struct {
  double loss_sum;  /* summed negative log-likelihood, nats */
  double tokens;    /* predicted tokens */
} eval_result;

/* Loss of a split, sharded across ranks and summed. as_streams: the split is cut into `streams`
 * parallel streams processed in windows of T with carried state (streams = 1: exact for an
 * undelimited split). Otherwise every sequence from a zero state (cut at max_len if > 0), in
 * batches of B. */
eval_result train_eval(model *m, const dataset *ds, int split, int as_streams, int streams, int T, int B, int max_len);

#endif

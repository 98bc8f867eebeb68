/* train-impl: internals shared by the training loop and evaluation (not a public API). */
#ifndef RECUR_TRAIN_IMPL_H
#define RECUR_TRAIN_IMPL_H

#include "recur/batch.h"
#include "recur/schedule.h"
#include "recur/dataset.h"
#include "recur/model.h"
#include "recur/dist.h"
#include "recur/items.h"

/* Scheduled sampling: replace b's inputs position by position (see sampling.c). */
void ss_sample_inputs(model *m, batch *b, const float *h0, const float *c0, double eps,
                      uint64_t seed, uint64_t step);

/* ---- options (options.c) ---- */
/* dst = src, with its own copies of the paths (dst is overwritten, not freed). */
void train_opts_copy(train_opts *dst, const train_opts *src);
/* The saved options as "--flag value" lines (malloc'd). */
char *train_opts_text(const train_opts *o);
/* A resumed run's options: the checkpoint's saved text, with this invocation's paths and safe
 * flags applied; a flag given again that is not safe to change must agree (else the process ends
 * naming every disagreeing flag). Returns the options taken from the checkpoint that the command
 * line did not give and that are not at their defaults, as "--flag value ..." (malloc'd). */
void train_opts_check(const train_opts *o);
char *train_opts_merge(train_opts *merged, const train_opts *given, const char *saved_text,
                       const char *ckdir);

/* ---- metrics (metrics.c): the progress line (rank 0, stdout) and RUN/metrics.jsonl ---- */
typedef struct {
  FILE *f;
  int quiet;
  double print_every_s;     /* the console's progress line at most this often (0 = every line) */
  double t_print;           /* when the console last got one (0 = never) */
  double t_start, t_log;    /* wall clock at start and at the last progress line */
  double tokens, sequences; /* input tokens and sequences (sequences mode) since the last line */
  double loss_sum, loss_targets; /* since the last line, over steps not skipped */
  double comm_wait, comm_total;
  double comm_union, comm_rows; /* parts of comm_wait (models with sparse sums) */
  double comm_sync;    /* the step's statistics sum after the gradients': waiting for the slowest */
  int sparse;          /* the model's gradient has sparse segments */
  double reduce_bytes; /* summed over the steps since the last line */
  double dense_bytes;  /* the gradient buffer's bytes: what a dense sum sends */
  int n;               /* steps since the last line */
  double kept_best_val; /* metrics_open of a resumed run: the lowest val_loss of the kept lines */
  FILE *lf;             /* the line being written (a memory stream) */
  char *lbuf;
  size_t llen;
} metrics;

/* A human line (or part of one) for the run's sink (train.h): the start lines, progress,
 * validation, stop; delivered whole lines at a time. */
void train_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void train_sink_set(const train_sink *s);

/* Rank 0. keep_upto > 0 (a resumed run): keep the lines up to that step, then append. */
void metrics_open(metrics *mt, const char *out, int64_t keep_upto, int quiet);
void metrics_close(metrics *mt);
/* Account one optimizer step. */
void metrics_add(metrics *mt, double tokens, double sequences, double targets, double loss_sum,
                 int skipped, const dist_reducer *red, double sync_s);
/* The progress line and its JSON line; resets the accumulators. */
void metrics_log(metrics *mt, int64_t step, int64_t total, double epoch, double last_loss,
                 double grad_norm, double lr, int64_t skipped, double ss_eps, double eta_s);
/* A validation result: loss, and bpc/ppl (lm) or accuracy, F1 and confusion (classify, tag). */
void metrics_eval(metrics *mt, int64_t step, double epoch, const dataset *ds, const eval_result *r,
                  double seconds);
/* A checkpoint committed, why ("schedule", "request", "minutes", "stop"), and how long it took. */
void metrics_checkpoint(metrics *mt, int64_t step, double seconds, const char *reason);
void metrics_resume(metrics *mt, int64_t step, double load_s);
/* The run's first line (and a resumption's): versions, machine, world size, every option. */
void metrics_start(metrics *mt, int64_t step, int resumed, int world, const char *options);
/* A sample of the model's text during training. */
void metrics_sample(metrics *mt, int64_t step, const char *text);
/* Gradient flow: mean |dL/dh_t| per layer by distance back in time (diag as model.h's, summed
 * over ranks), and the norm of each parameter tensor's gradient. */
void metrics_grad_flow(metrics *mt, int64_t step, const model *m, const double *diag,
                       const double *param_norms);

#endif

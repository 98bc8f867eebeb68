/* optim: SGD (momentum, Nesterov), Adam, AdamW over the flat parameter buffer (PyTorch update
 * rules), learning-rate schedules and global-norm clipping. */
#ifndef RECUR_OPTIM_H
#define RECUR_OPTIM_H

#include <stdint.h>

enum optim_type { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW, OPTIM_COUNT };
enum lr_kind { LR_CONSTANT, LR_STEP, LR_COSINE, LR_COUNT };
extern const char *const optim_names[OPTIM_COUNT + 1];
extern const char *const lr_names[LR_COUNT + 1];

typedef struct {
  enum optim_type type;
  float beta1, beta2, eps, weight_decay, momentum;
  int nesterov;
  int64_t n;
  int64_t t;    /* updates applied */
  float *state; /* (2, n): first moment / momentum buffer, then second moment */
} optim;

/* The learning rate as a function of the step: warmup steps from `start` rise linearly to lr, then
 * it stays (constant), falls by gamma every decay_every steps (step) or follows a half cosine to
 * min_lr at step `total` and stays there (cosine). start and total are absolute steps, so a run
 * that is resumed with another length keeps its curve unless it restarts the schedule. */
typedef struct {
  enum lr_kind kind;
  float lr, min_lr, gamma;
  int64_t warmup, decay_every;
  int64_t start, total; /* the schedule's first step and its end (cosine: reaches min_lr) */
} lr_schedule;

void optim_init(optim *o, enum optim_type type, int64_t n);
void optim_free(optim *o);
/* One update with learning rate lr: params -= f(grads). */
void optim_step(optim *o, float *params, const float *grads, float lr);
/* The same, where the rows of the (rows, width) block at element off whose mark is 0 have a zero
 * gradient: their update does not read it (the same bits as optim_step), or, when lazy, they keep
 * their values and moments (a lazy update of an embedding, as PyTorch's SparseAdam or TF's
 * LazyAdam: the bias corrections still use the global step count). */
void optim_step_rows(optim *o, float *params, const float *grads, float lr, int64_t off,
                     int64_t rows, int64_t width, const unsigned char *marks, int lazy);
float lr_at(const lr_schedule *s, int64_t step);

#endif

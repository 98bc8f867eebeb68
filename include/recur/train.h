/* train: the training loop (global batches, slices per rank, gradient accumulation, overlapped
 * reduction, optimizer, logging, evaluation, model saving) and exact evaluation of a split. */
#ifndef RECUR_TRAIN_H
#define RECUR_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mpi.h>

#include "recur/dataset.h"
#include "recur/model.h"
#include "recur/optim.h"
#include "recur/batch.h"
#include "recur/schedule.h"
#include "recur/gemm.h"

#include "recur/json.h"
#include "recur/opts.h"

#define TRAIN_MAX_FLAGS 80
/* without --log-every, the console's progress line comes at most every this many seconds */
#define TRAIN_PRINT_EVERY_S    10.0
#define TRAIN_PRINT_EVERY_TEXT "10"
/* --log-every's default: a metrics.jsonl line every this many steps */
#define TRAIN_LOG_EVERY      10
#define TRAIN_LOG_EVERY_TEXT "10"

extern const char *const sparse_reduce_names[];
extern const char *const grad_sum_names[];
extern const char *const embed_update_names[];
enum ss_kind { SS_NONE, SS_LINEAR, SS_EXP, SS_INVSIGMOID, SS_COUNT };
extern const char *const ss_names[SS_COUNT + 1];

typedef struct {
  char *data, *out, *resume; /* paths (malloc'd; opts_free) */
  int keep;                  /* committed checkpoints kept (0 = all) */
  model_config mc;           /* vocab is taken from the dataset */
  enum train_mode mode;
  enum shuffle_kind shuffle;
  int T, max_len, B, accum;
  int64_t steps, epochs; /* steps wins when > 0 */
  enum optim_type optim;
  gemm_choice kernel; /* --precision, --gemm */
  int sparse_reduce;  /* 0 = auto: embedding gradients summed by their rows when smaller; 1 = off */
  int grad_sum;       /* 0 = fp32; 1 = bf16: gradients cross the network in bf16 */
  int embed_update;   /* 0 = dense; 1 = lazy: unused embedding rows keep values and moments */
  float weight_decay, momentum, beta1, beta2, eps;
  int nesterov;
  lr_schedule lr;
  int restart_schedule; /* resume: the schedule starts again at the checkpoint's step */
  float clip;
  uint64_t seed;
  int64_t eval_every, log_every, ckpt_every;
  int64_t diagnose_every; /* gradient flow through time every N steps (0 = off) */
  int sample_len;         /* lm: tokens of the sample logged with each validation (0 = none) */
  double
      ckpt_minutes; /* also checkpoint when this much wall time passed since the last (0 = off) */
  double eval_minutes; /* also validate when this much wall time passed since the last (0 = off) */
  double comm_timeout; /* seconds a rank waits for the others before ending the job (0 = off) */
  double time_budget;  /* minutes of wall time this invocation trains: its length (and the
                        * schedule's end) fitted to the steps that fit (0 = off) */
  int max_bad_steps;
  enum ss_kind ss_kind; /* scheduled sampling */
  float ss_k, ss_c, ss_min;
  int quiet;
  int options_json;                     /* print the table as JSON and exit */
  unsigned char given[TRAIN_MAX_FLAGS]; /* the flags given on the command line (table order) */
} train_opts;

/* Scheduled sampling (Bengio et al. 2015): the probability eps_i of feeding the ground truth at
 * training step i: linear max(min, k - c i), exponential max(min, k^i), inverse sigmoid
 * max(min, k / (k + exp(i / k))); 1 without scheduled sampling. */
double ss_eps(enum ss_kind kind, double k, double c, double min, int64_t i);

/* The table of every `recur train` flag (parsing, --help, saved options, resume rules): the
 * model's rows of mconf.h that have a flag, then the run's. */
const opt_table *train_options(void);
/* Whether the command line gave the flag that sets train_opts' field `member` (by the field's
 * compile-time name, so a renamed flag cannot make it read another option). */
#define TRAIN_GIVEN(o, member) ((o)->given[opts_at(train_options(), offsetof(train_opts, member))])
/* The table as one JSON object {"options": [{flag, type, default, lo, hi, choices, resume_safe,
 * saved, and for the model's rows attr, tasks, cells, shapes_parameters, training_only}]}: what
 * tests and tools enumerate. */
void train_options_json(FILE *f);
/* Defaults of every flag; train_opts_free releases the paths. */
void train_opts_default(train_opts *o);
void train_opts_free(train_opts *o);
/* Set an option as the command line gives it (`--hidden`, "512"): checked against the table's
 * type and bounds, and marked given (as train's defaults that follow the dataset need). Returns 0,
 * or -1 with the reason in err. */
int train_opts_set(train_opts *o, const char *flag, const char *value, char *err, size_t cap);

/* ---- a training run a program drives; `recur train` is train_run, one such program ----
 * Every rank of comm calls each function. A run reports through a sink on rank 0: `text` gets
 * the human lines (start, progress, validation, stop; whole lines, each ending in a newline),
 * `record` each RUN/metrics.jsonl line as it is written (JSON, no newline); NULL members are
 * silent. */
typedef struct {
  void (*text)(void *arg, const char *lines);
  void (*record)(void *arg, const char *json);
  void *arg;
} train_sink;
typedef struct trainer trainer;
/* Open a run (new, or --resume) on the ranks of comm, which recur then uses for every collective.
 * With err, an error of the opening (options, dataset, model, a resume's checks: every rank meets
 * it alike) returns NULL with the message (and hint) in err; without, it ends the process as the
 * CLI's errors do. */
trainer *train_open(const train_opts *o, MPI_Comm comm, const train_sink *sink, char *err,
                    size_t cap);
/* One optimizer step, with the validation and checkpoint it calls for. Returns 1 while the run
 * goes on, 0 once it is over (its last step, or a stop request: then with a committed
 * checkpoint). */
int train_step(trainer *t);
/* The step the run is at (steps done), and its last step. */
int64_t train_steps_done(const trainer *t);
int64_t train_steps_total(const trainer *t);
/* Say the end, free everything of the run. */
void train_close(trainer *t);
/* Asynchronous requests, safe in a signal handler: TRAIN_STOP ends the run after the step in
 * progress with a checkpoint (sig, or 0, names the cause in the stop line); TRAIN_CHECKPOINT
 * commits one after the step and goes on. The CLI turns SIGINT, SIGTERM and SIGUSR2 into the
 * first, SIGUSR1 into the second, its handlers on an alternate stack (sigaltstack, SA_ONSTACK): a
 * handler run on the stack of a oneDNN kernel corrupted the heap (cmd_train.c); do the same. */
enum { TRAIN_STOP = 1, TRAIN_CHECKPOINT = 2 };
void train_request(int what, int sig);
/* The whole run with the console as its sink (stdout); errors end the process. Returns 0. */
int train_run(const train_opts *o);

typedef struct {
  double loss_sum; /* summed negative log-likelihood, nats */
  double tokens;   /* predicted tokens (classify: sequences) */
  /* text LMs (lm, condlm) at any level: the characters of text the predicted tokens stand for
   * (eval_chars_of), so that loss_sum / chars compares char, word and subword models on one
   * axis; 0 for other tasks */
  double chars;
  double *confusion; /* classify, tag: (n_out, n_out) counts, true class by predicted (malloc'd) */
  int n_out;
  /* seq2seq: targets whose argmax (teacher forcing) is right; sequences; greedy outputs equal to
   * their targets */
  double tok_correct, seqs, exact;
  /* seq2seq: BLEU-4's sums over the greedy outputs (Papineni et al. 2002, corpus level): clipped
   * n-gram matches and the outputs' n-grams (n = 1..4), output and reference lengths */
  double bleu_match[4], bleu_total[4], hyp_len, ref_len;
  /* forecast: per feature (n_feat), in the data's units, summed over predicted frames (tokens):
   * squared and absolute errors of the model, then of the naive "next = last" baseline (4, n_feat)
   * (malloc'd) */
  double *fc;
  int n_feat;
} eval_result;

double eval_accuracy(const eval_result *r);
double eval_token_accuracy(const eval_result *r); /* seq2seq */
double eval_exact_match(const eval_result *r);    /* seq2seq */
double eval_bleu(const eval_result *r);           /* seq2seq: corpus BLEU-4 in [0, 1] */
/* forecast: what (0 mse, 1 mae, 2 baseline_mse, 3 baseline_mae) over feature k, or overall (k -1)
 */
double eval_forecast(const eval_result *r, int what, int k);
/* forecast, multi-step: every sequence of the split longer than steps is run over all but its last
 * `steps` frames, then rolled forward that many on its own predictions (their means) against
 * them; the baseline repeats the last frame seen. Sharded across ranks and summed. tokens counts
 * the predicted frames. */
eval_result train_eval_rollout(model *m, const dataset *ds, int split, int steps);
double eval_f1(const eval_result *r, int k); /* F1 of class k */
double eval_macro_f1(const eval_result *r);  /* mean F1 over classes that occur */
/* A language model's loss (nats per token) as users read it: perplexity at word level
 * (*name = "ppl"), bits per character otherwise ("bpc"). */
double eval_lm_metric(const dataset *ds, double loss, const char **name);
/* (2 x vocab_size) the characters (Unicode code points) each token stands for in the text as
 * recur writes it back: char level 1; byte level 1 for a byte that starts a character, 0 for a
 * UTF-8 continuation byte; word level the word's characters, then in the second half whether a
 * space goes before it (1: not joined to the word before by /vocab_glue) and whether none goes
 * after it (2: a line's end, or joined to the next word); subword level the piece's characters
 * (its leading U+2581 is the space, 4 in the second half: dropped at a line's start); the sequence
 * end 1 (the newline, 2 in the second half). NULL for other tasks and
 * real values. malloc'd. */
float *eval_chars_of(const dataset *ds);

/* The loss of a split: the one definition of validation loss, used by `recur eval`, by validation
 * during training and for choosing model-best.h5. Sharded across ranks and summed; the result
 * does not depend on the number of ranks (up to float summation order) or on training flags.
 * Delimited sequences (and every classify or tag sequence): each from a zero state, in batches
 * of B sorted by length (max_len > 0 cuts longer ones: an estimate, off for validation).
 * An undelimited split (lm without <eos>): read as one stream, in eval_piece_len(targets) pieces
 * evaluated side by side, each from the state its EVAL_BURN tokens before give (run from a zero
 * state, not scored; the first piece from a zero state), the state carried across windows of
 * EVAL_WINDOW. Exact for splits up to EVAL_PIECE_MIN + 1 tokens; longer ones lose the context
 * before each piece's burn-in (measured: a change in the fourth digit of the loss). The pieces
 * depend only on the split's length, not on ranks or batch: the same loss at any world size. */
#define EVAL_PIECE     65536
#define EVAL_PIECE_MIN 2048
#define EVAL_ROWS      64
#define EVAL_BURN      256
#define EVAL_WINDOW    256
#define EVAL_BATCH     32
/* Delimited sequences: one forward holds about EVAL_FLOATS floats of outputs and activations
 * (batches of up to B shorter sequences within it); a sequence longer than that is evaluated
 * alone in windows with its state carried, exactly as whole (unidirectional models with a loss
 * per step: lm, condlm, tag, forecast). Memory is then bounded whatever the data. */
#define EVAL_FLOATS (1 << 25)
eval_result train_eval(model *m, const dataset *ds, int split, int B, int max_len);
/* An undelimited split of n_tgt targets: its pieces' length, ceil(n_tgt / EVAL_ROWS) within
 * [EVAL_PIECE_MIN, EVAL_PIECE] (RECUR_TEST_EVAL_PIECE overrides) */
uint64_t eval_piece_len(uint64_t n_tgt);

#endif

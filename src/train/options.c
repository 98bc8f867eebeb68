/* options: every `recur train` flag, declared once (see opts.h), and the rules of a resumed run:
 * the options saved in a checkpoint come back, flags given again must agree with them unless the
 * table marks them safe to change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/gemm.h"
#include "recur/core.h"
#include "recur/train.h"
#include "train-impl.h"

const char *const ss_names[SS_COUNT + 1] = {"none", "linear", "exp", "invsigmoid", NULL};
const char *const sparse_reduce_names[] = {"auto", "off", NULL};
const char *const embed_update_names[] = {"dense", "lazy", NULL};

#define F(member) OPT_FIELD(train_opts, member)
#define BIG       4.6e18 /* about INT64_MAX / 2 */
static const opt_def DEFS[] = {
    /* model */
    {"--cell", NULL, OPT_CHOICE, F(mc.cell), 0, 0, cell_names, "lstm", NULL, "recurrent cell", 0},
    {"--layers", NULL, OPT_INT, F(mc.layers), 1, MODEL_MAX_LAYERS, NULL, "2", "L", "stacked layers",
     0},
    {"--hidden", NULL, OPT_INT, F(mc.hidden), 1, 65536, NULL, "256", "H", "hidden units per layer",
     0},
    {"--embed", NULL, OPT_INT, F(mc.embed), 1, 65536, NULL, "64", "E", "embedding width", 0},
    {"--dropout", NULL, OPT_REAL, F(mc.dropout), 0, 0.99, NULL, "0", "P", "dropout between layers",
     0},
    {"--dropout-locked", NULL, OPT_REAL, F(mc.dropout_locked), 0, 0.99, NULL, "0", "P",
     "dropout between layers with one mask per sequence for all its steps (awd-lstm-lm's locked "
     "dropout; instead of --dropout)",
     0},
    {"--dropout-embed", NULL, OPT_REAL, F(mc.dropout_embed), 0, 0.99, NULL, "0", "P",
     "drop whole words: a word's embedding is zero for the whole step with probability P", 0},
    {"--weight-drop", NULL, OPT_REAL, F(mc.weight_drop), 0, 0.99, NULL, "0", "P",
     "DropConnect on the hidden-to-hidden weights: one mask per step (awd-lstm-lm's WeightDrop)",
     0},
    {"--task", NULL, OPT_CHOICE, F(mc.task), 0, 0, task_names, "lm", NULL,
     "what the dataset was prepared for", 0},
    {"--proj", NULL, OPT_INT, F(mc.proj), 0, 65536, NULL, "0", "P",
     "lstm: project each layer's state and output to P units (Sak et al. 2014; PyTorch "
     "proj_size; 0 = none)",
     0},
    {"--tie-weights", NULL, OPT_SWITCH, F(mc.tie_weights), 0, 1, NULL, "0", NULL,
     "lm, condlm: the readout's weight is the embedding (Press & Wolf 2017; needs --embed = "
     "--hidden)",
     0},
    {"--softmax", NULL, OPT_CHOICE, F(mc.softmax), 0, 0, softmax_names, "full", NULL,
     "lm, condlm: the readout over the vocabulary; adaptive = Grave et al. 2017 (PyTorch's "
     "AdaptiveLogSoftmaxWithLoss), for large word vocabularies",
     0},
    {"--attention", NULL, OPT_CHOICE, F(mc.attention), 0, 0, attention_names, "none", NULL,
     "seq2seq: the decoder attends to the encoder's outputs: dot, general (Luong et al. 2015) or "
     "concat (Bahdanau et al. 2015's additive score); the readout reads tanh(W [context; h])",
     0},
    {"--encoder-hidden", NULL, OPT_INT, F(mc.in_hidden), 0, 65536, NULL, "0", "N",
     "real-valued inputs: an MLP (a tanh layer of N units, then --embed wide) instead of one "
     "linear layer (0)",
     0},
    {"--horizon", NULL, OPT_INT, F(mc.horizon), 1, 1 << 20, NULL, "1", "K",
     "forecast: each step predicts the frame K steps ahead", 0},
    {"--loss", NULL, OPT_CHOICE, F(mc.loss), 0, 0, loss_names, "mse", NULL,
     "forecast: mse, or gaussian (a mean and a log-variance per feature; the loss is the negative "
     "log-likelihood)",
     0},
    {"--input-feed", NULL, OPT_SWITCH, F(mc.input_feed), 0, 1, NULL, "0", NULL,
     "seq2seq with attention: each decoder step also reads the attention's output of the step "
     "before (Luong et al. 2015; the decoder then runs step by step)",
     0},
    {"--readout-hidden", NULL, OPT_INT, F(mc.readout_hidden), 0, 65536, NULL, "0", "N",
     "an MLP readout: a tanh layer of N units between the last layer (seq2seq: the attention) and "
     "the softmax (0 = none; full softmax, untied)",
     0},
    {"--cutoffs", NULL, OPT_STR, F(cutoffs), 0, 0, NULL, NULL, "A,B,..",
     "adaptive softmax: the shortlist is words [0, A), then clusters [A, B), ..., [last, V) (word "
     "ids are by frequency)",
     0},
    {"--div-value", NULL, OPT_REAL, F(mc.div_value), 1, 1024, NULL, "4", "X",
     "adaptive softmax: cluster k projects to width / X^k", 0},
    {"--cond-dim", NULL, OPT_INT, F(mc.cond_dim), 1, 65536, NULL, "32", "N",
     "condlm: width of a label's embedding (a tanh layer per layer makes its initial state)", 0},
    {"--cond-input", NULL, OPT_SWITCH, F(mc.cond_input), 0, 1, NULL, "0", NULL,
     "condlm: also append the label's embedding to every input", 0},
    {"--bidirectional", NULL, OPT_SWITCH, F(mc.bidirectional), 0, 1, NULL, "0", NULL,
     "each layer also runs backward (classify, tag)", 0},
    {"--pool", NULL, OPT_CHOICE, F(mc.pool), 0, 0, pool_names, "last", NULL,
     "classify: readout of the last step or the mean", 0},
    /* data */
    {"--mode", NULL, OPT_CHOICE, F(mode), 0, 0, mode_names, "stream", NULL,
     "stream: windows with carried state; sequences: each from a zero state", 0},
    {"--seq-len", NULL, OPT_INT, F(T), 1, 1 << 20, NULL, "100", "T", "stream mode: window length",
     0},
    {"--max-len", NULL, OPT_INT, F(max_len), 0, 1 << 24, NULL, "0", "N",
     "sequences mode: cut longer ones (0 = no cut)", 0},
    {"--batch", NULL, OPT_INT, F(B), 1, 1 << 20, NULL, "32", "B",
     "global batch: streams or sequences per step, all ranks", 0},
    {"--precision", NULL, OPT_CHOICE, F(precision), 0, 0, precision_names, "fp32", NULL,
     "bf16: matrix products take bf16 operands and accumulate in fp32 (oneDNN; AMX or AVX512-BF16 "
     "where the CPU has them); weights, optimizer and elementwise math stay fp32",
     0},
    {"--gemm", NULL, OPT_CHOICE, F(gemm), 0, 0, gemm_lib_names, "openblas", NULL,
     "fp32 matrix products by OpenBLAS or oneDNN's matmul (faster on some CPUs; results differ "
     "in the last bits)",
     0},
    /* optimizer */
    {"--optim", NULL, OPT_CHOICE, F(optim), 0, 0, optim_names, "adam", NULL, "optimizer", 0},
    {"--lr", NULL, OPT_REAL, F(lr.lr), 0, 1e3, NULL, "0.002", "X", "learning rate", 0},
    {"--weight-decay", NULL, OPT_REAL, F(weight_decay), 0, 10, NULL, "0", "X", "weight decay", 0},
    {"--momentum", NULL, OPT_REAL, F(momentum), 0, 0.9999, NULL, "0", "X", "sgd momentum", 0},
    {"--nesterov", NULL, OPT_SWITCH, F(nesterov), 0, 1, NULL, "0", NULL, "sgd: Nesterov momentum",
     0},
    {"--beta1", NULL, OPT_REAL, F(beta1), 0, 0.9999999, NULL, "0.9", "X", "adam beta1", 0},
    {"--beta2", NULL, OPT_REAL, F(beta2), 0, 0.9999999, NULL, "0.999", "X", "adam beta2", 0},
    {"--eps", NULL, OPT_REAL, F(eps), 0, 1, NULL, "1e-8", "X", "adam epsilon", 0},
    {"--clip", NULL, OPT_REAL, F(clip), 0, 1e9, NULL, "5", "C",
     "clip the global gradient norm (0 = off)", 0},
    {"--schedule", NULL, OPT_CHOICE, F(lr.kind), 0, 0, lr_names, "constant", NULL,
     "learning-rate schedule", 0},
    {"--warmup", NULL, OPT_INT, F(lr.warmup), 0, BIG, NULL, "0", "N", "linear warmup steps", 0},
    {"--decay-every", NULL, OPT_INT, F(lr.decay_every), 0, BIG, NULL, "0", "N",
     "step schedule: steps between decays", 0},
    {"--gamma", NULL, OPT_REAL, F(lr.gamma), 0, 1, NULL, "0.1", "G", "step schedule: decay factor",
     0},
    {"--min-lr", NULL, OPT_REAL, F(lr.min_lr), 0, 1e3, NULL, "0", "X",
     "cosine schedule: final learning rate", 0},
    {"--embed-update", NULL, OPT_CHOICE, F(embed_update), 0, 0, embed_update_names, "dense", NULL,
     "lazy: the embedding rows no rank's batch used keep their values and optimizer moments "
     "(PyTorch's SparseAdam, TF's LazyAdam; a large vocabulary's optimizer step then costs the "
     "rows used); dense: every row is updated, as torch.optim does",
     0},
    {"--seed", NULL, OPT_UINT, F(seed), 0, 9.2e18, NULL, "1234", "S", "seed of every random choice",
     0},
    {"--scheduled-sampling", NULL, OPT_CHOICE, F(ss_kind), 0, 0, ss_names, "none", NULL,
     "feed the model its own predictions (Bengio et al. 2015)", 0},
    {"--ss-k", NULL, OPT_REAL, F(ss_k), 0, 1e12, NULL, "1", "K", "scheduled sampling: k", 0},
    {"--ss-c", NULL, OPT_REAL, F(ss_c), 0, 1e3, NULL, "0.0001", "C",
     "scheduled sampling: c (linear)", 0},
    {"--ss-min", NULL, OPT_REAL, F(ss_min), 0, 1, NULL, "0", "E", "scheduled sampling: lowest eps",
     0},
    /* the run: may change when it is resumed */
    {"--accum", NULL, OPT_INT, F(accum), 1, 1 << 16, NULL, "1", "K",
     "gradient accumulation slots per rank", OPT_RESUME_SAFE},
    {"--steps", NULL, OPT_INT, F(steps), 0, BIG, NULL, NULL, "N",
     "optimizer steps (instead of --epochs)", OPT_RESUME_SAFE},
    {"--epochs", NULL, OPT_INT, F(epochs), 1, 1 << 30, NULL, "1", "N",
     "passes over the training split (unless --steps)", OPT_RESUME_SAFE},
    {"--eval-every", NULL, OPT_INT, F(eval_every), 0, BIG, NULL, "0", "N",
     "validate every N steps (and at the end)", OPT_RESUME_SAFE},
    {"--diagnose-every", NULL, OPT_INT, F(diagnose_every), 0, BIG, NULL, "0", "N",
     "record the gradient flow through time every N steps (0 = off; recur report draws it)",
     OPT_RESUME_SAFE},
    {"--sample-len", NULL, OPT_INT, F(sample_len), 0, 100000, NULL, "200", "N",
     "lm: a sample of N tokens logged with each validation (0 = none)", OPT_RESUME_SAFE},
    {"--log-every", NULL, OPT_INT, F(log_every), 1, BIG, NULL, "10", "N",
     "progress line every N steps", OPT_RESUME_SAFE},
    {"--ckpt-every", NULL, OPT_INT, F(save_every), 0, BIG, NULL, "1000", "N",
     "checkpoint every N steps", OPT_RESUME_SAFE},
    {"--ckpt-minutes", NULL, OPT_REAL, F(ckpt_minutes), 0, 1e6, NULL, "0", "M",
     "also checkpoint every M minutes of wall time (0 = off)", OPT_RESUME_SAFE},
    {"--keep", NULL, OPT_INT, F(keep), 0, 1 << 30, NULL, "0", "N",
     "committed checkpoints kept (0 = all)", OPT_RESUME_SAFE},
    {"--comm-timeout", NULL, OPT_REAL, F(comm_timeout), 0, 1e7, NULL, "1800", "S",
     "end the job when a rank waits S seconds for the others: a host or the network is gone "
     "(0 = wait forever)",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
    {"--sparse-reduce", NULL, OPT_CHOICE, F(sparse_reduce), 0, 0, sparse_reduce_names, "auto", NULL,
     "auto: sum the embedding's gradient over the rows the ranks' batches used, when that is "
     "smaller than the whole; off: always the whole (the same sums)",
     OPT_RESUME_SAFE},
    {"--max-bad-steps", NULL, OPT_INT, F(max_bad_steps), 1, 1 << 30, NULL, "10", "N",
     "stop after N non-finite steps in a row", OPT_RESUME_SAFE},
    {"--quiet", NULL, OPT_SWITCH, F(quiet), 0, 1, NULL, "0", NULL, "no progress lines",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
    {"--data", NULL, OPT_STR, F(data), 0, 0, NULL, NULL, "D.h5", "the dataset", OPT_RESUME_SAFE},
    {"--out", NULL, OPT_STR, F(out), 0, 0, NULL, NULL, "RUN", "the run directory",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
    {"--resume", NULL, OPT_STR, F(resume), 0, 0, NULL, NULL, "RUN|CKPT",
     "continue a run from its newest valid checkpoint (or this checkpoint)",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
};
#undef F
_Static_assert(sizeof DEFS / sizeof DEFS[0] <= TRAIN_MAX_FLAGS, "raise TRAIN_MAX_FLAGS");

static const opt_table TABLE = {"train",
                                "usage: recur train --data D.h5 --out RUN [flags]    (mpirun -np N "
                                "recur train ... for N ranks)",
                                "Scheduled sampling: eps_i = probability of the ground truth at "
                                "step i: linear max(E, K - C i),\n"
                                "exp max(E, K^i), invsigmoid max(E, K / (K + exp(i / K))).\n"
                                "Resume: flags given again must agree with the checkpoint, except "
                                "those marked [may change on resume].\n"
                                "Signals: SIGINT/SIGTERM/SIGUSR2 finish the step, commit a "
                                "checkpoint and exit 0; SIGUSR1 commits one\n"
                                "and goes on (README: Stopping a run).\n",
                                DEFS, (int)(sizeof DEFS / sizeof DEFS[0])};

const opt_table *train_options(void) { return &TABLE; }

void train_opts_default(train_opts *o) {
  memset(o, 0, sizeof *o);
  opts_default(&TABLE, o);
}

void train_opts_free(train_opts *o) { opts_free(&TABLE, o); }

char *train_opts_text(const train_opts *o) { return opts_text(&TABLE, o); }

void train_opts_copy(train_opts *dst, const train_opts *src) {
  train_opts_default(dst);
  for (int i = 0; i < TABLE.n; i++) opts_copy(&TABLE, i, dst, src);
  memcpy(dst->given, src->given, sizeof src->given);
}

void train_opts_merge(train_opts *saved, const train_opts *given, const char *text,
                      const char *dir) {
  train_opts_default(saved);
  opts_load_text(&TABLE, saved, text, dir);
  size_t cap = 256, n = 0;
  char *bad = xcalloc(cap, 1);
  for (int i = 0; i < TABLE.n; i++) {
    const opt_def *d = &TABLE.defs[i];
    if ((d->flags & OPT_NOT_SAVED) || ((d->flags & OPT_RESUME_SAFE) && given->given[i])) {
      opts_copy(&TABLE, i, saved, given); /* this invocation's value */
      saved->given[i] = given->given[i];
    } else if (given->given[i]) { /* must agree */
      char *gv = opts_value(&TABLE, i, given), *sv = opts_value(&TABLE, i, saved);
      if (strcmp(gv, sv) != 0) {
        size_t need = strlen(d->flag) + strlen(gv) + strlen(sv) + 32;
        while (n + need >= cap) bad = xrealloc(bad, cap *= 2);
        n += (size_t)snprintf(bad + n, cap - n, "%s%s %s (checkpoint: %s)", n ? ", " : "", d->flag,
                              gv, sv);
      }
      xfree(gv);
      xfree(sv);
    }
  }
  /* --epochs given again on resume replaces the run's --steps (and --steps its --epochs) */
  if (given->given[opts_find(&TABLE, "--epochs")] && !given->given[opts_find(&TABLE, "--steps")])
    saved->steps = 0;
  if (n)
    recur_fail(dir, "drop these flags to continue the run as it was, or start a new run",
               "flags disagree with the checkpoint: %s", bad);
  xfree(bad);
}

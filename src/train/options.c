/* options: every `recur train` flag, declared once (see opts.h), and the rules of a resumed run:
 * the options saved in a checkpoint come back, flags given again must agree with them unless the
 * table marks them safe to change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "recur/dist.h"
#include "recur/gemm.h"
#include "recur/mconf.h"
#include "recur/train.h"
#include "train-impl.h"

const char *const ss_names[SS_COUNT + 1] = {"none", "linear", "exp", "invsigmoid", NULL};
const char *const sparse_reduce_names[] = {"auto", "off", NULL};
const char *const grad_sum_names[] = {"fp32", "bf16", NULL};
const char *const embed_update_names[] = {"dense", "lazy", NULL};

#define F(member) OPT_FIELD(train_opts, member)
#define BIG       4.6e18 /* about INT64_MAX / 2 */
static const opt_def DEFS[] = {
    /* the model's flags come from its configuration's table (mconf.h); then: */
    /* data */
    {"--mode", NULL, OPT_CHOICE, F(mode), 0, 0, mode_names, "stream", NULL,
     "stream: windows with carried state; sequences: each from a zero state (default: stream for "
     "lm, sequences for the other tasks)",
     0},
    {"--seq-len", NULL, OPT_INT, F(T), 1, 1 << 20, NULL, "100", "T", "stream mode: window length",
     0},
    {"--shuffle", NULL, OPT_CHOICE, F(shuffle), 0, 0, shuffle_names, "pools", NULL,
     "sequences mode's epoch order: pools (pools of 50 batches drawn by a keyed permutation, "
     "sorted by length, their batches shuffled; memory independent of the corpus) or global (the "
     "split permuted in memory, 8 bytes a sequence; runs saved before this option resume with it)",
     0},
    {"--max-len", NULL, OPT_INT, F(max_len), 0, 1 << 24, NULL, "0", "N",
     "sequences mode: cut longer ones (0 = no cut)", 0},
    {"--batch", NULL, OPT_INT, F(B), 1, 1 << 20, NULL, "32", "B",
     "global batch: streams or sequences per step, all ranks", 0},
    GEMM_OPT_DEFS(train_opts, kernel, "auto"),
    /* optimizer */
    {"--optim", NULL, OPT_CHOICE, F(optim), 0, 0, optim_names, "adam", NULL, "optimizer", 0},
    {"--lr", NULL, OPT_REAL, F(lr.lr), 0, 1e3, NULL, "0.002", "X",
     "learning rate (a schedule's peak)", OPT_RESUME_SAFE},
    {"--weight-decay", NULL, OPT_REAL, F(weight_decay), 0, 10, NULL, "0", "X", "weight decay", 0},
    {"--momentum", NULL, OPT_REAL, F(momentum), 0, 0.9999, NULL, "0", "X", "sgd momentum", 0},
    {"--nesterov", NULL, OPT_SWITCH, F(nesterov), 0, 1, NULL, "0", NULL, "sgd: Nesterov momentum",
     0},
    {"--beta1", NULL, OPT_REAL, F(beta1), 0, 0.9999999, NULL, "0.9", "X", "adam beta1", 0},
    {"--beta2", NULL, OPT_REAL, F(beta2), 0, 0.9999999, NULL, "0.999", "X", "adam beta2", 0},
    {"--eps", NULL, OPT_REAL, F(eps), 0, 1, NULL, "1e-8", "X", "adam epsilon", 0},
    {"--clip", NULL, OPT_REAL, F(clip), 0, 1e9, NULL, "5", "C",
     "clip the global gradient norm (0 = off)", 0},
    /* the learning-rate schedule: may change on resume (the curve is a function of the step) */
    {"--schedule", NULL, OPT_CHOICE, F(lr.kind), 0, 0, lr_names, "constant", NULL,
     "learning-rate schedule", OPT_RESUME_SAFE},
    {"--warmup", NULL, OPT_INT, F(lr.warmup), 0, BIG, NULL, "0", "N",
     "linear warmup steps (from the schedule's start)", OPT_RESUME_SAFE},
    {"--decay-every", NULL, OPT_INT, F(lr.decay_every), 0, BIG, NULL, "0", "N",
     "step schedule: steps between decays", OPT_RESUME_SAFE},
    {"--gamma", NULL, OPT_REAL, F(lr.gamma), 0, 1, NULL, "0.1", "G", "step schedule: decay factor",
     OPT_RESUME_SAFE},
    {"--min-lr", NULL, OPT_REAL, F(lr.min_lr), 0, 1e3, NULL, "0", "X",
     "cosine schedule: final learning rate", OPT_RESUME_SAFE},
    {"--schedule-steps", NULL, OPT_INT, F(lr.total), 0, BIG, NULL, "0", "N",
     "the step the schedule ends at (cosine reaches --min-lr there and stays; 0 = the run's last "
     "step); a resume keeps it whatever --steps says, unless given or --restart-schedule",
     OPT_RESUME_SAFE},
    {"--schedule-start", NULL, OPT_INT, F(lr.start), 0, BIG, NULL, "0", "N",
     "the step the schedule and its warmup begin at (--restart-schedule sets it)", OPT_RESUME_SAFE},
    {"--restart-schedule", NULL, OPT_SWITCH, F(restart_schedule), 0, 1, NULL, "0", NULL,
     "on resume: a new schedule from the checkpoint's step to the run's new last step (warmup, "
     "then the decay, from --lr as given or saved)",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
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
    {"--eval-minutes", NULL, OPT_REAL, F(eval_minutes), 0, 1e6, NULL, "5", "M",
     "also validate when M minutes of wall time passed since the last validation (0 = off): a "
     "long run keeps model-best.h5 without --eval-every",
     OPT_RESUME_SAFE},
    {"--diagnose-every", NULL, OPT_INT, F(diagnose_every), 0, BIG, NULL, "0", "N",
     "record the gradient flow through time every N steps (0 = off; recur report draws it)",
     OPT_RESUME_SAFE},
    {"--sample-len", NULL, OPT_INT, F(sample_len), 0, 100000, NULL, "200", "N",
     "lm: a sample of N tokens logged with each validation (0 = none)", OPT_RESUME_SAFE},
    {"--log-every", NULL, OPT_INT, F(log_every), 1, BIG, NULL, TRAIN_LOG_EVERY_TEXT, "N",
     "a metrics.jsonl line every N steps; the console shows each one when --log-every is given, "
     "else one every " TRAIN_PRINT_EVERY_TEXT " s",
     OPT_RESUME_SAFE},
    {"--ckpt-every", NULL, OPT_INT, F(ckpt_every), 0, BIG, NULL, "1000", "N",
     "checkpoint every N steps", OPT_RESUME_SAFE},
    {"--ckpt-minutes", NULL, OPT_REAL, F(ckpt_minutes), 0, 1e6, NULL, "0", "M",
     "also checkpoint every M minutes of wall time (0 = off)", OPT_RESUME_SAFE},
    {"--time-budget", NULL, OPT_REAL, F(time_budget), 0, 1e7, NULL, "0", "MINUTES",
     "train for this much wall time, ending with a checkpoint and the final validation inside it: "
     "the run's last step (at most --steps or --epochs when given) and the schedule's end are "
     "fitted to the steps that fit, measured over the first steps and refitted as it goes (0 = "
     "off)",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
    {"--keep", NULL, OPT_INT, F(keep), 0, 1 << 30, NULL, "0", "N",
     "committed checkpoints kept (0 = all)", OPT_RESUME_SAFE},
    DIST_TIMEOUT_OPT_DEF(train_opts, comm_timeout, OPT_RESUME_SAFE | OPT_NOT_SAVED),
    {"--sparse-reduce", NULL, OPT_CHOICE, F(sparse_reduce), 0, 0, sparse_reduce_names, "auto", NULL,
     "auto: sum the embedding's gradient over the rows the ranks' batches used, when that is "
     "smaller than the whole; off: always the whole (the same sums)",
     OPT_RESUME_SAFE},
    {"--grad-sum", NULL, OPT_CHOICE, F(grad_sum), 0, 0, grad_sum_names, "fp32", NULL,
     "the precision gradients are summed across ranks in: bf16 sends half the bytes, each "
     "addition rounded to bf16 (PyTorch DDP's bf16 compression hook; no error feedback); 1 rank "
     "sums nothing",
     OPT_RESUME_SAFE},
    {"--max-bad-steps", NULL, OPT_INT, F(max_bad_steps), 1, 1 << 30, NULL, "10", "N",
     "stop after N non-finite steps in a row", OPT_RESUME_SAFE},
    {"--quiet", NULL, OPT_SWITCH, F(quiet), 0, 1, NULL, "0", NULL, "no progress lines",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
    {"--options-json", NULL, OPT_SWITCH, F(options_json), 0, 1, NULL, "0", NULL,
     "print this table (every flag: type, default, bounds, choices, resume rule, and for the "
     "model's the model.h5 attribute, tasks and cells) as one JSON object and exit",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
    {"--data", NULL, OPT_STR, F(data), 0, 0, NULL, NULL, "D.h5", "the dataset", OPT_RESUME_SAFE},
    {"--out", NULL, OPT_STR, F(out), 0, 0, NULL, NULL, "RUN", "the run directory",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
    {"--resume", NULL, OPT_STR, F(resume), 0, 0, NULL, NULL, "RUN|CKPT",
     "continue a run from its newest valid checkpoint (or this checkpoint)",
     OPT_RESUME_SAFE | OPT_NOT_SAVED},
};
#undef F

static opt_def ALL[TRAIN_MAX_FLAGS];
static opt_table TABLE = {"train",
                          "usage: recur train --data D.h5 --out RUN [flags]    (mpirun -np N "
                          "recur train ... for N ranks)",
                          "Scheduled sampling: eps_i = probability of the ground truth at "
                          "step i: linear max(E, K - C i),\n"
                          "exp max(E, K^i), invsigmoid max(E, K / (K + exp(i / K))).\n"
                          "Resume: flags given again must agree with the checkpoint, except "
                          "those marked\n[may change on resume].\n"
                          "Signals: SIGINT/SIGTERM/SIGUSR2 finish the step, commit a "
                          "checkpoint and exit 0; SIGUSR1 commits one\n"
                          "and goes on (README: Stopping a run).\n",
                          ALL, 0};

/* the table: the model's rows that have a flag (their field inside train_opts.mc), then DEFS */
const opt_table *train_options(void) {
  if (TABLE.n) return &TABLE;
  const size_t base = offsetof(train_opts, mc);
  int n = 0;
  for (int i = 0; i < mconf_n; i++) {
    const mconf_def *d = &mconf_defs[i];
    if (!d->flag) continue;
    RECUR_ASSERT(n < TRAIN_MAX_FLAGS);
    ALL[n++] = mconf_opt(d, base, d->flag);
  }
  for (size_t i = 0; i < sizeof DEFS / sizeof DEFS[0]; i++) {
    RECUR_ASSERT(n < TRAIN_MAX_FLAGS);
    ALL[n++] = DEFS[i];
  }
  TABLE.n = n;
  return &TABLE;
}

void train_opts_default(train_opts *o) {
  memset(o, 0, sizeof *o);
  mconf_default(&o->mc); /* the rows without a flag too */
  opts_default(train_options(), o);
}

void train_opts_free(train_opts *o) { opts_free(train_options(), o); }

char *train_opts_text(const train_opts *o) { return opts_text(train_options(), o); }

void train_opts_copy(train_opts *dst, const train_opts *src) {
  const opt_table *T = train_options();
  train_opts_default(dst);
  dst->mc = src->mc;
  for (int i = 0; i < T->n; i++) opts_copy(T, i, dst, src);
  memcpy(dst->given, src->given, sizeof src->given);
}

/* "--flag value" appended to a growing string */
static void append(char **s, size_t *n, size_t *cap, const char *flag, const char *value) {
  size_t need = strlen(flag) + strlen(value) + 4;
  while (*n + need >= *cap) *s = xrealloc(*s, *cap *= 2);
  *n += (size_t)snprintf(*s + *n, *cap - *n, "%s%s %s", *n ? " " : "", flag, value);
}

char *train_opts_merge(train_opts *saved, const train_opts *given, const char *text,
                       const char *dir) {
  const opt_table *T = train_options();
  train_opts_default(saved);
  saved->shuffle = SHUFFLE_GLOBAL; /* a checkpoint written before --shuffle: the order it had */
  opts_load_text(T, saved, text, dir);
  /* a checkpoint written before --schedule-steps: its schedule ended at its run's --steps */
  if (saved->lr.total == 0 && saved->steps > 0) saved->lr.total = saved->steps;
  size_t cap = 256, n = 0, tcap = 256, tn = 0;
  char *bad = xcalloc(cap, 1), *taken = xcalloc(tcap, 1);
  train_opts dflt; /* what "not at its default" is measured against */
  train_opts_default(&dflt);
  for (int i = 0; i < T->n; i++) {
    const opt_def *d = &T->defs[i];
    if ((d->flags & OPT_NOT_SAVED) || ((d->flags & OPT_RESUME_SAFE) && given->given[i])) {
      opts_copy(T, i, saved, given); /* this invocation's value */
      saved->given[i] = given->given[i];
    } else if (given->given[i]) { /* must agree */
      char *gv = opts_value(T, i, given), *sv = opts_value(T, i, saved);
      if (strcmp(gv, sv) != 0) {
        size_t need = strlen(d->flag) + strlen(gv) + strlen(sv) + 32;
        while (n + need >= cap) bad = xrealloc(bad, cap *= 2);
        n += (size_t)snprintf(bad + n, cap - n, "%s%s %s (checkpoint: %s)", n ? ", " : "", d->flag,
                              gv, sv);
      }
      xfree(gv);
      xfree(sv);
    } else { /* taken from the checkpoint: named when not at its default */
      char *sv = opts_value(T, i, saved), *dv = opts_value(T, i, &dflt);
      if (strcmp(sv, dv) != 0) append(&taken, &tn, &tcap, d->flag, sv);
      xfree(sv);
      xfree(dv);
    }
  }
  /* --epochs given again on resume replaces the run's --steps (and --steps its --epochs) */
  if (TRAIN_GIVEN(given, epochs) && !TRAIN_GIVEN(given, steps)) saved->steps = 0;
  if (n)
    recur_fail(dir, "drop these flags to continue the run as it was, or start a new run",
               "flags disagree with the checkpoint: %s", bad);
  xfree(bad);
  train_opts_free(&dflt);
  return taken;
}

/* names of the set bits of mask in a NULL-terminated name table, as a JSON array */
static void json_mask(json_writer *j, const char *key, unsigned mask, const char *const *names) {
  json_array_begin(j, key);
  for (int k = 0; names[k]; k++)
    if (mask & (1u << k)) json_str(j, NULL, names[k]);
  json_array_end(j);
}

void train_options_json(FILE *f) {
  static const char *const types[] = {"int", "uint", "real", "str", "choice", "switch", "ints"};
  const opt_table *T = train_options();
  json_writer j;
  json_init(&j, f);
  json_object_begin(&j, NULL);
  json_array_begin(&j, "options");
  for (int i = 0; i < T->n; i++) {
    const opt_def *d = &T->defs[i];
    json_object_begin(&j, NULL);
    json_str(&j, "flag", d->flag);
    json_str(&j, "type", types[d->type]);
    json_str(&j, "default", d->def ? d->def : "");
    if (d->type == OPT_INT || d->type == OPT_UINT || d->type == OPT_REAL || d->type == OPT_INTS) {
      json_num(&j, "lo", d->lo);
      json_num(&j, "hi", d->hi);
    }
    if (d->choices) {
      json_array_begin(&j, "choices");
      for (int k = 0; d->choices[k]; k++) json_str(&j, NULL, d->choices[k]);
      json_array_end(&j);
    }
    json_bool(&j, "resume_safe", !!(d->flags & OPT_RESUME_SAFE));
    json_bool(&j, "saved", !(d->flags & OPT_NOT_SAVED));
    for (int k = 0; k < mconf_n; k++) { /* the model's rows */
      const mconf_def *m = &mconf_defs[k];
      if (!m->flag || strcmp(m->flag, d->flag)) continue;
      json_str(&j, "attr", m->attr);
      json_mask(&j, "tasks", m->tasks, task_names);
      json_mask(&j, "cells", m->cells, cell_names);
      json_bool(&j, "shapes_parameters", !!(m->kind & MCONF_SHAPE));
      json_bool(&j, "training_only", !!(m->kind & MCONF_TRAIN));
    }
    json_object_end(&j);
  }
  json_array_end(&j);
  json_object_end(&j);
}

int train_opts_set(train_opts *o, const char *flag, const char *value, char *err, size_t cap) {
  const opt_table *T = train_options();
  int i = opts_find(T, flag);
  if (i < 0) {
    snprintf(err, cap, "unknown flag '%s' for train", flag);
    return -1;
  }
  if (opts_set(T, i, o, value ? value : "1", err, cap) != 0) return -1;
  o->given[i] = 1;
  return 0;
}

/* What a run needs of its options whoever gave them (the command line or a program). */
void train_opts_check(const train_opts *o) {
  if (!o->data && !o->resume)
    recur_usage_fail("recur train --data D.h5 --out RUN", "--data is required");
  if (!o->out && !o->resume)
    recur_usage_fail("recur train --data D.h5 --out RUN", "--out is required");
  const int gs = TRAIN_GIVEN(o, steps), ge = TRAIN_GIVEN(o, epochs);
  if (gs && ge)
    recur_usage_fail("--steps N trains N optimizer steps, --epochs N that many passes",
                     "give --steps or --epochs, not both");
  if (gs && o->steps == 0)
    recur_usage_fail("leave --steps out to train --epochs N (1 by default)",
                     "--steps must be at least 1");
}

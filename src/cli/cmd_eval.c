/* recur eval: the exact loss of a split as validation computes it (train_eval), with each task's
 * figures; this file parses, calls and prints. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/dist.h"
#include "recur/gemm.h"
#include "recur/generate.h"
#include "recur/json.h"
#include "recur/prepare.h"
#include "recur/model.h"
#include "recur/tasks.h"
#include "recur/train.h"

/* ---- eval ---- */
typedef struct {
  char *data;
  enum ds_split_id split;
  int json, batch, max_len, best, last;
  int64_t rollout;
  gemm_choice kernel;
  double comm_timeout;
} eval_flags;

#define F(m) OPT_FIELD(eval_flags, m)
static const opt_def EVAL_DEFS[] = {
    {"--data", NULL, OPT_STR, F(data), 0, 0, NULL, NULL, "D.h5", "the dataset (required)", 0},
    {"--split", NULL, OPT_CHOICE, F(split), 0, 0, ds_split_names, "val", NULL, "which split", 0},
    {"--json", NULL, OPT_SWITCH, F(json), 0, 1, NULL, "0", NULL, "one JSON object", 0},
    {"--batch", NULL, OPT_INT, F(batch), 1, 1 << 20, NULL, "32", "B", "sequences per batch", 0},
    {"--max-len", NULL, OPT_INT, F(max_len), 0, 1 << 24, NULL, "0", "N",
     "cut longer sequences: a cheaper estimate, not the validation loss (0 = no cut)", 0},
    CLI_PICK_OPT_DEFS(eval_flags),
    {"--rollout", NULL, OPT_INT, F(rollout), 0, 1 << 20, NULL, "0", "N",
     "forecast: also predict each sequence's last N frames from the ones before, on its own "
     "predictions (0 = one step only)",
     0},
    GEMM_OPT_DEFS(eval_flags, kernel, "auto"),
    DIST_TIMEOUT_OPT_DEF(eval_flags, comm_timeout, 0),
};
#undef F
static const opt_table EVAL = {
    "eval",
    "usage: recur eval MODEL --data D.h5 [flags]   (MODEL: model.h5, checkpoint or run directory)",
    "The loss of a split as validation during training computes it (the same function): every\n"
    "sequence from a zero state (an undelimited split as one stream, in pieces of a 64th of\n"
    "it side by side, each after the first begun with the 256 tokens before it),\n"
    "sharded over ranks under mpirun; accuracy, F1 and the confusion matrix for classifiers and\n"
    "taggers.\n" CLI_PICK_HELP,
    EVAL_DEFS, sizeof EVAL_DEFS / sizeof EVAL_DEFS[0]};

static void check_same_vocab(const dataset *ds, const model_vocab *v, const char *data) {
  if (ds->vocab_size != v->vocab_size || ds->level != v->level)
    recur_fail(data, "evaluate on a dataset prepared with the model's vocabulary (--vocab)",
               "vocabulary (%lld, %s level) differs from the model's (%lld, %s level)",
               (long long)ds->vocab_size, ds_level_names[ds->level], (long long)v->vocab_size,
               ds_level_names[v->level]);
  for (int64_t i = 0; i < v->vocab_size; i++)
    if (strcmp(ds->vocab[i], v->vocab[i]) != 0)
      recur_fail(data, "evaluate on a dataset prepared with the model's vocabulary (--vocab)",
                 "vocabulary entry %lld differs from the model's", (long long)i);
  const int64_t ns = v->src_vocab ? v->src_vocab_size : 0; /* seq2seq --separate-vocab */
  if ((ds->separate_vocab ? ds->src_vocab_size : 0) != ns)
    recur_fail(data, "evaluate on a dataset prepared like the model's (--separate-vocab)",
               "the sources' vocabulary (%lld entries) differs from the model's (%lld)",
               (long long)(ds->separate_vocab ? ds->src_vocab_size : 0), (long long)ns);
  for (int64_t i = 0; i < ns; i++)
    if (strcmp(ds->src_vocab[i], v->src_vocab[i]) != 0)
      recur_fail(data, "evaluate on a dataset prepared like the model's (--separate-vocab)",
                 "source vocabulary entry %lld differs from the model's", (long long)i);
  int same = ds->n_cond_features == v->n_cond_names; /* condlm --cond-features: the same vector */
  for (int i = 0; same && i < ds->n_cond_features; i++)
    same = !strcmp(ds->cond_names[i], v->cond_names[i]);
  if (!same) {
    const char *none = task_is(ds->task)->source ? "text sources" : "labels",
               *kind = task_is(ds->task)->source ? "frames" : "vectors";
    char a[64], b[64];
    snprintf(a, sizeof a, "%s", none);
    snprintf(b, sizeof b, "%s", none);
    if (ds->n_cond_features) snprintf(a, sizeof a, "%s of %d features", kind, ds->n_cond_features);
    if (v->n_cond_names)
      snprintf(b, sizeof b, "%s of %lld features", kind, (long long)v->n_cond_names);
    recur_fail(data, "evaluate on a dataset conditioned like the model's (--cond-features)",
               "its conditions (%s) differ from the model's (%s%s)", a, b,
               ds->n_cond_features == v->n_cond_names ? ", other names" : "");
  }
}

static void print_eval(const dataset *ds, const eval_result *r, const char *split, int json,
                       int max_len, const eval_result *ro, int steps, const char *file) {
  const task_desc *d = task_desc_of(ds->task); /* the task's own figures */
  if (json) {
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_str(&j, "model", file); /* the model.h5 MODEL resolved to */
    json_str(&j, "split", split);
    json_num(&j, "loss", r->loss_sum / r->tokens);
    json_num(&j, task_is(ds->task)->pooled ? "sequences" : "tokens", r->tokens); /* steps too */
    if (max_len > 0) json_int(&j, "max_len", max_len); /* an estimate: sequences were cut */
    d->json(&j, "", ds, r);
    if (ro) { /* forecast --rollout */
      json_object_begin(&j, "rollout");
      json_int(&j, "steps", steps);
      json_num(&j, "frames", ro->tokens);
      d->json(&j, "", ds, ro);
      json_object_end(&j);
    }
    json_object_end(&j);
    return;
  }
  d->full(stdout, split, ds, r);
  if (ro)
    printf("rollout of the last %d frames (%.0f frames): mse %.6g, mae %.6g; repeating the last "
           "frame seen: mse %.6g, mae %.6g\n",
           steps, ro->tokens, eval_forecast(ro, 0, -1), eval_forecast(ro, 1, -1),
           eval_forecast(ro, 2, -1), eval_forecast(ro, 3, -1));
  if (max_len > 0)
    printf("(sequences cut at --max-len %d: an estimate, not the validation loss)\n", max_len);
}

int cmd_eval(int argc, char **argv) {
  eval_flags f;
  const char *path = NULL;
  int np = 0;
  opts_default(&EVAL, &f);
  unsigned char given[32] = {0};
  if (opts_parse(&EVAL, &f, given, argc, argv, &path, 1, &np)) return opts_free(&EVAL, &f), 0;
  if (!path || !f.data)
    recur_usage_fail("recur eval MODEL --data D.h5 [--split val|test]",
                     "MODEL and --data are required");
  dist_watch_set(f.comm_timeout);
  model_vocab v;
  char *file = NULL;
  model *m =
      cli_model_load(path, f.best, f.last, 0, &v, &f.kernel,
                     given[opts_at(&EVAL, offsetof(eval_flags, kernel.lib))], f.batch, 1, &file);
  dataset *ds = dataset_open(f.data);
  if ((ds->level == LEVEL_REAL) != (m->cfg.n_in > 0))
    recur_fail(f.data, "evaluate on data like the model's inputs",
               "the dataset holds %s, the model reads %s",
               ds->level == LEVEL_REAL ? "real-valued sequences" : "text",
               m->cfg.n_in > 0 ? "real-valued sequences" : "text");
  if ((task_is(ds->task)->frames) != (task_is(m->cfg.task)->frames))
    recur_fail(f.data, "evaluate on a dataset prepared for the model's task",
               "the dataset is for %s, the model for %s", task_names[ds->task],
               task_names[m->cfg.task]);
  if (ds->level == LEVEL_REAL) { /* the model's features, in order; its horizon */
    int same = ds->n_features == (int)v.n_features;
    for (int i = 0; same && i < ds->n_features; i++)
      same = !strcmp(ds->feature_names[i], v.feature_names[i]);
    if (!same)
      recur_fail(f.data, "evaluate on data with the model's features",
                 "the dataset's features differ from the model's");
    ds->horizon = m->cfg.horizon;
  }
  check_same_vocab(ds, &v, f.data);
  if (ds->split[f.split].n_tok == 0)
    recur_fail(f.data, NULL, "the %s split is empty", ds_split_names[f.split]);
  if (ds->task != m->cfg.task)
    recur_fail(f.data, "evaluate on a dataset prepared for the model's task",
               "the dataset is for %s, the model for %s", task_names[ds->task],
               task_names[m->cfg.task]);
  core_errors_agreed(0); /* each rank reads its own sequences */
  eval_result r = train_eval(m, ds, f.split, f.batch, f.max_len);
  if (f.rollout > 0 && !task_is(ds->task)->frames)
    recur_usage_fail("--rollout rolls a forecaster forward",
                     "--rollout needs a --task forecast model");
  eval_result ro = {0};
  if (f.rollout > 0) ro = train_eval_rollout(m, ds, f.split, (int)f.rollout);
  if (core_rank() == 0)
    print_eval(ds, &r, ds_split_names[f.split], f.json, f.max_len, f.rollout > 0 ? &ro : NULL,
               (int)f.rollout, file);
  xfree(file);
  xfree(ro.fc);
  xfree(r.confusion);
  xfree(r.fc);
  dataset_close(ds);
  model_vocab_free(&v);
  model_free(m);
  opts_free(&EVAL, &f);
  return 0;
}

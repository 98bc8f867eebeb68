/* recur sample, eval and predict: a trained model used through the library (generate.h,
 * train_eval); this file parses, calls and prints. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/generate.h"
#include "recur/json.h"
#include "recur/model.h"
#include "recur/train.h"

/* ---- sample ---- */
typedef struct {
  char *prime;
  int64_t length, top_k;
  double temperature;
  uint64_t seed;
} sample_flags;

#define F(m) OPT_FIELD(sample_flags, m)
static const opt_def SAMPLE_DEFS[] = {
    {"--prime", NULL, OPT_STR, F(prime), 0, 0, NULL, "", "TEXT", "text the sample continues", 0},
    {"--length", NULL, OPT_INT, F(length), 0, 4.6e18, NULL, "500", "N",
     "tokens to generate at most", 0},
    {"--temperature", NULL, OPT_REAL, F(temperature), 0, 100, NULL, "1", "T",
     "sharpen (<1) or flatten (>1); 0 = argmax", 0},
    {"--top-k", NULL, OPT_INT, F(top_k), 0, 2147483647, NULL, "0", "K",
     "draw among the K most probable (0 = all)", 0},
    {"--seed", NULL, OPT_UINT, F(seed), 0, 9.2e18, NULL, "1", "S",
     "the same seed gives the same text", 0},
};
#undef F
static const opt_table SAMPLE = {
    "sample", "usage: recur sample MODEL [flags]   (MODEL: model.h5, checkpoint or run directory)",
    "Generation stops at <eos>.\n", SAMPLE_DEFS, sizeof SAMPLE_DEFS / sizeof SAMPLE_DEFS[0]};

int cmd_sample(int argc, char **argv) {
  sample_flags f;
  const char *path = NULL;
  int np = 0;
  opts_default(&SAMPLE, &f);
  if (opts_parse(&SAMPLE, &f, NULL, argc, argv, &path, 1, &np)) return opts_free(&SAMPLE, &f), 0;
  if (!path) recur_fail(NULL, "recur sample MODEL [--prime TEXT]", "no model given");
  if (core_rank() == 0) {
    model_vocab v;
    model *m = model_load(path, &v, NULL);
    if (m->cfg.task != TASK_LM)
      recur_fail(path, "use `recur predict` for classifiers and taggers",
                 "this model is a %s model, not a language model", task_names[m->cfg.task]);
    sample_opts so = {f.length, f.temperature, f.top_k, f.seed};
    generate_sample(m, &v, f.prime ? f.prime : "", &so, stdout);
    model_vocab_free(&v);
    model_free(m);
  }
  opts_free(&SAMPLE, &f);
  return 0;
}

/* ---- eval ---- */
typedef struct {
  char *data;
  enum ds_split_id split;
  int json, batch, max_len;
} eval_flags;

#define F(m) OPT_FIELD(eval_flags, m)
static const opt_def EVAL_DEFS[] = {
    {"--data", NULL, OPT_STR, F(data), 0, 0, NULL, NULL, "D.h5", "the dataset (required)", 0},
    {"--split", NULL, OPT_CHOICE, F(split), 0, 0, ds_split_names, "val", NULL, "which split", 0},
    {"--json", NULL, OPT_SWITCH, F(json), 0, 1, NULL, "0", NULL, "one JSON object", 0},
    {"--batch", NULL, OPT_INT, F(batch), 1, 1 << 20, NULL, "32", "B", "sequences per batch", 0},
    {"--max-len", NULL, OPT_INT, F(max_len), 0, 1 << 24, NULL, "0", "N",
     "cut longer sequences (0 = no cut)", 0},
};
#undef F
static const opt_table EVAL = {
    "eval",
    "usage: recur eval MODEL --data D.h5 [flags]   (MODEL: model.h5, checkpoint or run directory)",
    "The exact loss of a split (sharded over ranks under mpirun); accuracy, F1 and the\n"
    "confusion matrix for classifiers and taggers.\n",
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
}

static void print_eval(const dataset *ds, const eval_result *r, const char *split, int json) {
  double loss = r->loss_sum / r->tokens;
  const char *unit = ds->task == TASK_CLASSIFY ? "sequences" : "tokens";
  const char *name;
  double met = eval_lm_metric(ds, loss, &name);
  if (json) {
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_str(&j, "split", split);
    json_num(&j, "loss", loss);
    json_num(&j, unit, r->tokens);
    if (ds->task != TASK_LM)
      eval_json(&j, r, ds->out_names);
    else
      json_num(&j, name, met);
    json_object_end(&j);
  } else if (ds->task != TASK_LM) {
    printf("%s: loss %.4f, accuracy %.4f, macro F1 %.4f over %.0f %s\n", split, loss,
           eval_accuracy(r), eval_macro_f1(r), r->tokens, unit);
    for (int k = 0; k < r->n_out; k++) printf("  %-20s F1 %.4f\n", ds->out_names[k], eval_f1(r, k));
  } else {
    printf("%s: loss %.4f nats/token, %s %.4f, %.0f tokens\n", split, loss,
           strcmp(name, "ppl") ? "bits/char" : "perplexity", met, r->tokens);
  }
}

int cmd_eval(int argc, char **argv) {
  eval_flags f;
  const char *path = NULL;
  int np = 0;
  opts_default(&EVAL, &f);
  if (opts_parse(&EVAL, &f, NULL, argc, argv, &path, 1, &np)) return opts_free(&EVAL, &f), 0;
  if (!path || !f.data)
    recur_fail(NULL, "recur eval MODEL --data D.h5 [--split val|test]",
               "MODEL and --data are required");
  model_vocab v;
  model *m = model_load(path, &v, NULL);
  dataset *ds = dataset_open(f.data);
  check_same_vocab(ds, &v, f.data);
  if (ds->split[f.split].n_tok == 0)
    recur_fail(f.data, NULL, "the %s split is empty", ds_split_names[f.split]);
  if (ds->task != m->cfg.task)
    recur_fail(f.data, "evaluate on a dataset prepared for the model's task",
               "the dataset is for %s, the model for %s", task_names[ds->task],
               task_names[m->cfg.task]);
  int as_stream = ds->task == TASK_LM && ds->eos_id < 0;
  eval_result r = train_eval(m, ds, f.split, as_stream, 1, 256, f.batch, f.max_len);
  if (core_rank() == 0) print_eval(ds, &r, ds_split_names[f.split], f.json);
  free(r.confusion);
  dataset_close(ds);
  model_vocab_free(&v);
  model_free(m);
  opts_free(&EVAL, &f);
  return 0;
}

/* ---- predict ---- */
static const opt_table PREDICT = {
    "predict",
    "usage: recur predict MODEL [TEXT | -]   (- or nothing: one input per line of stdin)",
    "Prints each line's label and its probability (classify), or its tags (tag).\n", NULL, 0};

int cmd_predict(int argc, char **argv) {
  const char *pos[2] = {NULL, NULL};
  int np = 0;
  if (opts_parse(&PREDICT, NULL, NULL, argc, argv, pos, 2, &np)) return 0;
  const char *path = pos[0], *text = pos[1];
  if (!path) recur_fail(NULL, "recur predict MODEL [TEXT | -]", "no model given");
  if (core_rank() != 0) return 0;
  model_vocab v;
  model *m = model_load(path, &v, NULL);
  if (m->cfg.task == TASK_LM)
    recur_fail(path, "use `recur sample` for language models", "this is a language model");
  vocab_index vi;
  vocab_index_init(&vi, v.level, v.vocab, v.vocab_size, v.eos_id, v.unk_id);
  batch b = {0};
  if (text && strcmp(text, "-") != 0) {
    generate_predict(m, &v, &vi, text, &b, stdout);
  } else {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
      while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
      generate_predict(m, &v, &vi, line, &b, stdout);
    }
    free(line);
  }
  batch_free(&b);
  vocab_index_free(&vi);
  model_vocab_free(&v);
  model_free(m);
  return 0;
}

/* recur sample, eval and predict: a trained model used through the library (generate.h,
 * train_eval); this file parses, calls and prints. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
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
#include "recur/train.h"

/* ---- sample ---- */
typedef struct {
  char *prime;
  char *label, *cond;
  int64_t length, top_k;
  double temperature;
  uint64_t seed;
  int strict, best, json, quiet;
} sample_flags;

#define F(m) OPT_FIELD(sample_flags, m)
static const opt_def SAMPLE_DEFS[] = {
    {"--prime", NULL, OPT_STR, F(prime), 0, 0, NULL, "", "TEXT|FRAMES.csv",
     "text the sample continues; a forecaster: a CSV of frames (its header names the features) "
     "rolled forward --length frames",
     0},
    {"--label", NULL, OPT_STR, F(label), 0, 0, NULL, "", "NAME",
     "a conditioned model (--task condlm): the label the text is written for", 0},
    {"--cond", NULL, OPT_STR, F(cond), 0, 0, NULL, "", "V1,V2,..|FILE.csv",
     "a model conditioned on vectors (prepare --cond-features): the vector, as numbers in its "
     "features' order or a CSV whose header names them (its first row)",
     0},
    {"--length", NULL, OPT_INT, F(length), 0, 4.6e18, NULL, "500", "N",
     "tokens to generate at most (fewer when the model ends the text with <eos>)", 0},
    {"--temperature", NULL, OPT_REAL, F(temperature), 0, 100, NULL, "1", "T",
     "sharpen (<1) or flatten (>1); 0 = argmax", 0},
    {"--top-k", NULL, OPT_INT, F(top_k), 0, 2147483647, NULL, "0", "K",
     "draw among the K most probable (0 = all)", 0},
    {"--seed", NULL, OPT_UINT, F(seed), 0, 9.2e18, NULL, NULL, "S",
     "the same seed gives the same text (default: a fresh one, printed on stderr)", 0},
    {"--strict", NULL, OPT_SWITCH, F(strict), 0, 1, NULL, "0", NULL,
     "a --prime word outside the vocabulary is an error (else it is read as <unk>)", 0},
    {"--best", NULL, OPT_SWITCH, F(best), 0, 1, NULL, "0", NULL,
     "a run directory's model-best.h5 (lowest validation loss), not its last model", 0},
    {"--json", NULL, OPT_SWITCH, F(json), 0, 1, NULL, "0", NULL,
     "one JSON object: text, tokens, stop (eos|length), seed", 0},
    {"--quiet", NULL, OPT_SWITCH, F(quiet), 0, 1, NULL, "0", NULL,
     "no line on stderr about the seed and the stop", 0},
};
#undef F
static const opt_table SAMPLE = {
    "sample", "usage: recur sample MODEL [flags]   (MODEL: model.h5, checkpoint or run directory)",
    "A run directory means its model.h5 (the last model trained), or model-best.h5 with --best.\n"
    "Generation stops at --length tokens or when the model draws <eos> (the end of a sequence);\n"
    "stderr says which, and the seed.\n",
    SAMPLE_DEFS, sizeof SAMPLE_DEFS / sizeof SAMPLE_DEFS[0]};

/* a seed nobody chose: from the kernel, small enough to type again */
static uint64_t fresh_seed(void) {
  uint32_t x = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if (!f || fread(&x, sizeof x, 1, f) != 1) x = (uint32_t)(core_now() * 1e6) ^ (uint32_t)getpid();
  if (f) fclose(f);
  return 1 + x % 999999999u;
}

/* --cond: D numbers separated by commas, or a CSV file whose header names the model's conditioning
 * features (its first row); malloc'd */
static float *sample_cond_vector(const char *arg, const model_vocab *v, int D) {
  if (!*arg)
    recur_usage_fail("--cond V1,V2,... or --cond FILE.csv",
                     "this model is conditioned on a vector of %d features: give --cond", D);
  float *x = xmalloc((size_t)D * sizeof(float));
  FILE *probe = strchr(arg, ',') || D == 1 ? NULL : fopen(arg, "rb");
  if (probe) { /* a file */
    fclose(probe);
    int64_t n = 0, ns = 0, *off = NULL;
    float *rows = prepare_real_read(arg, v->cond_names, D, &n, &off, &ns);
    if (n == 0) recur_fail(arg, "give a row of numbers under the header", "no vector");
    memcpy(x, rows, (size_t)D * sizeof(float));
    xfree(rows);
    xfree(off);
    return x;
  }
  const char *s = arg;
  for (int i = 0; i < D; i++) {
    char *end = NULL;
    double d = strtod(s, &end);
    if (end == s || !isfinite(d) || *end != (i + 1 < D ? ',' : '\0')) /* commas between */
      recur_usage_fail(NULL,
                       "--cond: expected %d finite numbers separated by commas (the model's "
                       "features in order), or a CSV file",
                       D);
    x[i] = (float)d;
    s = end + 1;
  }
  return x;
}

int cmd_sample(int argc, char **argv) {
  sample_flags f;
  const char *path = NULL;
  int np = 0;
  unsigned char given[16] = {0};
  opts_default(&SAMPLE, &f);
  if (opts_parse(&SAMPLE, &f, given, argc, argv, &path, 1, &np)) return opts_free(&SAMPLE, &f), 0;
  if (!path) recur_usage_fail("recur sample MODEL [--prime TEXT]", "no model given");
  core_errors_agreed(0); /* rank 0 alone samples */
  if (core_rank() == 0) {
    if (!given[opts_find(&SAMPLE, "--seed")]) f.seed = fresh_seed();
    char *file = model_resolve_best(path, f.best);
    model_vocab v;
    model *m = model_load(file, &v, NULL);
    if (m->cfg.task == TASK_FORECAST) { /* --prime FILE.csv, rolled forward --length frames */
      if (!f.prime || !*f.prime)
        recur_usage_fail("recur sample MODEL --prime FRAMES.csv --length N",
                         "a forecaster needs --prime: a CSV of frames to start from");
      int64_t n = 0, ns = 0, *off = NULL;
      float *prime = prepare_real_read(f.prime, v.feature_names, (int)v.n_features, &n, &off, &ns);
      if (ns > 0) n = off[1]; /* the first sequence primes */
      xfree(off);
      if (n == 0)
        recur_fail(f.prime, "give at least one row of numbers", "no frames to start from");
      generate_rollout(m, &v, prime, n, f.length, f.temperature, f.seed, stdout);
      xfree(prime);
      model_vocab_free(&v);
      model_free(m);
      xfree(file);
      opts_free(&SAMPLE, &f);
      return 0;
    }
    if (!task_is_lm(m->cfg.task) || m->cfg.task == TASK_SEQ2SEQ)
      recur_fail(path,
                 m->cfg.task == TASK_SEQ2SEQ
                     ? "use `recur predict MODEL TEXT`: it writes the output "
                       "for an input"
                     : "use `recur predict` for classifiers and taggers",
                 "this model is a %s model, not a language model", task_names[m->cfg.task]);
    int32_t label = -1;
    const char *lab = f.label ? f.label : "";
    float *cond = NULL;
    if (m->cfg.cond_in > 0) {
      cond = sample_cond_vector(f.cond ? f.cond : "", &v, m->cfg.cond_in);
    } else if (f.cond && *f.cond) {
      recur_usage_fail("--cond is for models conditioned on vectors (prepare --cond-features)",
                       "--cond given, but this model is not");
    }
    if (m->cfg.task == TASK_CONDLM && m->cfg.cond_in == 0) { /* a name the model knows */
      for (int64_t i = 0; i < v.n_out_names && label < 0; i++)
        if (strcmp(v.out_names[i], lab) == 0) label = (int32_t)i;
      if (label < 0) {
        size_t cap = 64;
        for (int64_t i = 0; i < v.n_out_names; i++) cap += strlen(v.out_names[i]) + 2;
        char *known = xmalloc(cap), *q = known;
        for (int64_t i = 0; i < v.n_out_names && q < known + cap - 8; i++)
          q += snprintf(q, cap - (size_t)(q - known), "%s%s", i ? ", " : "", v.out_names[i]);
        if (!*lab)
          recur_usage_fail(NULL, "a conditioned model needs --label NAME; it knows: %s", known);
        recur_usage_fail(NULL, "--label '%s': the model knows no such label; it knows: %s", lab,
                         known);
      }
    } else if (*lab)
      recur_usage_fail("--label is for models trained with --task condlm",
                       "--label given, but this model is a %s model", task_names[m->cfg.task]);
    sample_opts so = {.length = f.length,
                      .temperature = f.temperature,
                      .top_k = f.top_k,
                      .seed = f.seed,
                      .strict = f.strict,
                      .label = label,
                      .cond = cond};
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = f.json ? open_memstream(&text, &text_len) : stdout;
    if (!out) recur_fail(NULL, NULL, "out of memory for the sample");
    int64_t got = generate_sample(m, &v, f.prime ? f.prime : "", &so, out);
    const char *stop = got < f.length ? "eos" : "length";
    if (f.json) {
      fclose(out);
      if (text_len > 0 && text[text_len - 1] == '\n') text[text_len - 1] = 0;
      json_writer j;
      json_init(&j, stdout);
      json_object_begin(&j, NULL);
      json_str(&j, "text", text);
      json_int(&j, "tokens", got);
      json_str(&j, "stop", stop);
      json_int(&j, "seed", (int64_t)f.seed);
      json_str(&j, "model", file);
      json_object_end(&j);
      xfree(text);
    }
    fflush(stdout);
    if (!f.quiet)
      fprintf(stderr, "recur: %lld tokens, %s (seed %llu; --seed %llu gives this text again)\n",
              (long long)got,
              got < f.length ? "stopped where the model ended the text (<eos>)"
                             : "stopped at --length",
              (unsigned long long)f.seed, (unsigned long long)f.seed);
    xfree(cond);
    model_vocab_free(&v);
    model_free(m);
    xfree(file);
  }
  opts_free(&SAMPLE, &f);
  return 0;
}

/* ---- eval ---- */
typedef struct {
  char *data;
  enum ds_split_id split;
  int json, batch, max_len, best;
  int64_t rollout;
} eval_flags;

#define F(m) OPT_FIELD(eval_flags, m)
static const opt_def EVAL_DEFS[] = {
    {"--data", NULL, OPT_STR, F(data), 0, 0, NULL, NULL, "D.h5", "the dataset (required)", 0},
    {"--split", NULL, OPT_CHOICE, F(split), 0, 0, ds_split_names, "val", NULL, "which split", 0},
    {"--json", NULL, OPT_SWITCH, F(json), 0, 1, NULL, "0", NULL, "one JSON object", 0},
    {"--batch", NULL, OPT_INT, F(batch), 1, 1 << 20, NULL, "32", "B", "sequences per batch", 0},
    {"--max-len", NULL, OPT_INT, F(max_len), 0, 1 << 24, NULL, "0", "N",
     "cut longer sequences: a cheaper estimate, not the validation loss (0 = no cut)", 0},
    {"--best", NULL, OPT_SWITCH, F(best), 0, 1, NULL, "0", NULL,
     "a run directory's model-best.h5, not its last model", 0},
    {"--rollout", NULL, OPT_INT, F(rollout), 0, 1 << 20, NULL, "0", "N",
     "forecast: also predict each sequence's last N frames from the ones before, on its own "
     "predictions (0 = one step only)",
     0},
};
#undef F
static const opt_table EVAL = {
    "eval",
    "usage: recur eval MODEL --data D.h5 [flags]   (MODEL: model.h5, checkpoint or run directory)",
    "The loss of a split as validation during training computes it (the same function): every\n"
    "sequence from a zero state (an undelimited split as one stream, in pieces of 65,536 tokens),\n"
    "sharded over ranks under mpirun; accuracy, F1 and the confusion matrix for classifiers and\n"
    "taggers. A run directory means its model.h5 (the last model), or model-best.h5 with --best.\n",
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
    const char *none = ds->task == TASK_SEQ2SEQ ? "text sources" : "labels",
               *kind = ds->task == TASK_SEQ2SEQ ? "frames" : "vectors";
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
                       int max_len, const eval_result *ro, int steps) {
  double loss = r->loss_sum / r->tokens;
  const char *unit = ds->task == TASK_CLASSIFY ? "sequences"
                     : ds->level == LEVEL_REAL ? "steps"
                                               : "tokens";
  const char *name;
  double met = eval_lm_metric(ds, loss, &name);
  if (json) {
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_str(&j, "split", split);
    json_num(&j, "loss", loss);
    json_num(&j, ds->task == TASK_CLASSIFY ? "sequences" : "tokens", r->tokens); /* steps too */
    if (max_len > 0) json_int(&j, "max_len", max_len); /* an estimate: sequences were cut */
    if (ds->task == TASK_FORECAST) {
      eval_forecast_json(&j, r, ds->feature_names);
      if (ro) {
        json_object_begin(&j, "rollout");
        json_int(&j, "steps", steps);
        json_num(&j, "frames", ro->tokens);
        eval_forecast_json(&j, ro, ds->feature_names);
        json_object_end(&j);
      }
    } else if (!task_is_lm(ds->task)) {
      eval_json(&j, r, ds->out_names);
    } else if (ds->task == TASK_SEQ2SEQ) {
      json_num(&j, "token_accuracy", eval_token_accuracy(r));
      json_num(&j, "exact_match", eval_exact_match(r));
      if (ds->level == LEVEL_WORD) json_num(&j, "bleu", 100 * eval_bleu(r));
      json_num(&j, "sequences", r->seqs);
    } else {
      json_num(&j, name, met);
    }
    json_object_end(&j);
  } else if (ds->task == TASK_FORECAST) {
    printf("%s: loss %.4f over %.0f frames; in the data's units: mse %.6g, mae %.6g; the naive "
           "next = last: mse %.6g, mae %.6g\n",
           split, loss, r->tokens, eval_forecast(r, 0, -1), eval_forecast(r, 1, -1),
           eval_forecast(r, 2, -1), eval_forecast(r, 3, -1));
    for (int k = 0; k < r->n_feat; k++)
      printf("  %-20s mse %.6g (next = last %.6g)\n", ds->feature_names[k], eval_forecast(r, 0, k),
             eval_forecast(r, 2, k));
    if (ro)
      printf("rollout of the last %d frames (%.0f frames): mse %.6g, mae %.6g; repeating the last "
             "frame seen: mse %.6g, mae %.6g\n",
             steps, ro->tokens, eval_forecast(ro, 0, -1), eval_forecast(ro, 1, -1),
             eval_forecast(ro, 2, -1), eval_forecast(ro, 3, -1));
  } else if (!task_is_lm(ds->task)) {
    printf("%s: loss %.4f, accuracy %.4f, macro F1 %.4f over %.0f %s\n", split, loss,
           eval_accuracy(r), eval_macro_f1(r), r->tokens, unit);
    for (int k = 0; k < r->n_out; k++) printf("  %-20s F1 %.4f\n", ds->out_names[k], eval_f1(r, k));
  } else if (ds->task == TASK_SEQ2SEQ) {
    printf("%s: loss %.4f nats/target token, token accuracy %.4f, exact match %.4f (greedy) over "
           "%.0f sequences\n",
           split, loss, eval_token_accuracy(r), eval_exact_match(r), r->seqs);
    if (ds->level == LEVEL_WORD)
      printf("  BLEU-4 (corpus, greedy outputs) %.2f\n", 100 * eval_bleu(r));
  } else {
    printf("%s: loss %.4f nats/token, %s %.4f, %.0f tokens\n", split, loss,
           strcmp(name, "ppl") ? "bits/char" : "perplexity", met, r->tokens);
  }
  if (max_len > 0 && !json)
    printf("(sequences cut at --max-len %d: an estimate, not the validation loss)\n", max_len);
}

int cmd_eval(int argc, char **argv) {
  eval_flags f;
  const char *path = NULL;
  int np = 0;
  opts_default(&EVAL, &f);
  if (opts_parse(&EVAL, &f, NULL, argc, argv, &path, 1, &np)) return opts_free(&EVAL, &f), 0;
  if (!path || !f.data)
    recur_usage_fail("recur eval MODEL --data D.h5 [--split val|test]",
                     "MODEL and --data are required");
  model_vocab v;
  char *file = model_resolve_best(path, f.best);
  model *m = model_load(file, &v, NULL);
  xfree(file);
  dataset *ds = dataset_open(f.data);
  if ((ds->level == LEVEL_REAL) != (m->cfg.n_in > 0))
    recur_fail(f.data, "evaluate on data like the model's inputs",
               "the dataset holds %s, the model reads %s",
               ds->level == LEVEL_REAL ? "real-valued sequences" : "text",
               m->cfg.n_in > 0 ? "real-valued sequences" : "text");
  if ((ds->task == TASK_FORECAST) != (m->cfg.task == TASK_FORECAST))
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
  if (f.rollout > 0 && ds->task != TASK_FORECAST)
    recur_usage_fail("--rollout rolls a forecaster forward",
                     "--rollout needs a --task forecast model");
  eval_result ro = {0};
  if (f.rollout > 0) ro = train_eval_rollout(m, ds, f.split, (int)f.rollout);
  if (core_rank() == 0)
    print_eval(ds, &r, ds_split_names[f.split], f.json, f.max_len, f.rollout > 0 ? &ro : NULL,
               (int)f.rollout);
  xfree(ro.fc);
  xfree(r.confusion);
  xfree(r.fc);
  dataset_close(ds);
  model_vocab_free(&v);
  model_free(m);
  opts_free(&EVAL, &f);
  return 0;
}

/* ---- predict ---- */
typedef struct {
  int best;
  int64_t max_out, batch, beam;
  double length_penalty;
  int scores, precision, gemm, strict;
} predict_flags;

static const opt_def PREDICT_DEFS[] = {
    {"--best", NULL, OPT_SWITCH, OPT_FIELD(predict_flags, best), 0, 1, NULL, "0", NULL,
     "a run directory's model-best.h5, not its last model", 0},
    {"--max-out", NULL, OPT_INT, OPT_FIELD(predict_flags, max_out), 1, 1 << 24, NULL, "256", "N",
     "seq2seq: stop an output that has not ended (<eos>) after N tokens", 0},
    {"--batch", NULL, OPT_INT, OPT_FIELD(predict_flags, batch), 1, 1 << 16, NULL, "64", "B",
     "seq2seq: lines decoded together (one matrix product per step for all of them)", 0},
    {"--beam", NULL, OPT_INT, OPT_FIELD(predict_flags, beam), 1, 1024, NULL, "1", "K",
     "seq2seq: beam search with K hypotheses (1 = greedy)", 0},
    {"--length-penalty", NULL, OPT_REAL, OPT_FIELD(predict_flags, length_penalty), 0, 10, NULL, "0",
     "A", "seq2seq beam: rank ended hypotheses by log p / ((5 + length) / 6)^A (Wu et al. 2016)",
     0},
    {"--scores", NULL, OPT_SWITCH, OPT_FIELD(predict_flags, scores), 0, 1, NULL, "0", NULL,
     "seq2seq: write <TAB> and the output's log-probability after each output", 0},
    {"--precision", NULL, OPT_CHOICE, OPT_FIELD(predict_flags, precision), 0, 0, precision_names,
     "fp32", NULL, "bf16: matrix products with bf16 operands (oneDNN), as recur train's", 0},
    {"--gemm", NULL, OPT_CHOICE, OPT_FIELD(predict_flags, gemm), 0, 0, gemm_lib_names, "onednn",
     NULL,
     "fp32 matrix products by oneDNN (inference: the faster kernel on CPUs with AVX-512) or "
     "OpenBLAS (training's default: recur eval's numbers to the last bit)",
     0},
    {"--strict", NULL, OPT_SWITCH, OPT_FIELD(predict_flags, strict), 0, 1, NULL, "0", NULL,
     "a line the model cannot read is an error (by default its output line is empty and stderr "
     "names it)",
     0},
};
static const opt_table PREDICT = {
    "predict",
    "usage: recur predict MODEL [TEXT | -]   (- or nothing: one input per line of stdin)",
    "Prints each line's label and its probability (classify), its tags (tag), or its output\n"
    "(seq2seq: greedy decoding). Symbols outside the model's vocabulary are read as <unk> where\n"
    "it has one; a line with others gets an empty output line (a note on stderr names it), so\n"
    "the outputs stay line for line with the inputs (--strict: an error). A model of real-valued "
    "sequences reads a CSV or TSV of frames (FRAMES.csv, or -\n"
    "for stdin; a header names the model's features, a blank line ends a sequence) and prints a\n"
    "line per sequence: its label and probability, or its tags separated by spaces.\n",
    PREDICT_DEFS, sizeof PREDICT_DEFS / sizeof PREDICT_DEFS[0]};

/* Text inputs, checked line by line before they are predicted: a line with a symbol the model
 * cannot read gets an empty output line and a note naming it (with strict, the error ends the
 * run), so the outputs stay line for line with the inputs. */
typedef struct {
  const vocab_index *vi;
  int words_by_space, strict;
  int64_t lines, bad;
} predict_input;

static int predict_readable(predict_input *in, const char *line, int argument) {
  char what[64];
  in->lines++;
  if (argument)
    snprintf(what, sizeof what, "the TEXT argument");
  else
    snprintf(what, sizeof what, "standard input, line %lld", (long long)in->lines);
  int64_t n = 0;
  if (in->strict || argument) { /* one input: its error is the run's */
    xfree(tokenize_encode(in->vi, line, &n, TOKENIZE_UNK, in->words_by_space, what));
    return 1;
  }
  recur_catch c;
  if (RECUR_CATCH(&c) == 0) {
    xfree(tokenize_encode(in->vi, line, &n, TOKENIZE_UNK, in->words_by_space, what));
    recur_catch_end(&c);
    return 1;
  }
  const char *msg = strncmp(c.msg, "recur: error: ", 14) ? c.msg : c.msg + 14;
  fprintf(stderr, "recur: no prediction: %.*s\n", (int)strcspn(msg, "\n"), msg);
  in->bad++;
  return 0;
}

int cmd_predict(int argc, char **argv) {
  const char *pos[2] = {NULL, NULL};
  int np = 0;
  predict_flags f = {0};
  opts_default(&PREDICT, &f);
  if (opts_parse(&PREDICT, &f, NULL, argc, argv, pos, 2, &np)) return 0;
  const char *path = pos[0], *text = pos[1];
  if (!path) recur_usage_fail("recur predict MODEL [TEXT | -]", "no model given");
  core_errors_agreed(0); /* rank 0 alone predicts */
  if (core_rank() != 0) return 0;
  model_vocab v;
  char *file = model_resolve_best(path, f.best);
  model *m = model_load(file, &v, NULL);
  xfree(file);
  gemm_threads_default();
  gemm_use(gemm_kernel_of(f.precision, f.precision == PRECISION_BF16 ? GEMM_LIB_ONEDNN : f.gemm));
  gemm_params(m->params, m->n_params);
  const int s2s = m->cfg.task == TASK_SEQ2SEQ;
  if (m->cfg.task == TASK_FORECAST)
    recur_fail(path, "recur sample MODEL --prime FRAMES.csv --length N rolls it forward",
               "this is a forecast model: it reads frames, not text");
  if (task_is_lm(m->cfg.task) && !s2s)
    recur_fail(path, "use `recur sample` for language models", "this is a language model");
  /* a model of frames reads a CSV (or stdin), a sequence per blank-line block */
  const char *frames_in = text && strcmp(text, "-") ? text : "/dev/stdin";
  if (s2s && m->cfg.cond_in > 0) { /* sources of frames */
    int64_t n = 0, ns = 0, *off = NULL;
    float *x = prepare_real_read(frames_in, v.cond_names, m->cfg.cond_in, &n, &off, &ns);
    const decode_opts dopt = {.beam = (int)f.beam,
                              .length_penalty = f.length_penalty,
                              .max_out = (int)f.max_out,
                              .scores = f.scores};
    for (int64_t k0 = 0; k0 < ns; k0 += f.batch) { /* groups of --batch sources */
      const int k = (int)(ns - k0 < f.batch ? ns - k0 : f.batch);
      int *len = xmalloc((size_t)k * sizeof(int));
      const float **xs = xmalloc((size_t)k * sizeof(float *));
      for (int i = 0; i < k; i++)
        len[i] = (int)(off[k0 + i + 1] - off[k0 + i]), xs[i] = x + off[k0 + i] * m->cfg.cond_in;
      generate_transduce_frames(m, &v, k, len, xs, &dopt, stdout);
      xfree(len), xfree(xs);
    }
    xfree(x), xfree(off);
    model_vocab_free(&v);
    model_free(m);
    return 0;
  }
  if (m->cfg.n_in > 0) { /* classify, tag frames: one output line per sequence */
    int64_t n = 0, ns = 0, *off = NULL;
    float *x = prepare_real_read(frames_in, v.feature_names, (int)v.n_features, &n, &off, &ns);
    batch b = {0};
    for (int64_t k = 0; k < ns; k++)
      generate_predict_frames(m, &v, x + off[k] * m->cfg.n_in, (int)(off[k + 1] - off[k]), &b,
                              stdout);
    batch_free(&b);
    xfree(x);
    xfree(off);
    model_vocab_free(&v);
    model_free(m);
    return 0;
  }
  vocab_index vi, svi; /* the inputs' symbols: the sources' vocabulary when it has its own */
  vocab_index_init(&vi, v.level, v.vocab, v.vocab_size, v.eos_id, v.unk_id);
  if (v.src_vocab) vocab_index_init(&svi, v.level, v.src_vocab, v.src_vocab_size, -1, v.src_unk_id);
  const vocab_index *in_vi = v.src_vocab ? &svi : &vi;
  batch b = {0};
  const decode_opts dopt = {.beam = (int)f.beam,
                            .length_penalty = f.length_penalty,
                            .max_out = (int)f.max_out,
                            .scores = f.scores};
  predict_input in = {in_vi, m->cfg.task == TASK_TAG && v.level == LEVEL_WORD, f.strict, 0, 0};
  char **lines = xmalloc((size_t)f.batch * sizeof(char *));
  int n = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t got;
  const int one = text && strcmp(text, "-") != 0;
  while (one ? in.lines == 0 : (got = getline(&line, &cap, stdin)) >= 0) {
    if (!one)
      while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
    const char *cur = one ? text : line;
    const int ok = predict_readable(&in, cur, one);
    if (s2s) { /* lines in groups of --batch; an unreadable one ends a group */
      if (ok) lines[n++] = xstrdup(cur);
      if (!ok || n == f.batch) {
        generate_transduce(m, &v, in_vi, lines, n, &dopt, stdout);
        while (n > 0) xfree(lines[--n]);
      }
    } else if (ok) {
      generate_predict(m, &v, &vi, cur, &b, stdout);
    }
    if (!ok) { /* its (empty) output line */
      putchar('\n');
      fflush(stdout);
    }
  }
  if (s2s) generate_transduce(m, &v, in_vi, lines, n, &dopt, stdout);
  while (n > 0) xfree(lines[--n]);
  xfree(lines);
  xfree(line);
  if (in.bad)
    fprintf(stderr,
            "recur: %lld of %lld input lines had no prediction (named above; --strict "
            "makes the first an error)\n",
            (long long)in.bad, (long long)in.lines);
  batch_free(&b);
  vocab_index_free(&vi);
  if (v.src_vocab) vocab_index_free(&svi);
  model_vocab_free(&v);
  model_free(m);
  return 0;
}

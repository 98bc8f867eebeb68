/* recur sample and recur eval: use a trained model. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/model.h"
#include "recur/train.h"

/* id of a vocabulary entry equal to s[0..n), -1 if none */
static int64_t vocab_find(const model_vocab *v, const char *s, int n) {
  for (int64_t i = 0; i < v->vocab_size; i++)
    if (i != v->eos_id && i != v->unk_id && (int)strlen(v->vocab[i]) == n && memcmp(v->vocab[i], s, (size_t)n) == 0) return i;
  return -1;
}

/* Text -> token ids (malloc'd), n in *n. Unknown symbols become <unk> when the vocabulary has
 * one and use_unk is set; otherwise they are an error naming them. */
static int32_t *encode_text(const model_vocab *v, const char *text, int *n, int use_unk, const char *what) {
  size_t len = strlen(text);
  int32_t *ids = xmalloc((len + 1) * sizeof(int32_t));
  int k = 0;
  const unsigned char *s = (const unsigned char *)text;
  for (size_t i = 0; i < len;) {
    if (v->level == LEVEL_BYTE) { ids[k++] = s[i++]; continue; }
    int cl = 1;
    if (v->level == LEVEL_CHAR) {
      cl = s[i] < 0x80 ? 1 : s[i] < 0xE0 ? 2 : s[i] < 0xF0 ? 3 : 4;
      if (i + (size_t)cl > len) cl = (int)(len - i);
    } else {
      if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') { i++; continue; }
      int word = s[i] >= 0x80 || (s[i] >= '0' && s[i] <= '9') || ((s[i] | 32) >= 'a' && (s[i] | 32) <= 'z') || s[i] == '_';
      if (word)
        while (i + (size_t)cl < len && (s[i + cl] >= 0x80 || (s[i + cl] >= '0' && s[i + cl] <= '9') ||
                                        ((s[i + cl] | 32) >= 'a' && (s[i + cl] | 32) <= 'z') || s[i + cl] == '_'))
          cl++;
    }
    int64_t id = vocab_find(v, text + i, cl);
    if (id < 0 && use_unk && v->unk_id >= 0) id = v->unk_id;
    if (id < 0) recur_fail(what, "use only symbols that occur in the training data", "'%.*s' is not in the model's vocabulary", cl, text + i);
    ids[k++] = (int32_t)id;
    i += (size_t)cl;
  }
  *n = k;
  return ids;
}

static void put_token(const model_vocab *v, int64_t id, int *prev_word) {
  if (id == v->eos_id) return;
  if (v->level == LEVEL_BYTE && id < 256) { putchar((int)id); return; }
  const char *s = v->vocab[id];
  if (v->level == LEVEL_WORD) {
    int nl = strcmp(s, "\n") == 0;
    if (*prev_word && !nl) putchar(' ');
    *prev_word = !nl;
  }
  fputs(s, stdout);
}

int cmd_sample(int argc, char **argv) {
  const char *path = NULL, *prime = "";
  int64_t length = 500, topk = 0;
  double temp = 1.0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help")) { puts("usage: recur sample MODEL [--prime TEXT] [--length N] [--temperature T] [--top-k K] [--seed S]"); return 0; }
    else if (!strcmp(a, "--prime")) prime = cli_value(argc, argv, &i);
    else if (!strcmp(a, "--length")) length = arg_int(a, cli_value(argc, argv, &i), 0, INT64_MAX / 2);
    else if (!strcmp(a, "--temperature")) temp = arg_double(a, cli_value(argc, argv, &i), 0, 100);
    else if (!strcmp(a, "--top-k")) topk = arg_int(a, cli_value(argc, argv, &i), 0, INT32_MAX);
    else if (!strcmp(a, "--seed")) seed = (uint64_t)arg_int(a, cli_value(argc, argv, &i), 0, INT64_MAX);
    else if (a[0] == '-' && a[1]) cli_unknown("sample", a);
    else path = a;
  }
  if (!path) recur_fail(NULL, "recur sample MODEL [--prime TEXT]", "no model given");
  if (core_rank() != 0) return 0;
  model_vocab v;
  model *m = model_load(path, &v, NULL);
  const int L = m->cfg.layers, H = m->cfg.hidden, V = m->cfg.vocab;
  int np = 0;
  if (m->cfg.task != TASK_LM)
    recur_fail(path, "use `recur predict` for classifiers and taggers", "this model is a %s model, not a language model", task_names[m->cfg.task]);
  int32_t *pids = encode_text(&v, prime, &np, 0, "--prime");
  /* the sequence starts with <eos> when the model knows one (that is how it was trained) */
  int32_t *seq = xmalloc((size_t)(np + 2) * sizeof(int32_t));
  int ns = 0;
  if (v.eos_id >= 0) seq[ns++] = (int32_t)v.eos_id;
  for (int i = 0; i < np; i++) seq[ns++] = pids[i];
  if (ns == 0) { /* no start symbol: begin with a newline if the vocabulary has one */
    int64_t nl = vocab_find(&v, "\n", 1);
    seq[ns++] = (int32_t)(nl >= 0 ? nl : 0);
  }
  float *h = xcalloc((size_t)L * (size_t)H, sizeof(float)), *c = xcalloc((size_t)L * (size_t)H, sizeof(float));
  float *p = xmalloc((size_t)V * sizeof(float));
  int *order = xmalloc((size_t)V * sizeof(int));
  batch b = {0};
  uint64_t id0 = 0;
  int32_t *in = seq;
  int len = ns;
  int prev_word = 0;
  fputs(prime, stdout);
  if (v.level == LEVEL_WORD && np > 0) prev_word = strcmp(v.vocab[pids[np - 1]], "\n") != 0;
  int32_t cur;
  for (int64_t g = 0; g < length; g++) {
    batch_pack(&b, 1, &len, &in, NULL, &id0);
    model_forward(m, &b, h, c, 0, 0);
    model_final_state(m, &b, h, c);
    const float *pr = m->probs + (b.s.N - 1) * V;
    int64_t pick = 0;
    if (temp == 0) {
      pick = vec_argmax(pr, V);
    } else {
      double s = 0;
      for (int j = 0; j < V; j++) { p[j] = (float)pow((double)pr[j], 1.0 / temp); order[j] = j; }
      if (topk > 0 && topk < V) { /* keep the k most probable */
        for (int64_t a = 0; a < topk; a++) {
          int best = (int)a;
          for (int j = (int)a + 1; j < V; j++) if (p[order[j]] > p[order[best]]) best = j;
          int t = order[a]; order[a] = order[best]; order[best] = t;
        }
        for (int64_t j = topk; j < V; j++) p[order[j]] = 0;
      }
      for (int j = 0; j < V; j++) s += p[j];
      double u = rng_uniform(rng_key(seed, RNG_SAMPLE, (uint64_t)g, 0, 0)) * s, acc = 0;
      pick = -1;
      for (int j = 0; j < V; j++) {
        acc += p[j];
        if (p[j] > 0) pick = j;
        if (acc > u && p[j] > 0) break;
      }
      if (pick < 0) pick = 0;
    }
    if (pick == v.eos_id) break;
    put_token(&v, pick, &prev_word);
    cur = (int32_t)pick;
    in = &cur;
    len = 1;
  }
  putchar('\n');
  batch_free(&b);
  free(h); free(c); free(p); free(order); free(seq); free(pids);
  model_vocab_free(&v);
  model_free(m);
  return 0;
}

int cmd_eval(int argc, char **argv) {
  const char *path = NULL, *data = NULL;
  int split = SPLIT_VAL, json = 0, B = 32, max_len = 0;
  static const char *const names[] = {"train", "val", "test", NULL};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help")) { puts("usage: recur eval MODEL --data D.h5 [--split val|test|train] [--json] [--batch B]"); return 0; }
    else if (!strcmp(a, "--data")) data = cli_value(argc, argv, &i);
    else if (!strcmp(a, "--split")) {
      const char *s = arg_choice(a, cli_value(argc, argv, &i), names);
      for (int k = 0; k < SPLIT_COUNT; k++) if (!strcmp(s, names[k])) split = k;
    } else if (!strcmp(a, "--json")) json = 1;
    else if (!strcmp(a, "--batch")) B = (int)arg_int(a, cli_value(argc, argv, &i), 1, 1 << 20);
    else if (!strcmp(a, "--max-len")) max_len = (int)arg_int(a, cli_value(argc, argv, &i), 0, 1 << 24);
    else if (a[0] == '-') cli_unknown("eval", a);
    else path = a;
  }
  if (!path || !data) recur_fail(NULL, "recur eval MODEL --data D.h5 [--split val|test]", "MODEL and --data are required");
  model_vocab v;
  model *m = model_load(path, &v, NULL);
  dataset *ds = dataset_open(data);
  if (ds->vocab_size != v.vocab_size || ds->level != v.level)
    recur_fail(data, "evaluate on a dataset prepared with the model's vocabulary (--vocab)",
               "vocabulary (%lld, %s level) differs from the model's (%lld, %s level)", (long long)ds->vocab_size,
               ds_level_names[ds->level], (long long)v.vocab_size, ds_level_names[v.level]);
  for (int64_t i = 0; i < v.vocab_size; i++)
    if (strcmp(ds->vocab[i], v.vocab[i]) != 0)
      recur_fail(data, "evaluate on a dataset prepared with the model's vocabulary (--vocab)", "vocabulary entry %lld differs from the model's", (long long)i);
  if (ds->split[split].n_tok == 0) recur_fail(data, NULL, "the %s split is empty", names[split]);
  if (ds->task != m->cfg.task)
    recur_fail(data, "evaluate on a dataset prepared for the model's task", "the dataset is for %s, the model for %s",
               task_names[ds->task], task_names[m->cfg.task]);
  int as_stream = ds->task == 0 && ds->eos_id < 0;
  eval_result r = train_eval(m, ds, split, as_stream, 1, 256, B, max_len);
  double loss = r.loss_sum / r.tokens;
  if (core_rank() == 0 && ds->task) {
    if (json) {
      printf("{\"split\":\"%s\",\"loss\":%.9g,\"%s\":%.0f,", names[split], loss, ds->task == 1 ? "sequences" : "tokens", r.tokens);
      eval_json(stdout, &r, ds->out_names);
      printf("}\n");
    } else {
      printf("%s: loss %.4f, accuracy %.4f, macro F1 %.4f over %.0f %s\n", names[split], loss, eval_accuracy(&r),
             eval_macro_f1(&r), r.tokens, ds->task == 1 ? "sequences" : "tokens");
      for (int k = 0; k < r.n_out; k++) printf("  %-20s F1 %.4f\n", ds->out_names[k], eval_f1(&r, k));
    }
  } else if (core_rank() == 0) {
    int word = ds->level == LEVEL_WORD;
    double met = word ? exp(loss) : loss / log(2.0);
    if (json) printf("{\"split\":\"%s\",\"loss\":%.9g,\"tokens\":%.0f,\"%s\":%.9g}\n", names[split], loss, r.tokens, word ? "ppl" : "bpc", met);
    else printf("%s: loss %.4f nats/token, %s %.4f, %.0f tokens\n", names[split], loss, word ? "perplexity" : "bits/char", met, r.tokens);
  }
  free(r.confusion);
  dataset_close(ds);
  model_vocab_free(&v);
  model_free(m);
  return 0;
}

/* The label of one line with its probability (classify), or its tags (tag). */
static void predict_line(model *m, const model_vocab *v, const char *text, batch *b) {
  int n = 0;
  int32_t *ids = encode_text(v, text, &n, 1, "input");
  uint64_t id0 = 0;
  int32_t none = -1;
  const int O = m->O;
  if (n > 0) {
    batch_pack(b, 1, &n, &ids, NULL, &id0);
    if (m->cfg.task == TASK_CLASSIFY) batch_set_labels(b, &none);
    model_forward(m, b, NULL, NULL, 0, 0);
    if (m->cfg.task == TASK_CLASSIFY) {
      int best = vec_argmax(m->probs, O);
      printf("%s\t%.4f", v->out_names[best], m->probs[best]);
    }
    for (int r = 0; m->cfg.task == TASK_TAG && r < n; r++) { /* packed row r of one sequence is position r */
      const char *tag = v->out_names[vec_argmax(m->probs + (int64_t)r * O, O)];
      if (v->level == LEVEL_WORD) printf("%s%s/%s", r ? " " : "", v->vocab[ids[r]], tag);
      else fputs(tag, stdout);
    }
  }
  putchar('\n');
  fflush(stdout);
  free(ids);
}

/* recur predict: the label of each line (classify) or the tags of its tokens (tag). */
int cmd_predict(int argc, char **argv) {
  const char *path = NULL, *text = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help")) { puts("usage: recur predict MODEL [TEXT | -]   (- or nothing: one input per line of stdin)"); return 0; }
    else if (argv[i][0] == '-' && argv[i][1]) cli_unknown("predict", argv[i]);
    else if (!path) path = argv[i];
    else text = argv[i];
  }
  if (!path) recur_fail(NULL, "recur predict MODEL [TEXT | -]", "no model given");
  if (core_rank() != 0) return 0;
  model_vocab v;
  model *m = model_load(path, &v, NULL);
  if (m->cfg.task == TASK_LM) recur_fail(path, "use `recur sample` for language models", "this is a language model");
  batch b = {0};
  if (text && strcmp(text, "-") != 0) {
    predict_line(m, &v, text, &b);
  } else {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
      while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
      predict_line(m, &v, line, &b);
    }
    free(line);
  }
  batch_free(&b);
  model_vocab_free(&v);
  model_free(m);
  return 0;
}

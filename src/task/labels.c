/* task classify and tag: a label per sequence, a tag per token. Figures: accuracy, macro F1, F1 of
 * each class, the confusion matrix (true class by predicted). */
#include "recur/core.h"
#include "recur/tasks.h"

static double count(const eval_result *r) { return r->tokens; }

static void json(json_writer *j, const char *prefix, const dataset *ds, const eval_result *r) {
  char key[64];
  task_json_num(j, prefix, "accuracy", eval_accuracy(r));
  task_json_num(j, prefix, "f1", eval_macro_f1(r));
  snprintf(key, sizeof key, "%sf1_per_class", prefix);
  json_object_begin(j, key);
  for (int k = 0; k < r->n_out; k++) json_num(j, ds->out_names[k], eval_f1(r, k));
  json_object_end(j);
  snprintf(key, sizeof key, "%sconfusion", prefix);
  json_array_begin(j, key);
  for (int i = 0; i < r->n_out; i++) {
    json_array_begin(j, NULL);
    for (int k = 0; k < r->n_out; k++) json_num(j, NULL, r->confusion[i * r->n_out + k]);
    json_array_end(j);
  }
  json_array_end(j);
}

static void brief(char *buf, size_t cap, const dataset *ds, const eval_result *r) {
  (void)ds;
  snprintf(buf, cap, "accuracy %.4f | macro F1 %.4f", eval_accuracy(r), eval_macro_f1(r));
}

static void full(FILE *f, const char *split, const dataset *ds, const eval_result *r) {
  fprintf(f, "%s: loss %.4f, accuracy %.4f, macro F1 %.4f over %.0f %s\n", split,
          r->loss_sum / r->tokens, eval_accuracy(r), eval_macro_f1(r), r->tokens,
          task_is(ds->task)->pooled ? "sequences"
          : ds->level == LEVEL_REAL ? "steps"
                                    : "tokens");
  for (int k = 0; k < r->n_out; k++)
    fprintf(f, "  %-20s F1 %.4f\n", ds->out_names[k], eval_f1(r, k));
}

/* every token (frame) is an input */
static int steps(const dataset *ds, int64_t n) {
  (void)ds;
  return (int)n;
}

/* the inputs, tokens or frames, and (flags) the sequence's label or a tag per token */
static void load_as(items *it, const dataset *ds, int split, const uint64_t *q, int n, int max_len,
                    int flags) {
  if (ds->level == LEVEL_REAL)
    items_read_frames(it, ds, split, q, n, max_len, flags);
  else
    items_read_inputs(it, ds, split, q, n, max_len, flags);
}
static void load_label(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                       int max_len) {
  load_as(it, ds, split, q, n, max_len, ITEMS_LABEL);
}
static void load_tags(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                      int max_len) {
  load_as(it, ds, split, q, n, max_len, ITEMS_TAGS);
}

/* classify: no target a step; the label is the sequence's, counted where it has steps */
static void pack_label(batch *b, const items *it, int n, const dataset *ds) {
  items_pack_inputs(b, it, n, ds, NULL);
  batch_set_labels(b, it->labels);
  b->n_targets = 0;
  for (int r = 0; r < b->s.B; r++) b->n_targets += b->len[r] > 0 && b->label[r] >= 0;
}
static void pack_tags(batch *b, const items *it, int n, const dataset *ds) {
  items_pack_inputs(b, it, n, ds, it->tgt);
}

/* the confusion matrix: true class by predicted (argmax) */
static void score_open(eval_result *r, const model *m) {
  r->n_out = m->O;
  r->confusion = xcalloc((size_t)(m->O * m->O), sizeof(double));
}
static void confuse(eval_result *res, const model *m, const batch *b, const int32_t *truth,
                    int by_sequence) {
  const int64_t R = model_readout_rows(m, b), O = m->O;
  for (int64_t r = 0; r < R; r++) {
    if (truth[r] < 0 || (by_sequence && b->len[r] == 0)) continue;
    res->confusion[truth[r] * O + vec_argmax(m->probs + r * O, (int)O)] += 1;
  }
}
static void score_label(eval_result *r, model *m, const dataset *ds, const items *it, int k,
                        const batch *b) {
  (void)ds, (void)it, (void)k;
  confuse(r, m, b, b->label, 1);
}
static void score_tags(eval_result *r, model *m, const dataset *ds, const items *it, int k,
                       const batch *b) {
  (void)ds, (void)it, (void)k;
  confuse(r, m, b, b->tgt, 0);
}

const task_desc task_classify = {.task = TASK_CLASSIFY,
                                 .default_mode = MODE_SEQUENCES,
                                 .steps = steps,
                                 .per_sequence = 1,
                                 .load = load_label,
                                 .pack = pack_label,
                                 .score_open = score_open,
                                 .score = score_label,
                                 .unit = "sequences",
                                 .count = count,
                                 .json = json,
                                 .val_prefix = "",
                                 .brief = brief,
                                 .full = full};
const task_desc task_tag = {.task = TASK_TAG,
                            .default_mode = MODE_SEQUENCES,
                            .steps = steps,
                            .load = load_tags,
                            .pack = pack_tags,
                            .windowed = 1,
                            .score_open = score_open,
                            .score = score_tags,
                            .unit = "tokens",
                            .count = count,
                            .json = json,
                            .val_prefix = "",
                            .brief = brief,
                            .full = full};

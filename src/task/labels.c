/* task classify and tag: a label per sequence, a tag per token. Figures: accuracy, macro F1, F1 of
 * each class, the confusion matrix (true class by predicted). */
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
          ds->task == TASK_CLASSIFY ? "sequences"
          : ds->level == LEVEL_REAL ? "steps"
                                    : "tokens");
  for (int k = 0; k < r->n_out; k++)
    fprintf(f, "  %-20s F1 %.4f\n", ds->out_names[k], eval_f1(r, k));
}

const task_desc task_classify = {TASK_CLASSIFY, MODE_SEQUENCES, "sequences", count, json, "", brief,
                                 full};
const task_desc task_tag = {TASK_TAG, MODE_SEQUENCES, "tokens", count, json, "", brief, full};

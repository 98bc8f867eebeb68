/* tasks: what differs from task to task, one descriptor each (src/task/: lm.c for lm and condlm,
 * labels.c for classify and tag, seq2seq.c, forecast.c), asked by the batches' items (what a
 * sequence reads and packs), validation (metrics.jsonl and its line), recur eval (text and --json)
 * and the report instead of testing the task. A new task adds a file there and a row to the table
 * in src/task/tasks.c (and its traits, what the floors below see of it, in task.h / task.c). */
#ifndef RECUR_TASKS_H
#define RECUR_TASKS_H

#include <stdio.h>

#include "recur/dataset.h"
#include "recur/items.h"
#include "recur/json.h"
#include "recur/train.h"

typedef struct {
  enum model_task task;
  enum train_mode default_mode; /* recur train's --mode when not given: stream for lm */
  /* the steps a sequence of n tokens (frames) runs, and whether its targets are one label for
   * the whole sequence (classify) rather than one a step */
  int (*steps)(const dataset *ds, int64_t n);
  int per_sequence;
  /* read sequences q[0..n) of a split (cut at max_len) into items, and pack n of them into b
   * with their targets (items.h has the readers the tasks share) */
  void (*load)(items *it, const dataset *ds, int split, const uint64_t *q, int n, int max_len);
  void (*pack)(batch *b, const items *it, int n, const dataset *ds);
  /* evaluation: a sequence too long for one forward can be run in windows with its state
   * carried, exactly as whole (a loss per step, nothing read from later steps but by a
   * bidirectional model); what the result holds beyond the loss (score_open allocates it, NULL
   * for none) and what each forward of k items adds to it (m->probs holding the forward's
   * outputs; it NULL for a window of a long sequence) */
  int windowed;
  void (*score_open)(eval_result *r, const model *m);
  void (*score)(eval_result *r, model *m, const dataset *ds, const items *it, int k,
                const batch *b);
  /* what an evaluation counts (the validation line's "N <unit>") and how many */
  const char *unit;
  double (*count)(const eval_result *r);
  /* the figures beyond the loss as JSON members, every key prefixed: "" in recur eval --json,
   * val_prefix in metrics.jsonl ("val_"; "" for classifiers and taggers, whose accuracy, f1,
   * f1_per_class and confusion have had these names there since the first version) */
  void (*json)(json_writer *j, const char *prefix, const dataset *ds, const eval_result *r);
  const char *val_prefix;
  /* the figures as the validation line shows them ("accuracy 0.9812 | macro F1 0.9790") */
  void (*brief)(char *buf, size_t cap, const dataset *ds, const eval_result *r);
  /* recur eval's text: its first line (split, loss, figures, count) and any detail lines */
  void (*full)(FILE *f, const char *split, const dataset *ds, const eval_result *r);
} task_desc;

const task_desc *task_desc_of(enum model_task task);
/* a JSON member whose key is prefix + key */
void task_json_num(json_writer *j, const char *prefix, const char *key, double v);

#endif

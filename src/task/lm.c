/* task lm and condlm: language models (the next token; condlm given a label or vector). Figures:
 * bits per character (byte and char level) or perplexity (word level). */
#include <string.h>

#include "recur/tasks.h"

static double loss_of(const eval_result *r) { return r->loss_sum / r->tokens; }
static double count(const eval_result *r) { return r->tokens; }

static void json(json_writer *j, const char *prefix, const dataset *ds, const eval_result *r) {
  const char *name;
  double met = eval_lm_metric(ds, loss_of(r), &name);
  task_json_num(j, prefix, name, met);
}

static void brief(char *buf, size_t cap, const dataset *ds, const eval_result *r) {
  const char *name;
  double met = eval_lm_metric(ds, loss_of(r), &name);
  snprintf(buf, cap, "%s %.4f", name, met);
}

static void full(FILE *f, const char *split, const dataset *ds, const eval_result *r) {
  const char *name;
  double met = eval_lm_metric(ds, loss_of(r), &name);
  fprintf(f, "%s: loss %.4f nats/token, %s %.4f, %.0f tokens\n", split, loss_of(r),
          strcmp(name, "ppl") ? "bits/char" : "perplexity", met, r->tokens);
}

const task_desc task_lm = {TASK_LM, MODE_STREAM, "tokens", count, json, "val_", brief, full};
const task_desc task_condlm = {TASK_CONDLM, MODE_SEQUENCES, "tokens", count,
                               json,        "val_",         brief,    full};

/* task lm and condlm: language models (the next token; condlm given a label or vector). Figures:
 * bits per character (char level), per byte (byte level) or perplexity (word and subword levels),
 * and at every level bits per character of the text the tokens stand for. */
#include <math.h>
#include <string.h>

#include "recur/tasks.h"

static double loss_of(const eval_result *r) { return r->loss_sum / r->tokens; }
static double count(const eval_result *r) { return r->tokens; }

/* nats per character of the text the tokens stand for (train.h eval_result.chars): one axis for
 * char, byte, word and subword models of the same text; 0 when not counted */
static double per_char(const eval_result *r) { return r->chars > 0 ? r->loss_sum / r->chars : 0; }
/* the per-token figure is not already per character (byte, word and subword levels) */
static int chars_differ(const dataset *ds) { return ds->level != LEVEL_CHAR; }

static void json(json_writer *j, const char *prefix, const dataset *ds, const eval_result *r) {
  const char *name;
  double met = eval_lm_metric(ds, loss_of(r), &name);
  task_json_num(j, prefix, name, met);
  if (r->chars > 0) {
    task_json_num(j, prefix, "nats_per_char", per_char(r));
    task_json_num(j, prefix, "bits_per_char", per_char(r) / log(2.0));
    task_json_num(j, prefix, "chars", r->chars);
  }
}

static void brief(char *buf, size_t cap, const dataset *ds, const eval_result *r) {
  const char *name;
  double met = eval_lm_metric(ds, loss_of(r), &name);
  int n = snprintf(buf, cap, "%s %.4f", name, met);
  if (r->chars > 0 && chars_differ(ds) && n >= 0 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, " (%.4f bits/char)", per_char(r) / log(2.0));
}

static void full(FILE *f, const char *split, const dataset *ds, const eval_result *r) {
  const char *name;
  double met = eval_lm_metric(ds, loss_of(r), &name);
  fprintf(f, "%s: loss %.4f nats/token, %s %.4f, %.0f tokens", split, loss_of(r),
          strcmp(name, "ppl") ? (ds->level == LEVEL_BYTE ? "bits/byte" : "bits/char")
                              : "perplexity",
          met, r->tokens);
  if (r->chars > 0 && chars_differ(ds))
    fprintf(f, "; %.4f bits/char over the %.0f characters of text they stand for",
            per_char(r) / log(2.0), r->chars);
  fprintf(f, "\n");
}

/* condlm: the next tokens, and each sequence's condition: its label, or (--cond-features) its
 * vector */
static void load_cond(items *it, const dataset *ds, int split, const uint64_t *q, int n,
                      int max_len) {
  items_read_next(it, ds, split, q, n, max_len);
  if (ds->n_cond_features > 0)
    items_read_cond(it, ds, split, q, n);
  else
    for (int i = 0; i < n; i++) it->labels[i] = ds->split[split].labels[q[i]];
}

static void pack(batch *b, const items *it, int n, const dataset *ds) {
  items_pack_inputs(b, it, n, ds, it->tgt);
}

static void pack_cond(batch *b, const items *it, int n, const dataset *ds) {
  items_pack_inputs(b, it, n, ds, it->tgt);
  batch_set_labels(b, it->labels); /* the condition, not a target */
  if (ds->n_cond_features > 0) batch_set_cond(b, (const float *const *)it->cv, ds->n_cond_features);
}

const task_desc task_lm = {.task = TASK_LM,
                           .default_mode = MODE_STREAM,
                           .steps = items_next_steps,
                           .load = items_read_next,
                           .pack = pack,
                           .windowed = 1,
                           .unit = "tokens",
                           .count = count,
                           .json = json,
                           .val_prefix = "val_",
                           .brief = brief,
                           .full = full};
const task_desc task_condlm = {.task = TASK_CONDLM,
                               .default_mode = MODE_SEQUENCES,
                               .steps = items_next_steps,
                               .load = load_cond,
                               .pack = pack_cond,
                               .windowed = 1,
                               .unit = "tokens",
                               .count = count,
                               .json = json,
                               .val_prefix = "val_",
                               .brief = brief,
                               .full = full};

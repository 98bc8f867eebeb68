/* task seq2seq: a target text given a source (an encoder-decoder). Figures: the targets' token
 * accuracy under teacher forcing, the greedy outputs' exact match, and at word level corpus
 * BLEU-4; counted in sequences. */
#include "recur/tasks.h"

static double count(const eval_result *r) { return r->seqs; }

static void json(json_writer *j, const char *prefix, const dataset *ds, const eval_result *r) {
  task_json_num(j, prefix, "token_accuracy", eval_token_accuracy(r));
  task_json_num(j, prefix, "exact_match", eval_exact_match(r));
  if (ds->level == LEVEL_WORD) task_json_num(j, prefix, "bleu", 100 * eval_bleu(r));
  task_json_num(j, prefix, "sequences", r->seqs);
}

static void brief(char *buf, size_t cap, const dataset *ds, const eval_result *r) {
  char bleu[32] = "";
  if (ds->level == LEVEL_WORD) snprintf(bleu, sizeof bleu, " | BLEU %.2f", 100 * eval_bleu(r));
  snprintf(buf, cap, "token accuracy %.4f | exact match %.4f%s", eval_token_accuracy(r),
           eval_exact_match(r), bleu);
}

static void full(FILE *f, const char *split, const dataset *ds, const eval_result *r) {
  fprintf(f,
          "%s: loss %.4f nats/target token, token accuracy %.4f, exact match %.4f (greedy) over "
          "%.0f sequences\n",
          split, r->loss_sum / r->tokens, eval_token_accuracy(r), eval_exact_match(r), r->seqs);
  if (ds->level == LEVEL_WORD)
    fprintf(f, "  BLEU-4 (corpus, greedy outputs) %.2f\n", 100 * eval_bleu(r));
}

/* the decoder's side: next tokens; the encoder's: the source (tokens, or frames) */
static void load(items *it, const dataset *ds, int split, const uint64_t *q, int n, int max_len) {
  items_read_next(it, ds, split, q, n, max_len);
  items_read_sources(it, ds, split, q, n, max_len);
}

static void pack(batch *b, const items *it, int n, const dataset *ds) {
  const int D = ds->n_cond_features;
  items_pack_inputs(b, it, n, ds, it->tgt);
  batch_set_sources(b, it->src_len, D ? NULL : it->src, D ? (const float *const *)it->cv : NULL, D);
}

const task_desc task_seq2seq = {.task = TASK_SEQ2SEQ,
                                .default_mode = MODE_SEQUENCES,
                                .steps = items_next_steps,
                                .load = load,
                                .pack = pack,
                                .unit = "sequences",
                                .count = count,
                                .json = json,
                                .val_prefix = "val_",
                                .brief = brief,
                                .full = full};

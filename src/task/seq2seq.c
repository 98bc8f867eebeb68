/* task seq2seq: a target text given a source (an encoder-decoder). Figures: the targets' token
 * accuracy under teacher forcing, the greedy outputs' exact match, and at word level corpus
 * BLEU-4; counted in sequences. */
#include <string.h>

#include "recur/core.h"
#include "recur/generate.h"
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

/* occurrences of the n-gram g in s (len tokens) */
static int ngram_count(const int32_t *s, int len, const int32_t *g, int n) {
  int c = 0;
  for (int i = 0; i + n <= len; i++) c += memcmp(s + i, g, (size_t)n * sizeof(int32_t)) == 0;
  return c;
}

/* BLEU's sums for one output h against its reference y: clipped matches, the output's n-grams,
 * its length and the reference's */
static void bleu_add(const int32_t *h, int hl, const int32_t *y, int yl, eval_result *r) {
  for (int n = 1; n <= 4; n++) {
    for (int i = 0; i + n <= hl; i++) {
      int first = 1; /* count each distinct n-gram once, at its first position */
      for (int j = 0; j < i && first; j++) first = memcmp(h + j, h + i, (size_t)n * 4) != 0;
      if (!first) continue;
      int ch = ngram_count(h, hl, h + i, n), cr = ngram_count(y, yl, h + i, n);
      r->bleu_match[n - 1] += ch < cr ? ch : cr;
    }
    r->bleu_total[n - 1] += hl >= n ? hl - n + 1 : 0;
  }
  r->hyp_len += hl;
  r->ref_len += yl;
}

/* teacher-forced token accuracy of the last forward, then greedy decoding of the batch's
 * sources against their targets (each target's last token is <eos>) */
static void score(eval_result *res, model *m, const dataset *ds, const items *it, int k,
                  const batch *b) {
  const int64_t V = m->O;
  for (int64_t r = 0; r < b->s.N; r++)
    if (b->tgt[r] >= 0) res->tok_correct += vec_argmax(m->probs + r * V, (int)V) == b->tgt[r];
  int max_out = 0; /* room for twice the longest target: an output longer is wrong anyway */
  for (int i = 0; i < k; i++) max_out = it->len[i] > max_out ? it->len[i] : max_out;
  max_out = 2 * max_out + 8;
  int32_t **out = xmalloc((size_t)k * sizeof(int32_t *));
  int32_t *pool = xmalloc((size_t)k * (size_t)(max_out + 1) * sizeof(int32_t));
  int *olen = xmalloc((size_t)k * sizeof(int));
  for (int i = 0; i < k; i++) out[i] = pool + (int64_t)i * (max_out + 1);
  generate_greedy(m, (int32_t)ds->eos_id, k, it->src_len, ds->n_cond_features ? NULL : it->src,
                  ds->n_cond_features ? (const float *const *)it->cv : NULL, max_out, out, olen,
                  NULL);
  for (int i = 0; i < k; i++) {
    const int n = it->len[i] - 1; /* the target without its <eos> */
    res->seqs += 1;
    res->exact += olen[i] == n && memcmp(out[i], it->tgt[i], (size_t)n * sizeof(int32_t)) == 0;
    bleu_add(out[i], olen[i], it->tgt[i], n, res);
  }
  xfree(out), xfree(pool), xfree(olen);
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
                                .score = score,
                                .unit = "sequences",
                                .count = count,
                                .json = json,
                                .val_prefix = "val_",
                                .brief = brief,
                                .full = full};

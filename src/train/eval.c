/* eval: the loss of a split, sharded across ranks, and what its task adds (tasks.h score: the
 * confusion of classifiers and taggers, seq2seq's greedy outputs, forecast's errors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "recur/dist.h"
#include "recur/generate.h"
#include "recur/hooks.h"
#include "recur/tokenize.h"
#include "recur/tasks.h"
#include "recur/train.h"
#include "train-impl.h"

float *eval_chars_of(const dataset *ds) {
  if (!task_is(ds->task)->next_token || ds->level == LEVEL_REAL || !ds->vocab) return NULL;
  const int64_t V = ds->vocab_size;
  float *c = xcalloc((size_t)(2 * V), sizeof(float));
  for (int64_t id = 0; id < V; id++) {
    const char *s = ds->vocab[id] ? ds->vocab[id] : "";
    int64_t cps = 0;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) cps += (*q & 0xC0) != 0x80;
    const int nl = id == ds->eos_id || !strcmp(s, "\n");
    const int glue = ds->vocab_glue ? ds->vocab_glue[id] : 0;
    if (nl || ds->level == LEVEL_CHAR)
      c[id] = 1;
    else if (ds->level == LEVEL_BYTE)
      c[id] = id < 256 ? (float)((id & 0xC0) != 0x80) : 1;
    else
      c[id] = (float)cps;
    /* 1: a space before it (word level); 2: none after it; 4: it begins with the space of a
     * subword piece (U+2581), which SentencePiece drops at a line's start */
    if (ds->level == LEVEL_WORD)
      c[V + id] = (float)((!nl && !(glue & TOKEN_GLUE_BEFORE) ? 1 : 0) +
                          (nl || (glue & TOKEN_GLUE_AFTER) ? 2 : 0));
    else if (nl)
      c[V + id] = 2;
    else if (ds->level == LEVEL_SPM && !strncmp(s, "\xe2\x96\x81", 3))
      c[V + id] = 4;
  }
  return c;
}

/* the characters the batch's targets stand for; at word level the space before a word unless the
 * token before it (the row's input) ends a line or joins the next word; at subword level a line's
 * first piece without its space */
static double batch_chars(const batch *b, const float *chars_of, int64_t V) {
  double s = 0;
  for (int64_t i = 0; chars_of && i < b->s.N; i++) {
    const int32_t t = b->tgt[i];
    if (t < 0) continue;
    s += chars_of[t];
    const int f = (int)chars_of[V + t], prev = b->in[i] >= 0 ? (int)chars_of[V + b->in[i]] : 2;
    if ((f & 1) && !(prev & 2)) s += 1;
    if ((f & 4) && (prev & 2)) s -= 1;
  }
  return s;
}

/* ---- evaluation ---- */
uint64_t eval_piece_len(uint64_t n_tgt) {
  if (hooks_get()->eval_piece > 0) return (uint64_t)hooks_get()->eval_piece;
  const uint64_t p = (n_tgt + EVAL_ROWS - 1) / EVAL_ROWS;
  return p < EVAL_PIECE_MIN ? EVAL_PIECE_MIN : p > EVAL_PIECE ? EVAL_PIECE : p;
}

/* k rows of an undelimited split, starting at start[0..k), forward over len tokens in windows
 * of EVAL_WINDOW from the states h, c (L, k, H), left there at the end; scored into r unless r is
 * NULL (a burn-in) */
static void eval_rows(model *m, const dataset *ds, int split, const uint64_t *start, int k,
                      uint64_t len, float *h, float *c, items *it, batch *b, eval_result *r,
                      const float *chars_of) {
  for (uint64_t pos = 0; pos < len; pos += EVAL_WINDOW) {
    const int T = (int)(len - pos < EVAL_WINDOW ? len - pos : EVAL_WINDOW);
    items_load_windows(it, ds, split, start, k, 1, pos, T);
    batch_pack(b, k, it->len, it->in, it->tgt, it->ids);
    const double loss = model_forward(m, b, h, c, 0, 0);
    if (r) {
      r->loss_sum += loss;
      r->tokens += (double)b->n_targets;
      r->chars += batch_chars(b, chars_of, ds->vocab_size);
    }
    model_final_state(m, b, h, c);
  }
}

/* An undelimited split (train.h): pieces of P targets, this rank's full ones in groups of B (the
 * short last piece, if it is this rank's, alone); each after the first begins with a burn-in of
 * the EVAL_BURN tokens before it, the first from a zero state. */
static void eval_pieces(model *m, const dataset *ds, int split, int B, eval_result *r,
                        const float *chars_of) {
  const int rank = core_rank(), W = core_world();
  const int64_t L = m->cfg.layers, H = m->cfg.hidden, HS = model_state_width(&m->cfg);
  const uint64_t n_tgt = ds->split[split].n_tok >= 2 ? ds->split[split].n_tok - 1 : 0;
  const uint64_t P = eval_piece_len(n_tgt), n_pieces = (n_tgt + P - 1) / P;
  const uint64_t burn = P > EVAL_BURN ? EVAL_BURN : 0;
  uint64_t *mine = xmalloc((size_t)(n_pieces / (uint64_t)W + 1) * sizeof(uint64_t));
  uint64_t *start = xmalloc((size_t)B * sizeof(uint64_t));
  int n = 0;
  for (uint64_t p = (uint64_t)rank; p < n_pieces; p += (uint64_t)W) mine[n++] = p;
  float *h = xmalloc((size_t)(L * B * H) * sizeof(float));
  float *c = xmalloc((size_t)(L * B * H) * sizeof(float));
  items it = {0};
  batch b = {0};
  for (int i = 0; i < n;) {
    const uint64_t plen = n_tgt - mine[i] * P < P ? n_tgt - mine[i] * P : P;
    int k = 1;
    while (plen == P && k < B && i + k < n && n_tgt - mine[i + k] * P >= P) k++;
    memset(h, 0, (size_t)(L * k * H) * sizeof(float));
    memset(c, 0, (size_t)(L * k * H) * sizeof(float));
    if (burn && mine[i + k - 1] > 0) { /* the first piece reads the same tokens, then is reset */
      for (int j = 0; j < k; j++) start[j] = mine[i + j] ? mine[i + j] * P - burn : 0;
      eval_rows(m, ds, split, start, k, burn, h, c, &it, &b, NULL, NULL);
      for (int j = 0; j < k; j++)
        for (int64_t l = 0; mine[i + j] == 0 && l < L; l++) {
          memset(h + (l * k + j) * HS, 0, (size_t)HS * sizeof(float));
          memset(c + (l * k + j) * H, 0, (size_t)H * sizeof(float));
        }
    }
    for (int j = 0; j < k; j++) start[j] = mine[i + j] * P;
    eval_rows(m, ds, split, start, k, plen, h, c, &it, &b, r, chars_of);
    i += k;
  }
  items_free(&it);
  batch_free(&b);
  xfree(h);
  xfree(c);
  xfree(start);
  xfree(mine);
}

eval_result train_eval_rollout(model *m, const dataset *ds, int split, int steps) {
  const int64_t D = m->cfg.n_in;
  const ds_split *sp = &ds->split[split];
  double *fc = xcalloc((size_t)(4 * D + 1), sizeof(double));
  float *pred = xmalloc((size_t)(steps * D) * sizeof(float)), *seq = NULL;
  for (uint64_t q = (uint64_t)core_rank(); q < sp->n_seq; q += (uint64_t)core_world()) {
    const int64_t n = (int64_t)dataset_seq_len(ds, split, q);
    if (n <= steps) continue;
    seq = xrealloc(seq, (size_t)(n * D) * sizeof(float));
    dataset_read_values(ds, split, dataset_seq_start(ds, split, q), (uint64_t)n, seq);
    generate_frames(m, seq, n - steps, steps, 0, 0, pred);
    const float *y = seq + (n - steps) * D, *last = seq + (n - steps - 1) * D;
    for (int64_t g = 0; g < steps; g++)
      for (int64_t d = 0; d < D; d++) {
        const double e = (double)pred[g * D + d] - y[g * D + d], b = (double)last[d] - y[g * D + d];
        fc[d] += e * e, fc[D + d] += fabs(e), fc[2 * D + d] += b * b, fc[3 * D + d] += fabs(b);
      }
    fc[4 * D] += (double)steps;
  }
  dist_sum_doubles(fc, (int)(4 * D + 1));
  eval_result r = {.tokens = fc[4 * D], .fc = fc, .n_feat = (int)D};
  xfree(pred);
  xfree(seq);
  return r;
}

double eval_forecast(const eval_result *r, int what, int k) {
  if (r->tokens <= 0 || !r->fc) return 0;
  double s = 0;
  for (int d = 0; d < r->n_feat; d++)
    if (k < 0 || d == k) s += r->fc[what * r->n_feat + d];
  return s / (r->tokens * (k < 0 ? r->n_feat : 1));
}

/* Tokens one forward of evaluation may hold: what its probabilities and activations take (floats
 * per token: the readout's outputs, every layer's gates and states, the input) kept near
 * EVAL_FLOATS, whatever the lengths of the data. */
static int64_t eval_budget(const model *m) {
  const model_config *c = &m->cfg;
  const int64_t per =
      (int64_t)m->O + (int64_t)c->embed +
      (int64_t)c->layers * (c->bidirectional ? 2 : 1) * (cell_gates(c->cell) + 3) * c->hidden;
  const int64_t floats = hooks_get()->eval_floats > 0 ? hooks_get()->eval_floats : EVAL_FLOATS;
  const int64_t n = floats / (per > 0 ? per : 1);
  return n < 4 ? 4 : n;
}

/* Whether a sequence's loss can be summed window by window with the state carried (exactly the
 * whole sequence's: nothing flows backward in evaluation): a unidirectional stack whose task's
 * loss is per step, without an encoder to attend to. */
static int eval_windowed(const model *m, const dataset *ds) {
  return !m->cfg.bidirectional && task_desc_of(ds->task)->windowed;
}

/* One long sequence (it's item 0) in windows of T steps, the state carried; adds its loss,
 * targets, characters and the task's figures to r. */
static void eval_long(model *m, const dataset *ds, const items *it, int T, eval_result *r,
                      const float *chars_of) {
  const task_desc *td = task_desc_of(ds->task);
  const int64_t L = m->cfg.layers, H = m->cfg.hidden, D = ds->n_features;
  float *h = xcalloc((size_t)(L * H), sizeof(float)), *c = xcalloc((size_t)(L * H), sizeof(float));
  int32_t *in, *tgt, *zv;
  float *xv, *yv, *cv = it->cv ? it->cv[0] : NULL;
  int len;
  uint64_t id = it->ids[0];
  items w = *it; /* the window: the same item, its pointers moved along */
  w.in = &in, w.tgt = &tgt, w.len = &len, w.ids = &id, w.xv = &xv, w.yv = &yv, w.zv = &zv;
  w.cv = it->cv ? &cv : NULL;
  batch b = {0};
  for (int pos = 0; pos < it->len[0]; pos += T) {
    len = it->len[0] - pos < T ? it->len[0] - pos : T;
    in = it->in && it->in[0] ? it->in[0] + pos : NULL;
    tgt = it->tgt && it->tgt[0] ? it->tgt[0] + pos : NULL;
    zv = it->zv && it->zv[0] ? it->zv[0] + pos : NULL;
    xv = it->xv && it->xv[0] ? it->xv[0] + (int64_t)pos * D : NULL;
    yv = it->yv && it->yv[0] ? it->yv[0] + (int64_t)pos * D : NULL;
    items_pack(&b, &w, 1, ds);
    /* the first window from the model's own initial state (zeros; condlm: its condition's) */
    r->loss_sum += model_forward(m, &b, pos ? h : NULL, pos ? c : NULL, 0, 0);
    r->tokens += (double)b.n_targets;
    r->chars += batch_chars(&b, chars_of, ds->vocab_size);
    if (td->score) td->score(r, m, ds, NULL, 1, &b);
    model_final_state(m, &b, h, c);
  }
  batch_free(&b);
  xfree(h);
  xfree(c);
}

/* every figure of r summed over the ranks (each rank's in the same order: as summed in one) */
static void eval_sum(eval_result *r) {
  double v[16] = {r->loss_sum, r->tokens, r->chars,   r->tok_correct,
                  r->seqs,     r->exact,  r->hyp_len, r->ref_len};
  for (int n = 0; n < 4; n++) v[8 + n] = r->bleu_match[n], v[12 + n] = r->bleu_total[n];
  dist_sum_doubles(v, 16);
  r->loss_sum = v[0], r->tokens = v[1], r->chars = v[2], r->tok_correct = v[3];
  r->seqs = v[4], r->exact = v[5], r->hyp_len = v[6], r->ref_len = v[7];
  for (int n = 0; n < 4; n++) r->bleu_match[n] = v[8 + n], r->bleu_total[n] = v[12 + n];
  if (r->confusion) dist_sum_doubles(r->confusion, r->n_out * r->n_out);
  if (r->fc) dist_sum_doubles(r->fc, 4 * r->n_feat);
}

/* Delimited sequences: this rank's, longest first, in batches within the budget */
static void eval_sequences(model *m, const dataset *ds, int split, int B, int max_len,
                           eval_result *r, const float *chars_of) {
  const task_desc *td = task_desc_of(ds->task);
  const ds_split *sp = &ds->split[split];
  const int rank = core_rank(), W = core_world();
  items it = {0};
  batch b = {0};
  uint64_t n = 0;
  uint64_t *mine = xmalloc((sp->n_seq / (uint64_t)W + 1) * sizeof(uint64_t));
  for (uint64_t q = (uint64_t)rank; q < sp->n_seq; q += (uint64_t)W) mine[n++] = q;
  dataset_sort_by_length(ds, split, mine, n);
  const int64_t budget = eval_budget(m);
  for (uint64_t i = 0; i < n;) {
    /* up to B sequences (longest first) within the budget */
    const int64_t first = items_seq_steps(ds, split, mine[i], max_len);
    int k = 1;
    while (k < B && i + (uint64_t)k < n && (int64_t)(k + 1) * first <= budget) k++;
    if (first > budget && eval_windowed(m, ds)) {
      items_load_sequences(&it, ds, split, mine + i, 1, max_len);
      eval_long(m, ds, &it, (int)budget, r, chars_of);
      i += 1;
      continue;
    }
    items_load_sequences(&it, ds, split, mine + i, k, max_len);
    items_pack(&b, &it, k, ds);
    r->loss_sum += model_forward(m, &b, NULL, NULL, 0, 0);
    r->tokens += (double)b.n_targets;
    r->chars += batch_chars(&b, chars_of, ds->vocab_size);
    if (td->score) td->score(r, m, ds, &it, k, &b);
    i += (uint64_t)k;
  }
  xfree(mine);
  items_free(&it);
  batch_free(&b);
}

eval_result train_eval(model *m, const dataset *ds, int split, int B, int max_len) {
  const task_desc *td = task_desc_of(ds->task);
  eval_result res = {0};
  if (td->score_open) td->score_open(&res, m);
  float *chars_of = eval_chars_of(ds);
  const char *pw, *ph;
  core_oom_context("evaluation's activations (at most about 128 MiB a forward, or one long "
                   "bidirectional, classified or seq2seq sequence whole)",
                   "lower --batch (recur eval), or cut long sequences with --max-len (an estimate)",
                   &pw, &ph);
  if (td->default_mode == MODE_STREAM && ds->eos_id < 0) /* one stream: lm without <eos> */
    eval_pieces(m, ds, split, B, &res, chars_of);
  else
    eval_sequences(m, ds, split, B, max_len, &res, chars_of);
  core_oom_context(pw, ph, NULL, NULL);
  eval_sum(&res);
  xfree(chars_of);
  return res;
}

double eval_accuracy(const eval_result *r) {
  double c = 0, t = 0;
  for (int i = 0; i < r->n_out; i++)
    for (int j = 0; j < r->n_out; j++) {
      t += r->confusion[i * r->n_out + j];
      if (i == j) c += r->confusion[i * r->n_out + j];
    }
  return t > 0 ? c / t : 0;
}

double eval_token_accuracy(const eval_result *r) {
  return r->tokens > 0 ? r->tok_correct / r->tokens : 0;
}
double eval_exact_match(const eval_result *r) { return r->seqs > 0 ? r->exact / r->seqs : 0; }

double eval_bleu(const eval_result *r) {
  double logp = 0;
  for (int n = 0; n < 4; n++) {
    if (r->bleu_match[n] <= 0 || r->bleu_total[n] <= 0) return 0;
    logp += 0.25 * log(r->bleu_match[n] / r->bleu_total[n]);
  }
  const double bp = r->hyp_len < r->ref_len ? exp(1.0 - r->ref_len / r->hyp_len) : 1.0;
  return bp * exp(logp);
}

double eval_f1(const eval_result *r, int k) {
  double tp = r->confusion[k * r->n_out + k], fp = 0, fn = 0;
  for (int i = 0; i < r->n_out; i++) {
    if (i == k) continue;
    fp += r->confusion[i * r->n_out + k];
    fn += r->confusion[k * r->n_out + i];
  }
  return tp > 0 ? 2 * tp / (2 * tp + fp + fn) : 0;
}

double eval_macro_f1(const eval_result *r) {
  double s = 0;
  int n = 0;
  for (int k = 0; k < r->n_out; k++) {
    double support = 0;
    for (int j = 0; j < r->n_out; j++) support += r->confusion[k * r->n_out + j];
    if (support > 0) {
      s += eval_f1(r, k);
      n++;
    }
  }
  return n ? s / n : 0;
}

double eval_lm_metric(const dataset *ds, double loss, const char **name) {
  int word = ds->level == LEVEL_WORD || ds->level == LEVEL_SPM; /* per word or subword */
  *name = word ? "ppl" : "bpc";
  return word ? exp(loss) : loss / log(2.0);
}

/* generate: sampling and prediction with a trained model (see generate.h). */
#include "recur/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen-impl.h"
#include "recur/core.h"
#include "recur/spm.h"

void gen_move_row(float *x, int64_t L, int64_t rows, int64_t w, int64_t from, int64_t to) {
  for (int64_t l = 0; l < L && to != from; l++)
    memmove(x + (l * rows + to) * w, x + (l * rows + from) * w, (size_t)w * sizeof(float));
}

void gen_pack_layers(float *x, int64_t L, int64_t rows, int64_t kept, int64_t w) {
  for (int64_t l = 1; l < L && kept < rows; l++)
    memmove(x + l * kept * w, x + l * rows * w, (size_t)(kept * w) * sizeof(float));
}

/* a token as text; word level: spaced as the corpus spaced it (tokenize.h) */
static void put_token(FILE *out, const model_vocab *v, int64_t id, token_spacer *sp) {
  if (id == v->eos_id) return;
  if (v->level == LEVEL_BYTE && id < 256) {
    fputc((int)id, out);
    return;
  }
  if (v->level == LEVEL_WORD && token_spacer_next(sp, v->glue, v->vocab, id)) fputc(' ', out);
  fputs(v->vocab[id], out);
}

/* spm level: ids gathered, then the text they add to the prime's (decoded together, as
 * SentencePiece decodes a whole sequence) */
static void spm_keep(int32_t **ids, int64_t *n, int64_t *cap, int32_t id) {
  if (*n == *cap) *ids = xrealloc(*ids, (size_t)(*cap = *cap ? 2 * *cap : 64) * sizeof(int32_t));
  (*ids)[(*n)++] = id;
}
static void spm_put_after(FILE *out, const spm_model *s, const int32_t *prime, int64_t np,
                          int prime_space, const int32_t *gen, int64_t ng) {
  int32_t *all = xmalloc((size_t)(np + ng + 1) * sizeof(int32_t));
  if (np > 0) memcpy(all, prime, (size_t)np * sizeof(int32_t));
  if (ng > 0) memcpy(all + np, gen, (size_t)ng * sizeof(int32_t));
  char err[512];
  char *head = spm_decode(s, all, np, err, sizeof err);
  char *whole = head ? spm_decode(s, all, np + ng, err, sizeof err) : NULL;
  if (!head || !whole) recur_fail("SentencePiece", NULL, "cannot decode: %s", err);
  size_t hl = strlen(head);
  const char *rest = strncmp(whole, head, hl) == 0 ? whole + hl : whole;
  if (prime_space && rest[0] == ' ') rest++; /* the prime, printed as given, ends in its space */
  fputs(rest, out);
  free(head); /* the shim's */
  free(whole);
  xfree(all);
}

/* draw g from probabilities pr (V) at a temperature, among the top k (0 = all) */
static int64_t draw(const float *pr, int V, const sample_opts *so, int64_t g, float *p,
                    int *order) {
  if (so->temperature == 0) return vec_argmax(pr, V);
  double s = 0;
  for (int j = 0; j < V; j++) {
    p[j] = (float)pow((double)pr[j], 1.0 / so->temperature);
    order[j] = j;
  }
  if (so->top_k > 0 && so->top_k < V) { /* keep the k most probable */
    for (int64_t a = 0; a < so->top_k; a++) {
      int best = (int)a;
      for (int j = (int)a + 1; j < V; j++)
        if (p[order[j]] > p[order[best]]) best = j;
      int t = order[a];
      order[a] = order[best];
      order[best] = t;
    }
    for (int64_t j = so->top_k; j < V; j++) p[order[j]] = 0;
  }
  for (int j = 0; j < V; j++) s += p[j];
  double u = rng_uniform(rng_key(so->seed, RNG_SAMPLE, (uint64_t)g, 0, 0)) * s, acc = 0;
  int64_t pick = -1;
  for (int j = 0; j < V; j++) {
    acc += p[j];
    if (p[j] > 0) pick = j;
    if (acc > u && p[j] > 0) break;
  }
  return pick < 0 ? 0 : pick;
}

int64_t generate_sample(model *m, const model_vocab *v, const char *prime, const sample_opts *so,
                        FILE *out) {
  const int L = m->cfg.layers, H = m->cfg.hidden, V = m->cfg.vocab, want = m->want_probs;
  m->want_probs = 1; /* the adaptive softmax's whole distribution, to draw from */
  vocab_index vi;
  vocab_index_init(&vi, v->level, v->vocab, v->vocab_size, v->eos_id, v->unk_id);
  if (v->spm_proto) vocab_index_spm(&vi, v->spm_proto, v->spm_proto_len);
  int64_t np = 0;
  int32_t *pids = tokenize_encode(&vi, prime, &np, so->strict ? TOKENIZE_STRICT : TOKENIZE_UNK_NOTE,
                                  0, "--prime");
  /* the sequence starts with <eos> when the model knows one (that is how it was trained) */
  int32_t *seq = xmalloc((size_t)(np + 2) * sizeof(int32_t));
  int ns = 0;
  if (v->eos_id >= 0) seq[ns++] = (int32_t)v->eos_id;
  for (int64_t i = 0; i < np; i++) seq[ns++] = pids[i];
  if (ns == 0) { /* no start symbol: begin with a newline if the vocabulary has one */
    int64_t nl = vocab_index_find(&vi, "\n", 1);
    seq[ns++] = (int32_t)(nl >= 0 ? nl : 0);
  }
  float *h = xcalloc((size_t)L * (size_t)H, sizeof(float)),
        *c = xcalloc((size_t)L * (size_t)H, sizeof(float));
  if (task_is(m->cfg.task)->label_cond) /* the condition */
    model_cond_state(m, &so->label, so->cond, 1, h, c);
  float *p = xmalloc((size_t)V * sizeof(float));
  int *order = xmalloc((size_t)V * sizeof(int));
  batch b = {0};
  uint64_t id0 = 0;
  int32_t *in = seq, cur;
  int len = ns;
  fputs(prime, out);
  /* the prime as given; the first word drawn is spaced after its last token, unless the prime
   * ends in a space of its own */
  size_t pl = strlen(prime);
  token_spacer sp = TOKEN_SPACER_INIT;
  for (int64_t i = 0; i < np; i++) token_spacer_next(&sp, v->glue, v->vocab, pids[i]);
  if (pl > 0 && prime[pl - 1] == ' ') sp.prev = -1;
  int64_t g;
  int32_t *gen = NULL;
  int64_t ngen = 0, capgen = 0;
  for (g = 0; g < so->length; g++) {
    batch_pack(&b, 1, &len, &in, NULL, &id0);
    if (task_is(m->cfg.task)->label_cond) batch_set_labels(&b, &so->label);
    if (m->cfg.cond_features > 0) batch_set_cond(&b, &so->cond, m->cfg.cond_features);
    model_forward(m, &b, h, c, 0, 0);
    model_final_state(m, &b, h, c);
    int64_t pick = draw(m->probs + (b.s.N - 1) * V, V, so, g, p, order);
    if (pick == v->eos_id) break;
    if (vi.spm) /* subwords: decoded at the end with the prime, as SentencePiece decodes */
      spm_keep(&gen, &ngen, &capgen, (int32_t)pick);
    else
      put_token(out, v, pick, &sp);
    cur = (int32_t)pick;
    in = &cur;
    len = 1;
  }
  if (vi.spm) spm_put_after(out, vi.spm, pids, np, pl > 0 && prime[pl - 1] == ' ', gen, ngen);
  xfree(gen);
  fputc('\n', out);
  batch_free(&b);
  vocab_index_free(&vi);
  xfree(h);
  xfree(c);
  xfree(p);
  xfree(order);
  xfree(seq);
  xfree(pids);
  m->want_probs = want;
  return g;
}

void generate_greedy(model *m, int32_t eos, int n, const int *src_len, int32_t *const *src,
                     const float *const *src_x, int max_out, int32_t **out, int *out_len,
                     double *score) {
  const int64_t L = m->cfg.layers, H = m->cfg.hidden, V = m->O;
  RECUR_ASSERT(m->role == MODEL_DECODER);
  const size_t nn = (size_t)(n > 0 ? n : 1);
  int *one = xmalloc(nn * sizeof(int)), *run = xmalloc(nn * sizeof(int)),
      *src_row = xmalloc(nn * sizeof(int));
  int32_t *cur = xmalloc(nn * sizeof(int32_t)), **in = xmalloc(nn * sizeof(int32_t *));
  uint64_t *ids = xcalloc(nn, sizeof(uint64_t));
  float *h = xmalloc((size_t)L * nn * (size_t)H * sizeof(float)),
        *c = xmalloc((size_t)L * nn * (size_t)H * sizeof(float));
  const int64_t D = m->D, feed = m->cfg.input_feed; /* --input-feed: each row's last h~ */
  float *fd = feed ? xmalloc(nn * (size_t)D * sizeof(float)) : NULL;
  for (int i = 0; i < n; i++) {
    one[i] = 1;
    run[i] = i;   /* row k of a step is input run[k] (the ones still running, in order) */
    cur[i] = eos; /* the decoder's first input, as in training */
    in[i] = &cur[i];
    out_len[i] = -1;
    if (score) score[i] = 0;
  }
  batch b = {0};
  int nr = n;
  for (int t = 0; t < max_out && nr > 0; t++) {
    batch_pack(&b, nr, one, in, NULL, ids); /* rows of equal length keep the items' order */
    m->feed_in = t > 0 ? fd : NULL;
    if (t == 0) {
      batch_set_sources(&b, src_len, src, src_x, m->enc->cfg.n_in);
      memcpy(src_row, b.src_row, nn * sizeof(int));
      model_forward(m, &b, NULL, NULL, 0, 0); /* encodes, then the first step */
    } else { /* the running rows only, each with its source (encoded at step 0) */
      for (int k = 0; k < nr; k++) b.src_row[k] = src_row[run[k]];
      model_forward(m, &b, h, c, 0, 0);
    }
    model_final_state(m, &b, h, c); /* (L, nr, H) */
    if (feed) memcpy(fd, model_attn_state(m), (size_t)(nr * D) * sizeof(float));
    int keep = 0;
    for (int k = 0; k < nr; k++) {
      const int i = run[k];
      int32_t pick = (int32_t)vec_argmax(m->probs + (int64_t)k * V, (int)V);
      if (score) score[i] += log((double)m->probs[(int64_t)k * V + pick]);
      if (pick == eos) {
        out_len[i] = t;
        continue;
      }
      out[i][t] = pick;
      gen_move_row(h, L, nr, H, k, keep); /* compact the states (sources never behind targets) */
      gen_move_row(c, L, nr, H, k, keep);
      if (feed) gen_move_row(fd, 1, nr, D, k, keep);
      run[keep] = i;
      cur[keep++] = pick;
    }
    gen_pack_layers(h, L, nr, keep, H);
    gen_pack_layers(c, L, nr, keep, H);
    nr = keep;
  }
  for (int i = 0; i < n; i++)
    if (out_len[i] < 0) out_len[i] = max_out;
  batch_free(&b);
  m->feed_in = NULL;
  xfree(one), xfree(run), xfree(src_row), xfree(cur), xfree(in), xfree(ids), xfree(h), xfree(c);
  xfree(fd);
}

/* decode n sources (tokens src, or frames x; slen[i] steps each; an empty one gives an empty
 * output) greedily together or each by beam search, and write a line per source */
static void transduce_write(model *m, const model_vocab *v, int n, const int *slen,
                            int32_t *const *src, const float *const *x, const decode_opts *d,
                            FILE *out) {
  const int max_out = d->max_out;
  const size_t nn = (size_t)(n > 0 ? n : 1);
  int32_t **res = xmalloc(nn * sizeof(int32_t *)), **ks = xmalloc(nn * sizeof(int32_t *)),
          **kr = xmalloc(nn * sizeof(int32_t *));
  const float **kx = xmalloc(nn * sizeof(float *));
  int *olen = xcalloc(nn, sizeof(int)), *idx = xmalloc(nn * sizeof(int)),
      *kl = xmalloc(nn * sizeof(int)), *ko = xmalloc(nn * sizeof(int));
  double *ksc = xcalloc(nn, sizeof(double)), *sc = xcalloc(nn, sizeof(double));
  vocab_index sv = {0}; /* spm level: the model that decodes the outputs */
  if (v->spm_proto) vocab_index_spm(&sv, v->spm_proto, v->spm_proto_len);
  const spm_model *spm = sv.spm;
  int k = 0; /* the non-empty sources, decoded together */
  for (int i = 0; i < n; i++) {
    res[i] = xmalloc((size_t)(max_out > 0 ? max_out : 1) * sizeof(int32_t));
    if (slen[i] > 0) idx[k++] = i;
  }
  for (int j = 0; j < k; j++) {
    ks[j] = src ? src[idx[j]] : NULL, kx[j] = x ? x[idx[j]] : NULL;
    kl[j] = slen[idx[j]], kr[j] = res[idx[j]];
  }
  if (k > 0 && d->beam <= 1)
    generate_greedy(m, (int32_t)v->eos_id, k, kl, src ? ks : NULL, x ? kx : NULL, max_out, kr, ko,
                    ksc);
  if (k > 0 && d->beam > 1)
    generate_beams(m, (int32_t)v->eos_id, k, kl, src ? ks : NULL, x ? kx : NULL, d->beam,
                   d->length_penalty, max_out, kr, ko, ksc);
  for (int j = 0; j < k; j++) olen[idx[j]] = ko[j], sc[idx[j]] = ksc[j];
  for (int i = 0; i < n; i++) {
    token_spacer sp = TOKEN_SPACER_INIT;
    if (spm) { /* subwords: the output decoded whole */
      int64_t k = 0;
      while (k < olen[i] && res[i][k] != v->eos_id) k++;
      spm_put_after(out, spm, NULL, 0, 0, res[i], k);
    }
    for (int t = 0; t < olen[i] && !spm; t++) put_token(out, v, res[i][t], &sp);
    if (d->scores) fprintf(out, "\t%.6f", sc[i]);
    fputc('\n', out);
    xfree(res[i]);
  }
  fflush(out);
  if (sv.own_spm) spm_free((spm_model *)sv.spm);
  xfree(res), xfree(ks), xfree(kr), xfree(kx), xfree(olen), xfree(idx), xfree(kl), xfree(ko),
      xfree(ksc), xfree(sc);
}

void generate_transduce(model *m, const model_vocab *v, const vocab_index *vi, char *const *lines,
                        int n, const decode_opts *d, FILE *out) {
  const size_t nn = (size_t)(n > 0 ? n : 1);
  int32_t **src = xmalloc(nn * sizeof(int32_t *));
  int *slen = xmalloc(nn * sizeof(int));
  for (int i = 0; i < n; i++) {
    int64_t len = 0;
    src[i] = tokenize_encode(vi, lines[i], &len, TOKENIZE_UNK, 0, "input");
    slen[i] = (int)len;
  }
  transduce_write(m, v, n, slen, src, NULL, d, out);
  for (int i = 0; i < n; i++) xfree(src[i]);
  xfree(src), xfree(slen);
}

void generate_transduce_frames(model *m, const model_vocab *v, int n, const int *len,
                               const float *const *x, const decode_opts *d, FILE *out) {
  RECUR_ASSERT(m->role == MODEL_DECODER && m->enc->cfg.n_in > 0);
  transduce_write(m, v, n, len, NULL, x, d, out);
}

void generate_rollout(model *m, const model_vocab *v, const float *prime, int64_t n, int64_t length,
                      double temperature, uint64_t seed, FILE *out) {
  const int64_t D = m->cfg.n_in;
  float *pred = xmalloc((size_t)((length > 0 ? length : 1) * D) * sizeof(float));
  generate_frames(m, prime, n, length, temperature, seed, pred);
  for (int i = 0; i < D; i++) fprintf(out, "%s%s", i ? "," : "", v->feature_names[i]);
  fputc('\n', out);
  for (int64_t g = 0; g < length; g++)
    for (int64_t d = 0; d < D; d++)
      fprintf(out, "%.9g%c", (double)pred[g * D + d], d + 1 < D ? ',' : '\n');
  xfree(pred);
}

void generate_frames(model *m, const float *prime, int64_t n, int64_t length, double temperature,
                     uint64_t seed, float *pred) {
  const int64_t L = m->cfg.layers, H = m->cfg.hidden, D = m->cfg.n_in, O = m->O;
  RECUR_ASSERT(task_is(m->cfg.task)->frames && n > 0);
  float *h = xmalloc((size_t)(L * H) * sizeof(float)),
        *c = xmalloc((size_t)(L * H) * sizeof(float));
  float *x = xmalloc((size_t)D * sizeof(float));
  int32_t *zeros = xcalloc((size_t)n, sizeof(int32_t));
  batch b = {0};
  uint64_t id0 = 0;
  int len = (int)n;
  const float *px = prime;
  for (int64_t g = 0; g < length; g++) {
    batch_pack(&b, 1, &len, NULL, &zeros, &id0);
    batch_set_values(&b, &px, &px, (int)D); /* (targets unused) */
    model_forward(m, &b, g ? h : NULL, g ? c : NULL, 0, 0);
    model_final_state(m, &b, h, c);
    /* the last step's prediction */
    model_frame(m, m->probs + (b.s.N - 1) * O, temperature,
                rng_key(seed, RNG_SAMPLE, (uint64_t)g, 0, 0), x);
    memcpy(pred + g * D, x, (size_t)D * sizeof(float));
    px = x; /* the next step reads the frame just predicted */
    len = 1;
  }
  batch_free(&b);
  xfree(h), xfree(c), xfree(x), xfree(zeros);
}

/* forward one packed sequence of n steps and write its label and probability (classify) or its
 * tags (tag: word/TAG tokens with ids, a tag character per character, or tags separated by spaces
 * for real-valued steps) */
static void predict_write(model *m, const model_vocab *v, batch *b, int n, const int32_t *ids,
                          FILE *out) {
  const int O = m->O, word_tags = task_is(m->cfg.task)->tags && v->level == LEVEL_WORD;
  int32_t none = -1;
  if (task_is(m->cfg.task)->pooled) batch_set_labels(b, &none);
  model_forward(m, b, NULL, NULL, 0, 0);
  if (task_is(m->cfg.task)->pooled) {
    int best = vec_argmax(m->probs, O);
    fprintf(out, "%s\t%.4f", v->out_names[best], m->probs[best]);
  }
  for (int r = 0; task_is(m->cfg.task)->tags && r < n; r++) { /* packed row r is position r */
    const char *tag = v->out_names[vec_argmax(m->probs + (int64_t)r * O, O)];
    if (word_tags)
      fprintf(out, "%s%s/%s", r ? " " : "", v->vocab[ids[r]], tag);
    else
      fprintf(out, "%s%s", r && m->cfg.n_in > 0 ? " " : "", tag);
  }
}

void generate_predict(model *m, const model_vocab *v, const vocab_index *vi, const char *text,
                      batch *b, FILE *out) {
  int64_t n64 = 0;
  const int word_tags = task_is(m->cfg.task)->tags && v->level == LEVEL_WORD;
  int32_t *ids = tokenize_encode(vi, text, &n64, TOKENIZE_UNK, word_tags, "input");
  int n = (int)n64;
  uint64_t id0 = 0;
  if (n > 0) {
    batch_pack(b, 1, &n, &ids, NULL, &id0);
    predict_write(m, v, b, n, ids, out);
  }
  fputc('\n', out);
  fflush(out);
  xfree(ids);
}

void generate_predict_frames(model *m, const model_vocab *v, const float *x, int n, batch *b,
                             FILE *out) {
  uint64_t id0 = 0;
  RECUR_ASSERT(m->cfg.n_in > 0 && n > 0);
  batch_pack(b, 1, &n, NULL, NULL, &id0);
  batch_set_values(b, &x, NULL, m->cfg.n_in);
  predict_write(m, v, b, n, NULL, out);
  fputc('\n', out);
  fflush(out);
}

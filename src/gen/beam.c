/* beam: seq2seq beam search over several sources at once (see generate.h): every running
 * hypothesis of every source is a row of one batch, so a step is one product per layer for all of
 * them; a source leaves the batch when its search ends. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen-impl.h"
#include "recur/core.h"
#include "recur/generate.h"

/* the candidates of a beam step: the best `cap` of (score, beam, token), best first */
typedef struct {
  double s;
  int k;
  int32_t v;
} cand;

static void cand_push(cand *c, int *n, int cap, double s, int k, int32_t v) {
  if (*n == cap && s <= c[cap - 1].s) return;
  int i = *n < cap ? (*n)++ : cap - 1;
  while (i > 0 && c[i - 1].s < s) {
    c[i] = c[i - 1];
    i--;
  }
  c[i] = (cand){s, k, v};
}

/* one source's search: its hypotheses (tokens so far, double-buffered), their scores, the best
 * ended one */
typedef struct {
  int32_t *hist, *nhist; /* (K, max_out + 1) */
  double *bs;            /* (K) */
  int32_t *best;         /* (max_out + 1) */
  double best_norm, best_raw;
  int best_len;
} search;

/* The step's candidates of source a (rows a*K ..; at t = 0 its one row, a) into its new beams:
 * the states of each new beam copied from its parent's row of h, c ((L, in_rows, H)) and fd into
 * row a*K + beam of nh, nc ((L, out_rows, H)) and nfd, its token into cur; returns whether the
 * search ends here (OpenNMT's rules, as generate_beam says). */
static int advance(model *m, search *s, int a, int t, int in_rows, int out_rows, int32_t eos, int K,
                   double alpha, int max_out, const float *h, const float *c, const float *fd,
                   float *nh, float *nc, float *nfd, int32_t *cur, cand *cd) {
  const int64_t L = m->cfg.layers, H = m->cfg.hidden, V = m->O, D = m->D;
  const int base = t == 0 ? a : a * K, nb = t == 0 ? 1 : K; /* this source's rows now */
  int nc_ = 0;
  for (int k = 0; k < nb; k++)
    for (int64_t v = 0; v < V; v++) {
      const float p = m->probs[(int64_t)(base + k) * V + v];
      if (p > 0) cand_push(cd, &nc_, 2 * K, s->bs[k] + log((double)p), k, (int32_t)v);
    }
  const int W = max_out + 1;
  int nk = 0;
  for (int i = 0; i < nc_ && nk < K; i++) {
    const cand *q = &cd[i];
    if (q->v == eos) { /* ended: t tokens and <eos> */
      const double norm = q->s / pow((5.0 + (t + 1)) / 6.0, alpha);
      if (norm > s->best_norm) {
        s->best_norm = norm;
        s->best_raw = q->s;
        s->best_len = t;
        memcpy(s->best, s->hist + q->k * W, (size_t)t * sizeof(int32_t));
      }
      continue;
    }
    memcpy(s->nhist + nk * W, s->hist + q->k * W, (size_t)t * sizeof(int32_t));
    s->nhist[nk * W + t] = q->v;
    const int64_t from = base + q->k, to = (int64_t)a * K + nk;
    for (int64_t l = 0; l < L; l++) {
      memcpy(nh + (l * out_rows + to) * H, h + (l * in_rows + from) * H, (size_t)H * sizeof(float));
      memcpy(nc + (l * out_rows + to) * H, c + (l * in_rows + from) * H, (size_t)H * sizeof(float));
    }
    if (fd) memcpy(nfd + to * D, fd + from * D, (size_t)D * sizeof(float));
    s->bs[nk] = q->s;
    cur[to] = q->v;
    nk++;
  }
  for (int k = nk; k < K; k++) { /* fewer candidates than beams (tiny vocabularies) */
    s->bs[k] = -INFINITY;
    cur[a * K + k] = eos;
    for (int64_t l = 0; l < L; l++) { /* a defined state for the dead row */
      memset(nh + (l * out_rows + (int64_t)a * K + k) * H, 0, (size_t)H * sizeof(float));
      memset(nc + (l * out_rows + (int64_t)a * K + k) * H, 0, (size_t)H * sizeof(float));
    }
    if (fd) memset(nfd + ((int64_t)a * K + k) * D, 0, (size_t)D * sizeof(float));
  }
  int32_t *th = s->hist;
  s->hist = s->nhist, s->nhist = th;
  /* done when no running hypothesis can still beat the best ended one: with alpha 0 a running
   * score only falls; with a length penalty, when this step's best candidate ended (OpenNMT's
   * rule: the top of the beam is finished) */
  return nk == 0 || (alpha == 0 && s->best_len >= 0 && s->bs[0] < s->best_raw) ||
         (alpha > 0 && nc_ > 0 && cd[0].v == eos);
}

/* a search that ended at step t (or ran out of steps): its best hypothesis */
static void finish(search *s, int t, int max_out, int32_t *out, int *out_len, double *score) {
  if (s->best_len < 0) { /* none ended: the best running one */
    s->best_len = t < max_out ? t + 1 : max_out;
    memcpy(s->best, s->hist, (size_t)s->best_len * sizeof(int32_t));
    s->best_raw = s->bs[0];
  }
  memcpy(out, s->best, (size_t)s->best_len * sizeof(int32_t));
  *out_len = s->best_len;
  if (score) *score = s->best_raw;
}

void generate_beams(model *m, int32_t eos, int n, const int *src_len, int32_t *const *src,
                    const float *const *src_x, int K, double alpha, int max_out, int32_t **out,
                    int *out_len, double *score) {
  const int64_t L = m->cfg.layers, H = m->cfg.hidden, D = m->D, feed = m->cfg.input_feed;
  RECUR_ASSERT(m->role == MODEL_DECODER && K >= 1);
  if (n <= 0) return;
  const size_t R = (size_t)n * (size_t)K, W = (size_t)max_out + 1; /* rows at most */
  int *one = xmalloc(R * sizeof(int)), *act = xmalloc((size_t)n * sizeof(int)),
      *src_row = xmalloc((size_t)n * sizeof(int));
  int32_t *cur = xmalloc(R * sizeof(int32_t)), **in = xmalloc(R * sizeof(int32_t *));
  uint64_t *ids = xcalloc(R, sizeof(uint64_t));
  float *h = xmalloc((size_t)L * R * (size_t)H * sizeof(float)),
        *c = xmalloc((size_t)L * R * (size_t)H * sizeof(float)),
        *nh = xmalloc((size_t)L * R * (size_t)H * sizeof(float)),
        *nc = xmalloc((size_t)L * R * (size_t)H * sizeof(float));
  float *fd = feed ? xmalloc(R * (size_t)D * sizeof(float)) : NULL,
        *nfd = feed ? xmalloc(R * (size_t)D * sizeof(float)) : NULL;
  cand *cd = xmalloc((size_t)(2 * K) * sizeof(cand));
  search *s = xcalloc((size_t)n, sizeof(search));
  int32_t *pool = xmalloc((size_t)n * (2 * (size_t)K + 1) * W * sizeof(int32_t));
  double *bpool = xcalloc((size_t)n * (size_t)K, sizeof(double));
  for (int i = 0; i < n; i++) {
    s[i].hist = pool + (size_t)i * (2 * (size_t)K + 1) * W;
    s[i].nhist = s[i].hist + (size_t)K * W;
    s[i].best = s[i].nhist + (size_t)K * W;
    s[i].bs = bpool + (size_t)i * (size_t)K;
    s[i].best_norm = -INFINITY;
    s[i].best_len = -1;
    act[i] = i;
  }
  for (size_t r = 0; r < R; r++) one[r] = 1, cur[r] = eos, in[r] = &cur[r];
  batch b = {0};
  int na = n, t;
  for (t = 0; t < max_out && na > 0; t++) {
    const int rows = t == 0 ? n : na * K; /* the first step: a row per source (one beam) */
    batch_pack(&b, rows, one, in, NULL, ids);
    m->feed_in = t > 0 ? fd : NULL;
    if (t == 0) {
      batch_set_sources(&b, src_len, src, src_x, m->enc->cfg.n_in);
      memcpy(src_row, b.src_row, (size_t)n * sizeof(int));
      b.src_row = xrealloc(b.src_row, R * sizeof(int)); /* the beams' rows, from step 1 */
      model_forward(m, &b, NULL, NULL, 0, 0);
    } else { /* each source's beams read the source encoded at step 0 */
      for (int r = 0; r < rows; r++) b.src_row[r] = src_row[act[r / K]];
      model_forward(m, &b, h, c, 0, 0);
    }
    model_final_state(m, &b, h, c); /* (L, rows, H) */
    if (feed) memcpy(fd, model_attn_state(m), (size_t)rows * (size_t)D * sizeof(float));
    const int nrows = na * K; /* after this step: K beams a running source */
    int keep = 0;
    for (int a = 0; a < na; a++) {
      search *q = &s[act[a]];
      if (advance(m, q, a, t, rows, nrows, eos, K, alpha, max_out, h, c, fd, nh, nc, nfd, cur,
                  cd)) {
        finish(q, t, max_out, out[act[a]], &out_len[act[a]], score ? &score[act[a]] : NULL);
        continue;
      }
      if (keep != a) { /* the running sources' rows move down (their order kept) */
        gen_move_row(nh, L, na, (int64_t)K * H, a, keep);
        gen_move_row(nc, L, na, (int64_t)K * H, a, keep);
        if (feed) gen_move_row(nfd, 1, na, (int64_t)K * D, a, keep);
        memmove(cur + keep * K, cur + a * K, (size_t)K * sizeof(int32_t));
      }
      act[keep++] = act[a];
    }
    gen_pack_layers(nh, L, na, keep, (int64_t)K * H); /* the layers' blocks to the new count */
    gen_pack_layers(nc, L, na, keep, (int64_t)K * H);
    na = keep;
    float *tf = h;
    h = nh, nh = tf;
    tf = c, c = nc, nc = tf;
    tf = fd, fd = nfd, nfd = tf;
  }
  for (int a = 0; a < na; a++) /* out of steps */
    finish(&s[act[a]], max_out, max_out, out[act[a]], &out_len[act[a]],
           score ? &score[act[a]] : NULL);
  batch_free(&b);
  m->feed_in = NULL;
  xfree(one), xfree(act), xfree(src_row), xfree(cur), xfree(in), xfree(ids);
  xfree(h), xfree(c), xfree(nh), xfree(nc), xfree(fd), xfree(nfd), xfree(cd), xfree(s);
  xfree(pool), xfree(bpool);
}

int generate_beam(model *m, int32_t eos, int src_len, int32_t *src, const float *src_x, int K,
                  double alpha, int max_out, int32_t *out, double *score) {
  int len = 0;
  generate_beams(m, eos, 1, &src_len, src ? &src : NULL, src_x ? &src_x : NULL, K, alpha, max_out,
                 &out, &len, score);
  return len;
}

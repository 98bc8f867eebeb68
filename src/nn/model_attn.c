/* model_attn: seq2seq attention over the encoder's outputs (Luong et al. 2015 global attention with
 * the dot and general scores, Bahdanau et al. 2015's additive score as concat), without input
 * feeding: every target step's query is the decoder's top output, so the whole batch's attention
 * runs after the decoder stack, a pair of GEMMs per sequence. Widths: the decoder's D, the
 * encoder's De (2 H when bidirectional); scores compare Dq-wide rows (dot, general: De; concat: D).
 */
#include <math.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"
#include "recur/gemm.h"

struct model_attn_acts {
  int64_t capN, capNs, capA;
  float *ctx;    /* (N, De) context of each target row */
  float *cat;    /* (N, De + D) [context; query] */
  float *ht;     /* (N, D) h~ = tanh(cat W_out^T) */
  float *qq;     /* (N, Dq) general: W_in q; concat: W_q q + b_q */
  float *ks;     /* (Ns, De) the encoder's outputs by source: source j's rows from kofs[j] */
  int64_t *kofs; /* (Bs + 1) */
  uint64_t kgen; /* the encoding ks and kc were made from (model s2s_gen) */
  float *kc;     /* (Ns, D) concat: W_k k, by source as ks */
  float *dKs;    /* (Ns, De) backward: the gradient of ks */
  float *a;      /* the attention weights: row r's (T_r, S_r) block at aoff[r] */
  int64_t *aoff; /* (B + 1) */
  /* backward: (N, D), (N, De + D), (N, Dq), (Ns, D), (Ns, De) */
  float *dz, *dcat, *dqq, *dkc, *dK;
  float *gq, *gd, *gs; /* one sequence: (T, W), (T, De), (T, S) */
  int64_t capT, capS, capTS;
};

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* the widths: decoder D, encoder De, score rows Dq */
static void widths(const model *m, int64_t *D, int64_t *De, int64_t *Dq) {
  *D = m->D;
  *De = m->enc->D;
  *Dq = m->cfg.attention == ATTN_CONCAT ? *D : *De;
}

static void acts_reserve(model *m, const batch *b) {
  if (!m->at) m->at = xcalloc(1, sizeof(struct model_attn_acts));
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  int64_t D, De, Dq;
  widths(m, &D, &De, &Dq);
  const int64_t N = b->s.N, Ns = sb->s.N, B = b->s.B, W = max64(max64(D, De), Dq);
  int64_t A = 0, T = 1, S = 1;
  for (int r = 0; r < B; r++) {
    A += (int64_t)b->len[r] * sb->len[b->src_row[r]];
    T = max64(T, b->len[r]);
    S = max64(S, sb->len[b->src_row[r]]);
  }
  a->aoff = xrealloc(a->aoff, (size_t)(B + 1) * sizeof(int64_t));
  if (N > a->capN) {
    a->ctx = xrealloc(a->ctx, (size_t)(N * De) * sizeof(float));
    a->cat = xrealloc(a->cat, (size_t)(N * (De + D)) * sizeof(float));
    a->ht = xrealloc(a->ht, (size_t)(N * D) * sizeof(float));
    a->qq = xrealloc(a->qq, (size_t)(N * Dq) * sizeof(float));
    a->dz = xrealloc(a->dz, (size_t)(N * D) * sizeof(float));
    a->dcat = xrealloc(a->dcat, (size_t)(N * (De + D)) * sizeof(float));
    a->dqq = xrealloc(a->dqq, (size_t)(N * Dq) * sizeof(float));
    a->capN = N;
  }
  a->kofs = xrealloc(a->kofs, (size_t)(sb->s.B + 1) * sizeof(int64_t));
  if (Ns > a->capNs) {
    a->ks = xrealloc(a->ks, (size_t)(Ns * De) * sizeof(float));
    a->dKs = xrealloc(a->dKs, (size_t)(Ns * De) * sizeof(float));
    a->kc = xrealloc(a->kc, (size_t)(Ns * D) * sizeof(float));
    a->dkc = xrealloc(a->dkc, (size_t)(Ns * D) * sizeof(float));
    a->dK = xrealloc(a->dK, (size_t)(Ns * De) * sizeof(float));
    a->capNs = Ns;
  }
  if (A > a->capA) {
    a->a = xrealloc(a->a, (size_t)A * sizeof(float));
    a->capA = A;
  }
  if (T > a->capT || S > a->capS) {
    a->capT = max64(T, a->capT);
    a->capS = max64(S, a->capS);
    a->capTS = a->capT * a->capS;
    a->gq = xrealloc(a->gq, (size_t)(a->capT * W) * sizeof(float));
    a->gd = xrealloc(a->gd, (size_t)(a->capT * De) * sizeof(float));
    a->gs = xrealloc(a->gs, (size_t)a->capTS * sizeof(float));
  }
}

const float *model_attn_out(const model *m) { return m->at->ht; }
const float *model_attn_state(const model *m) { return m->at->ht; }

void model_attn_free(model *m) {
  struct model_attn_acts *a = m->at;
  if (!a) return;
  xfree(a->ctx), xfree(a->cat), xfree(a->ht), xfree(a->qq), xfree(a->kc), xfree(a->a);
  xfree(a->aoff), xfree(a->dz), xfree(a->dcat), xfree(a->dqq), xfree(a->dkc), xfree(a->dK);
  xfree(a->gq), xfree(a->gd), xfree(a->gs);
  xfree(a->ks), xfree(a->kofs), xfree(a->dKs);
  xfree(a);
  m->at = NULL;
}

/* steps [t0, t0 + n) of sequence r of a packed batch (step t is row off[t] + r), w wide, from a
 * ld-wide matrix */
static void gather(float *dst, const float *src, int64_t ld, const batch *b, int r, int t0, int n,
                   int64_t w) {
  for (int t = 0; t < n; t++)
    memcpy(dst + t * w, src + (b->off[t0 + t] + r) * ld, (size_t)w * sizeof(float));
}
static void scatter_add(float *dst, const float *src, const batch *b, int r, int t0, int n,
                        int64_t w) {
  for (int t = 0; t < n; t++) {
    float *d = dst + (b->off[t0 + t] + r) * w;
    const float *s = src + t * w;
    for (int64_t j = 0; j < w; j++) d[j] += s[j];
  }
}

/* concat's score of query row q (D) and key row k (D): v . tanh(q + k) */
static float concat_score(const float *q, const float *k, const float *v, int64_t D) {
  float s = 0;
  for (int64_t j = 0; j < D; j++) s += v[j] * tanhf(q[j] + k[j]);
  return s;
}

/* The encoder's outputs by source (ks, kofs) and, for concat, W_k k (kc): once per encoding (every
 * step of a decoding reads the same ones) */
static void keys_by_source(model *m, const batch *b) {
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  int64_t D, De, Dq;
  widths(m, &D, &De, &Dq);
  if (a->kgen == m->s2s_gen) return;
  const float *K = model_top_out(m->enc);
  a->kofs[0] = 0;
  for (int j = 0; j < sb->s.B; j++) {
    a->kofs[j + 1] = a->kofs[j] + sb->len[j];
    for (int u = 0; u < sb->len[j]; u++)
      memcpy(a->ks + (a->kofs[j] + u) * De, K + (sb->off[u] + j) * De, (size_t)De * sizeof(float));
  }
  if (m->cfg.attention == ATTN_CONCAT)
    gemm(0, 1, (int)sb->s.N, (int)D, (int)De, a->ks, (int)De, m->at_k, (int)De, 0.0f, a->kc,
         (int)D);
  a->kgen = m->s2s_gen;
}

void model_attn_begin(model *m, const batch *b) {
  acts_reserve(m, b);
  keys_by_source(m, b);
  struct model_attn_acts *a = m->at;
  int64_t ao = 0;
  for (int r = 0; r < b->s.B; r++) {
    a->aoff[r] = ao;
    ao += (int64_t)b->len[r] * b->src->len[b->src_row[r]];
  }
  a->aoff[b->s.B] = ao;
}

void model_attn_steps(model *m, const batch *b, const float *top, int t0, int t1) {
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  int64_t D, De, Dq;
  widths(m, &D, &De, &Dq);
  const int64_t r0 = b->off[t0], n = b->off[t1] - r0, C = De + D; /* the steps' rows */
  const int kind = m->cfg.attention;
  const float *Q = top;       /* (N, Dq) */
  if (kind == ATTN_GENERAL) { /* q' = q W_in^T, W_in (De, D) */
    gemm(0, 1, (int)n, (int)De, (int)D, top + r0 * D, (int)D, m->at_in, (int)D, 0.0f,
         a->qq + r0 * De, (int)De);
    Q = a->qq;
  } else if (kind == ATTN_CONCAT) { /* W_q q + b_q (N, D); W_k k (Ns, D), W_k (D, De) */
    gemm(0, 1, (int)n, (int)D, (int)D, top + r0 * D, (int)D, m->at_q, (int)D, 0.0f, a->qq + r0 * D,
         (int)D);
    for (int64_t r = r0; r < r0 + n; r++)
      for (int64_t j = 0; j < D; j++) a->qq[r * D + j] += m->at_qb[j];
    Q = a->qq;
  }
  for (int r = 0; r < b->s.B; r++) {
    const int j = b->src_row[r], S = sb->len[j];
    const int nT = (b->len[r] < t1 ? b->len[r] : t1) - t0; /* the sequence's steps here */
    if (nT <= 0) continue;
    float *A = a->a + a->aoff[r] + (int64_t)t0 * S;
    if (S == 0) { /* no source: no context */
      for (int t = t0; t < t0 + nT; t++) memset(a->ctx + (b->off[t] + r) * De, 0, (size_t)De * 4);
      continue;
    }
    const float *Kj = a->ks + a->kofs[j] * De;   /* (S, De) */
    const float *Qr = Q + (b->off[t0] + r) * Dq; /* one step: its row; else gathered */
    if (nT > 1) {
      gather(a->gq, Q, Dq, b, r, t0, nT, Dq);
      Qr = a->gq;
    }
    if (kind == ATTN_CONCAT) {
      for (int t = 0; t < nT; t++)
        for (int u = 0; u < S; u++)
          A[t * S + u] = concat_score(Qr + t * D, a->kc + (a->kofs[j] + u) * D, m->at_v, D);
    } else {
      gemm(0, 1, nT, S, (int)De, Qr, (int)De, Kj, (int)De, 0.0f, A, S);
    }
    for (int t = 0; t < nT; t++) softmax_row(A + t * S, S);
    gemm(0, 0, nT, (int)De, S, A, S, Kj, (int)De, 0.0f, a->gd, (int)De); /* contexts A K */
    for (int t = 0; t < nT; t++)
      memcpy(a->ctx + (b->off[t0 + t] + r) * De, a->gd + t * De, (size_t)De * sizeof(float));
  }
  for (int64_t r = r0; r < r0 + n; r++) {
    memcpy(a->cat + r * C, a->ctx + r * De, (size_t)De * sizeof(float));
    memcpy(a->cat + r * C + De, top + r * D, (size_t)D * sizeof(float));
  }
  gemm(0, 1, (int)n, (int)D, (int)C, a->cat + r0 * C, (int)C, m->at_out, (int)C, 0.0f,
       a->ht + r0 * D, (int)D);
  vec_tanh(a->ht + r0 * D, (int)(n * D));
}

const float *model_attn_forward(model *m, const batch *b, const float *top) {
  model_attn_begin(m, b);
  model_attn_steps(m, b, top, 0, b->s.T);
  return m->at->ht;
}

void model_attn_back_begin(model *m, const batch *b) {
  struct model_attn_acts *a = m->at;
  int64_t D, De, Dq;
  widths(m, &D, &De, &Dq);
  const int64_t N = b->s.N, Ns = b->src->s.N;
  memset(a->dKs, 0, (size_t)(Ns * De) * sizeof(float));
  if (m->cfg.attention != ATTN_DOT) memset(a->dqq, 0, (size_t)(N * Dq) * sizeof(float));
  if (m->cfg.attention == ATTN_CONCAT) memset(a->dkc, 0, (size_t)(Ns * D) * sizeof(float));
}

void model_attn_back_steps(model *m, const batch *b, const float *top, const float *dHt,
                           float *dtop, int t0, int t1) {
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  int64_t D, De, Dq;
  widths(m, &D, &De, &Dq);
  const int64_t r0 = b->off[t0], n = b->off[t1] - r0, C = De + D;
  const int kind = m->cfg.attention;
  for (int64_t i = r0 * D; i < (r0 + n) * D; i++) a->dz[i] = dHt[i] * (1.0f - a->ht[i] * a->ht[i]);
  gemm(0, 0, (int)n, (int)C, (int)D, a->dz + r0 * D, (int)D, m->at_out, (int)C, 0.0f,
       a->dcat + r0 * C, (int)C);
  for (int64_t r = r0; r < r0 + n; r++)
    memcpy(dtop + r * D, a->dcat + r * C + De, (size_t)D * sizeof(float));
  const float *Q = kind == ATTN_DOT ? top : a->qq;
  float *dQ = kind == ATTN_DOT ? dtop : a->dqq;
  for (int r = 0; r < b->s.B; r++) {
    const int j = b->src_row[r], S = sb->len[j];
    const int nT = (b->len[r] < t1 ? b->len[r] : t1) - t0;
    if (nT <= 0 || S == 0) continue;
    const float *A = a->a + a->aoff[r] + (int64_t)t0 * S;
    float *dA = a->gs;
    const float *Kj = a->ks + a->kofs[j] * De;
    float *dKj = a->dKs + a->kofs[j] * De;
    gather(a->gd, a->dcat, C, b, r, t0, nT, De); /* dC (nT, De): the context part of dcat */
    gemm(0, 1, nT, S, (int)De, a->gd, (int)De, Kj, (int)De, 0.0f, dA, S); /* dA = dC K^T */
    gemm(1, 0, S, (int)De, nT, A, S, a->gd, (int)De, 1.0f, dKj, (int)De); /* dK += A^T dC */
    /* through the softmax: dS = A (dA - sum_u A dA) */
    for (int t = 0; t < nT; t++) {
      double s = 0;
      for (int u = 0; u < S; u++) s += (double)A[t * S + u] * dA[t * S + u];
      for (int u = 0; u < S; u++) dA[t * S + u] = A[t * S + u] * (dA[t * S + u] - (float)s);
    }
    if (kind == ATTN_CONCAT) {
      gather(a->gq, Q, D, b, r, t0, nT, D);
      for (int t = 0; t < nT; t++)
        for (int u = 0; u < S; u++) {
          const float g = dA[t * S + u], *q = a->gq + t * D, *k = a->kc + (a->kofs[j] + u) * D;
          float *dq = a->dqq + (b->off[t0 + t] + r) * D, *dk = a->dkc + (a->kofs[j] + u) * D;
          for (int64_t d = 0; d < D; d++) {
            const float z = tanhf(q[d] + k[d]), dz = g * m->at_v[d] * (1.0f - z * z);
            m->gat_v[d] += g * z;
            dq[d] += dz;
            dk[d] += dz;
          }
        }
    } else { /* scores Q K^T: dQ += dS K, dK += dS^T Q */
      gemm(0, 0, nT, (int)De, S, dA, S, Kj, (int)De, 0.0f, a->gq, (int)De);
      scatter_add(dQ, a->gq, b, r, t0, nT, De);
      gather(a->gq, Q, De, b, r, t0, nT, De);
      gemm(1, 0, S, (int)De, nT, dA, S, a->gq, (int)De, 1.0f, dKj, (int)De);
    }
  }
  if (kind == ATTN_GENERAL) /* q' = q W_in^T: the query's share */
    gemm(0, 0, (int)n, (int)D, (int)De, a->dqq + r0 * De, (int)De, m->at_in, (int)D, 1.0f,
         dtop + r0 * D, (int)D);
  else if (kind == ATTN_CONCAT)
    gemm(0, 0, (int)n, (int)D, (int)D, a->dqq + r0 * D, (int)D, m->at_q, (int)D, 1.0f,
         dtop + r0 * D, (int)D);
}

void model_attn_back_end(model *m, const batch *b, const float *top) {
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  int64_t D, De, Dq;
  widths(m, &D, &De, &Dq);
  const int64_t N = b->s.N, Ns = sb->s.N, C = De + D;
  gemm(1, 0, (int)D, (int)C, (int)N, a->dz, (int)D, a->cat, (int)C, 1.0f, m->gat_out, (int)C);
  if (m->cfg.attention == ATTN_GENERAL) {
    gemm(1, 0, (int)De, (int)D, (int)N, a->dqq, (int)De, top, (int)D, 1.0f, m->gat_in, (int)D);
  } else if (m->cfg.attention == ATTN_CONCAT) {
    gemm(1, 0, (int)D, (int)D, (int)N, a->dqq, (int)D, top, (int)D, 1.0f, m->gat_q, (int)D);
    for (int64_t r = 0; r < N; r++)
      for (int64_t d = 0; d < D; d++) m->gat_qb[d] += a->dqq[r * D + d];
    gemm(0, 0, (int)Ns, (int)De, (int)D, a->dkc, (int)D, m->at_k, (int)De, 1.0f, a->dKs, (int)De);
    gemm(1, 0, (int)D, (int)De, (int)Ns, a->dkc, (int)D, a->ks, (int)De, 1.0f, m->gat_k, (int)De);
  }
  for (int j = 0; j < sb->s.B; j++) /* back to the encoder's packed rows */
    for (int u = 0; u < sb->len[j]; u++)
      memcpy(a->dK + (sb->off[u] + j) * De, a->dKs + (a->kofs[j] + u) * De,
             (size_t)De * sizeof(float));
  m->enc->s2s_dtop = a->dK;
}

void model_attn_backward(model *m, const batch *b, const float *top, const float *dHt,
                         float *dtop) {
  model_attn_back_begin(m, b);
  model_attn_back_steps(m, b, top, dHt, dtop, 0, b->s.T);
  model_attn_back_end(m, b, top);
}

/* model_attn: seq2seq attention over the encoder's outputs (Luong et al. 2015 global attention with
 * the dot and general scores, Bahdanau et al. 2015's additive score as concat), without input
 * feeding: every target step's query is the decoder's top output, so the whole batch's attention
 * runs after the decoder stack, a pair of GEMMs per sequence. */
#include <math.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"
#include "recur/gemm.h"

struct model_attn_acts {
  int64_t capN, capNs, capA;
  float *ctx;    /* (N, D) context of each target row */
  float *cat;    /* (N, 2 D) [context; query] */
  float *ht;     /* (N, D) h~ = tanh(cat W_out^T) */
  float *qq;     /* (N, D) general: W_in q; concat: W_q q + b_q */
  float *kc;     /* (Ns, D) concat: W_k k */
  float *a;      /* the attention weights: row r's (T_r, S_r) block at aoff[r] */
  int64_t *aoff; /* (B + 1) */
  float *dz, *dcat, *dqq, *dkc, *dK; /* backward: (N, D), (N, 2 D), (N, D), (Ns, D), (Ns, D) */
  float *gq, *gk, *gd, *gs;          /* one sequence: (T, D), (S, D), (T, D), (T, S) */
  int64_t capT, capS, capTS;
};

static void acts_reserve(model *m, const batch *b) {
  if (!m->at) m->at = xcalloc(1, sizeof(struct model_attn_acts));
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  const int64_t N = b->s.N, Ns = sb->s.N, D = m->D, B = b->s.B;
  int64_t A = 0, T = 1, S = 1;
  for (int r = 0; r < B; r++) {
    A += (int64_t)b->len[r] * sb->len[b->src_row[r]];
    T = b->len[r] > T ? b->len[r] : T;
    S = sb->len[b->src_row[r]] > S ? sb->len[b->src_row[r]] : S;
  }
  a->aoff = xrealloc(a->aoff, (size_t)(B + 1) * sizeof(int64_t));
  if (N > a->capN) {
    a->ctx = xrealloc(a->ctx, (size_t)(N * D) * sizeof(float));
    a->cat = xrealloc(a->cat, (size_t)(N * 2 * D) * sizeof(float));
    a->ht = xrealloc(a->ht, (size_t)(N * D) * sizeof(float));
    a->qq = xrealloc(a->qq, (size_t)(N * D) * sizeof(float));
    a->dz = xrealloc(a->dz, (size_t)(N * D) * sizeof(float));
    a->dcat = xrealloc(a->dcat, (size_t)(N * 2 * D) * sizeof(float));
    a->dqq = xrealloc(a->dqq, (size_t)(N * D) * sizeof(float));
    a->capN = N;
  }
  if (Ns > a->capNs) {
    a->kc = xrealloc(a->kc, (size_t)(Ns * D) * sizeof(float));
    a->dkc = xrealloc(a->dkc, (size_t)(Ns * D) * sizeof(float));
    a->dK = xrealloc(a->dK, (size_t)(Ns * D) * sizeof(float));
    a->capNs = Ns;
  }
  if (A > a->capA) {
    a->a = xrealloc(a->a, (size_t)A * sizeof(float));
    a->capA = A;
  }
  if (T > a->capT || S > a->capS || T * S > a->capTS) {
    a->capT = T > a->capT ? T : a->capT;
    a->capS = S > a->capS ? S : a->capS;
    a->capTS = a->capT * a->capS;
    a->gq = xrealloc(a->gq, (size_t)(a->capT * D) * sizeof(float));
    a->gd = xrealloc(a->gd, (size_t)(a->capT * D) * sizeof(float));
    a->gk = xrealloc(a->gk, (size_t)(a->capS * D) * sizeof(float));
    a->gs = xrealloc(a->gs, (size_t)a->capTS * sizeof(float));
  }
}

const float *model_attn_out(const model *m) { return m->at->ht; }

void model_attn_free(model *m) {
  struct model_attn_acts *a = m->at;
  if (!a) return;
  xfree(a->ctx), xfree(a->cat), xfree(a->ht), xfree(a->qq), xfree(a->kc), xfree(a->a);
  xfree(a->aoff), xfree(a->dz), xfree(a->dcat), xfree(a->dqq), xfree(a->dkc), xfree(a->dK);
  xfree(a->gq), xfree(a->gk), xfree(a->gd), xfree(a->gs);
  xfree(a);
  m->at = NULL;
}

/* rows of sequence r of a packed batch: step t is row off[t] + r */
static void gather(float *dst, const float *src, const batch *b, int r, int n, int64_t w) {
  for (int t = 0; t < n; t++)
    memcpy(dst + t * w, src + (b->off[t] + r) * w, (size_t)w * sizeof(float));
}
static void scatter_add(float *dst, const float *src, const batch *b, int r, int n, int64_t w) {
  for (int t = 0; t < n; t++) {
    float *d = dst + (b->off[t] + r) * w;
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

const float *model_attn_forward(model *m, const batch *b, const float *top) {
  acts_reserve(m, b);
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  const float *K = model_top_out(m->enc);
  const int64_t N = b->s.N, Ns = sb->s.N, D = m->D;
  const int kind = m->cfg.attention;
  const float *Q = top;
  if (kind == ATTN_GENERAL) { /* q' = q W_in^T */
    gemm(0, 1, (int)N, (int)D, (int)D, top, (int)D, m->at_in, (int)D, 0.0f, a->qq, (int)D);
    Q = a->qq;
  } else if (kind == ATTN_CONCAT) {
    gemm(0, 1, (int)N, (int)D, (int)D, top, (int)D, m->at_q, (int)D, 0.0f, a->qq, (int)D);
    for (int64_t r = 0; r < N; r++)
      for (int64_t j = 0; j < D; j++) a->qq[r * D + j] += m->at_qb[j];
    gemm(0, 1, (int)Ns, (int)D, (int)D, K, (int)D, m->at_k, (int)D, 0.0f, a->kc, (int)D);
    Q = a->qq;
  }
  int64_t ao = 0;
  for (int r = 0; r < b->s.B; r++) {
    const int j = b->src_row[r], T = b->len[r], S = sb->len[j];
    float *A = a->a + ao;
    a->aoff[r] = ao;
    ao += (int64_t)T * S;
    if (T == 0) continue;
    gather(a->gq, Q, b, r, T, D);
    gather(a->gk, K, sb, j, S, D);
    if (kind == ATTN_CONCAT) {
      for (int t = 0; t < T; t++)
        for (int u = 0; u < S; u++)
          A[t * S + u] = concat_score(a->gq + t * D, a->kc + (sb->off[u] + j) * D, m->at_v, D);
    } else if (S > 0) {
      gemm(0, 1, T, S, (int)D, a->gq, (int)D, a->gk, (int)D, 0.0f, A, S);
    }
    for (int t = 0; t < T && S > 0; t++) softmax_row(A + t * S, S);
    /* contexts: A K (T, D), into their packed rows */
    if (S > 0)
      gemm(0, 0, T, (int)D, S, A, S, a->gk, (int)D, 0.0f, a->gd, (int)D);
    else
      memset(a->gd, 0, (size_t)(T * D) * sizeof(float));
    for (int t = 0; t < T; t++)
      memcpy(a->ctx + (b->off[t] + r) * D, a->gd + t * D, (size_t)D * sizeof(float));
  }
  a->aoff[b->s.B] = ao;
  for (int64_t r = 0; r < N; r++) {
    memcpy(a->cat + r * 2 * D, a->ctx + r * D, (size_t)D * sizeof(float));
    memcpy(a->cat + r * 2 * D + D, top + r * D, (size_t)D * sizeof(float));
  }
  gemm(0, 1, (int)N, (int)D, (int)(2 * D), a->cat, (int)(2 * D), m->at_out, (int)(2 * D), 0.0f,
       a->ht, (int)D);
  vec_tanh(a->ht, (int)(N * D));
  return a->ht;
}

void model_attn_backward(model *m, const batch *b, const float *top, const float *dHt,
                         float *dtop) {
  struct model_attn_acts *a = m->at;
  const batch *sb = b->src;
  const float *K = model_top_out(m->enc);
  const int64_t N = b->s.N, Ns = sb->s.N, D = m->D;
  const int kind = m->cfg.attention;
  for (int64_t i = 0; i < N * D; i++) a->dz[i] = dHt[i] * (1.0f - a->ht[i] * a->ht[i]);
  gemm(1, 0, (int)D, (int)(2 * D), (int)N, a->dz, (int)D, a->cat, (int)(2 * D), 1.0f, m->gat_out,
       (int)(2 * D));
  gemm(0, 0, (int)N, (int)(2 * D), (int)D, a->dz, (int)D, m->at_out, (int)(2 * D), 0.0f, a->dcat,
       (int)(2 * D));
  for (int64_t r = 0; r < N; r++)
    memcpy(dtop + r * D, a->dcat + r * 2 * D + D, (size_t)D * sizeof(float));
  memset(a->dK, 0, (size_t)(Ns * D) * sizeof(float));
  if (kind != ATTN_DOT) memset(a->dqq, 0, (size_t)(N * D) * sizeof(float));
  if (kind == ATTN_CONCAT) memset(a->dkc, 0, (size_t)(Ns * D) * sizeof(float));
  const float *Q = kind == ATTN_DOT ? top : a->qq;
  float *dQ = kind == ATTN_DOT ? dtop : a->dqq;
  for (int r = 0; r < b->s.B; r++) {
    const int j = b->src_row[r], T = b->len[r], S = sb->len[j];
    if (T == 0 || S == 0) continue;
    const float *A = a->a + a->aoff[r];
    float *dA = a->gs;
    for (int t = 0; t < T; t++) /* dC (T, D): the context half of dcat */
      memcpy(a->gd + t * D, a->dcat + (b->off[t] + r) * 2 * D, (size_t)D * sizeof(float));
    gather(a->gk, K, sb, j, S, D);
    gemm(0, 1, T, S, (int)D, a->gd, (int)D, a->gk, (int)D, 0.0f, dA, S); /* dA = dC K^T */
    /* dK += A^T dC, into the source's packed rows (gq as (S, D) scratch: S <= capS) */
    float *dKg = xmalloc((size_t)(S * D) * sizeof(float));
    gemm(1, 0, S, (int)D, T, A, S, a->gd, (int)D, 0.0f, dKg, (int)D);
    /* through the softmax: dS = A (dA - sum_u A dA) */
    for (int t = 0; t < T; t++) {
      double s = 0;
      for (int u = 0; u < S; u++) s += (double)A[t * S + u] * dA[t * S + u];
      for (int u = 0; u < S; u++) dA[t * S + u] = A[t * S + u] * (dA[t * S + u] - (float)s);
    }
    if (kind == ATTN_CONCAT) {
      gather(a->gq, Q, b, r, T, D);
      for (int t = 0; t < T; t++)
        for (int u = 0; u < S; u++) {
          const float g = dA[t * S + u], *q = a->gq + t * D, *k = a->kc + (sb->off[u] + j) * D;
          float *dq = a->dqq + (b->off[t] + r) * D, *dk = a->dkc + (sb->off[u] + j) * D;
          for (int64_t d = 0; d < D; d++) {
            const float z = tanhf(q[d] + k[d]), dz = g * m->at_v[d] * (1.0f - z * z);
            m->gat_v[d] += g * z;
            dq[d] += dz;
            dk[d] += dz;
          }
        }
    } else { /* scores Q K^T: dQ += dS K, dK += dS^T Q */
      gemm(0, 0, T, (int)D, S, dA, S, a->gk, (int)D, 0.0f, a->gq, (int)D);
      scatter_add(dQ, a->gq, b, r, T, D);
      gather(a->gq, Q, b, r, T, D);
      gemm(1, 0, S, (int)D, T, dA, S, a->gq, (int)D, 1.0f, dKg, (int)D);
    }
    scatter_add(a->dK, dKg, sb, j, S, D);
    xfree(dKg);
  }
  if (kind == ATTN_GENERAL) { /* q' = q W_in^T */
    gemm(0, 0, (int)N, (int)D, (int)D, a->dqq, (int)D, m->at_in, (int)D, 1.0f, dtop, (int)D);
    gemm(1, 0, (int)D, (int)D, (int)N, a->dqq, (int)D, top, (int)D, 1.0f, m->gat_in, (int)D);
  } else if (kind == ATTN_CONCAT) {
    gemm(0, 0, (int)N, (int)D, (int)D, a->dqq, (int)D, m->at_q, (int)D, 1.0f, dtop, (int)D);
    gemm(1, 0, (int)D, (int)D, (int)N, a->dqq, (int)D, top, (int)D, 1.0f, m->gat_q, (int)D);
    for (int64_t r = 0; r < N; r++)
      for (int64_t d = 0; d < D; d++) m->gat_qb[d] += a->dqq[r * D + d];
    gemm(0, 0, (int)Ns, (int)D, (int)D, a->dkc, (int)D, m->at_k, (int)D, 1.0f, a->dK, (int)D);
    gemm(1, 0, (int)D, (int)D, (int)Ns, a->dkc, (int)D, K, (int)D, 1.0f, m->gat_k, (int)D);
  }
  m->enc->s2s_dtop = a->dK;
}

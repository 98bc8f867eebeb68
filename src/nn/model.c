/* model: the configuration, the parameter buffer and its tensors (PyTorch names), initialisation;
 * forward and backward are in model_pass.c, the regularisers in model_reg.c. */
#include "recur/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"
#include "recur/core.h"
#include "recur/gemm.h"
#include "recur/norm.h"

const char *const pool_names[POOL_COUNT + 1] = {"last", "mean", NULL};
const char *const softmax_names[SOFTMAX_COUNT + 1] = {"full", "adaptive", NULL};
const char *const attention_names[ATTN_COUNT + 1] = {"none", "dot", "general", "concat", NULL};
const char *const loss_names[LOSS_COUNT + 1] = {"mse", "gaussian", NULL};

/* adaptive: cluster k's projection width, as PyTorch: int(in_features // div_value ** (k + 1)) */
static int cluster_hsz(const model_config *c, int D, int k) {
  return (int)floor((double)D / pow((double)c->div_value, (double)(k + 1)));
}

static void check_adaptive(const model_config *c) {
  const int D = (c->bidirectional ? 2 : 1) * model_state_width(c);
  if (!task_is(c->task)->next_token)
    recur_fail(NULL, "the adaptive softmax splits a vocabulary by word frequency",
               "--softmax adaptive needs --task lm or condlm, not %s", task_names[c->task]);
  if (c->tie_weights)
    recur_fail(NULL, "PyTorch's AdaptiveLogSoftmaxWithLoss has no tied form; give one of them",
               "--tie-weights cannot be used with --softmax adaptive");
  if (c->n_cutoffs < 1 || c->n_cutoffs > MODEL_MAX_CUTOFFS)
    recur_fail(NULL, "for example --cutoffs 2000,10000", "--softmax adaptive needs 1 to %d cutoffs",
               MODEL_MAX_CUTOFFS);
  for (int k = 0; k < c->n_cutoffs; k++) {
    if (c->cutoffs[k] < 1 || c->cutoffs[k] >= c->vocab)
      recur_fail(NULL, "each cutoff must be between 1 and the vocabulary size - 1",
                 "--cutoffs: %d is outside [1, %d] (vocabulary of %d words)", c->cutoffs[k],
                 c->vocab - 1, c->vocab);
    if (k > 0 && c->cutoffs[k] <= c->cutoffs[k - 1])
      recur_fail(NULL, "give them increasing, for example --cutoffs 2000,10000",
                 "--cutoffs: %d after %d is not increasing", c->cutoffs[k], c->cutoffs[k - 1]);
  }
  if (!(c->div_value >= 1 && c->div_value <= 1024))
    recur_fail(NULL, NULL, "--div-value must be in [1, 1024], got %g", c->div_value);
  if (cluster_hsz(c, D, c->n_cutoffs - 1) < 1)
    recur_fail(NULL, "give fewer cutoffs or a smaller --div-value",
               "--div-value %g leaves cluster %d of a %d-wide output no projection units",
               c->div_value, c->n_cutoffs, D);
}

void model_config_derive(model_config *c) {
  if (task_is(c->task)->next_token) c->n_out = c->vocab;
  if (task_is(c->task)->frames) /* the next frame: a mean (and a log-variance) per feature */
    c->n_out = c->n_in * (c->loss == LOSS_GAUSSIAN ? 2 : 1);
}

void model_config_check(const model_config *c) {
  if (c->task < 0 || c->task >= TASK_COUNT) recur_fail(NULL, NULL, "unknown task");
  if (c->cell < 0 || c->cell >= CELL_COUNT)
    recur_fail(NULL, "--cell lstm|gru|rnn_tanh|rnn_relu", "unknown cell");
  if (c->layers < 1 || c->layers > MODEL_MAX_LAYERS)
    recur_fail(NULL, NULL, "--layers must be in [1, %d], got %d", MODEL_MAX_LAYERS, c->layers);
  if (c->hidden < 1 || c->hidden > 65536)
    recur_fail(NULL, NULL, "--hidden must be in [1, 65536], got %d", c->hidden);
  if (c->embed < 1 || c->embed > 65536)
    recur_fail(NULL, NULL, "--embed must be in [1, 65536], got %d", c->embed);
  if (c->vocab < 1 && c->n_in < 1)
    recur_fail(NULL, NULL, "vocabulary size must be positive, got %d", c->vocab);
  if (c->in_hidden < 0 || c->in_hidden > 65536 || (c->in_hidden > 0 && c->n_in < 1))
    recur_fail(NULL, "the MLP reads real-valued inputs", "--input-hidden needs real-valued inputs");
  if (c->n_in < 0 || c->n_in > 65536 || (task_is(c->task)->frames && c->n_in < 1) ||
      (c->n_in > 0 && !task_is(c->task)->real_in))
    recur_fail(NULL, NULL,
               "real-valued inputs (%d features) go with --task forecast, classify or tag",
               c->n_in);
  if (task_is(c->task)->frames &&
      (c->horizon < 1 || c->loss < 0 || c->loss >= LOSS_COUNT || c->bidirectional ||
       c->tie_weights || c->softmax != SOFTMAX_FULL || c->readout_hidden > 0 || c->proj > 0))
    recur_fail(NULL,
               "give --horizon >= 1, --loss mse|gaussian, and none of --bidirectional, "
               "--tie-weights, --softmax adaptive, --readout-hidden, --proj",
               "a forecaster takes a unidirectional stack and a linear readout for now");
  if (!(c->dropout >= 0 && c->dropout < 1))
    recur_fail(NULL, NULL, "--dropout must be in [0, 1), got %g", c->dropout);
  if (!(c->dropout_locked >= 0 && c->dropout_locked < 1 && c->dropout_embed >= 0 &&
        c->dropout_embed < 1))
    recur_fail(NULL, NULL, "--dropout-locked and --dropout-embed must be in [0, 1)");
  if (!(c->weight_drop >= 0 && c->weight_drop < 1))
    recur_fail(NULL, NULL, "--weight-drop must be in [0, 1), got %g", c->weight_drop);
  if (c->dropout_embed > 0 && c->n_in > 0)
    recur_fail(NULL, "whole-word dropout drops rows of an embedding",
               "--dropout-embed needs token inputs, not real-valued ones");
  if (c->dropout > 0 && c->dropout_locked > 0)
    recur_fail(NULL, "give one of them", "--dropout and --dropout-locked both drop between layers");
  if (task_is(c->task)->source && (c->proj > 0 || c->softmax != SOFTMAX_FULL))
    recur_fail(NULL, "the encoder-decoder runs stacks of one width and a full softmax for now",
               "--task seq2seq does not take %s yet",
               c->proj > 0 ? "--proj" : "--softmax adaptive");
  if (task_is(c->task)->source && c->bidirectional && c->attention == ATTN_DOT)
    recur_fail(NULL, "give --attention general or concat",
               "--attention dot compares equal widths: a bidirectional encoder's outputs are twice "
               "the decoder's");
  if (c->readout_hidden < 0 || c->readout_hidden > 65536 ||
      (c->readout_hidden > 0 && (c->softmax != SOFTMAX_FULL || c->tie_weights)))
    recur_fail(NULL, "the MLP readout feeds a full softmax of its own weights",
               "--readout-hidden needs --softmax full and no --tie-weights (and at most 65536)");
  if (c->input_feed && (!task_is(c->task)->source || c->attention == ATTN_NONE))
    recur_fail(NULL, "input feeding feeds the attention's output to the next step",
               "--input-feed needs --task seq2seq and --attention");
  if (c->src_vocab < 0 || (c->src_vocab > 0 && !task_is(c->task)->source))
    recur_fail(NULL, NULL, "a source vocabulary is for --task seq2seq");
  if (c->attention < 0 || c->attention >= ATTN_COUNT)
    recur_fail(NULL, "--attention none|dot|general|concat", "unknown attention");
  if (c->attention != ATTN_NONE && !task_is(c->task)->source)
    recur_fail(NULL, "attention reads an encoder's outputs", "--attention needs --task seq2seq");
  if (task_is(c->task)->causal && c->bidirectional)
    recur_fail(NULL, "a language model must not see the future it predicts",
               "--bidirectional cannot be used with --task lm");
  if (!task_is(c->task)->next_token && !task_is(c->task)->frames && c->n_out < 1)
    recur_fail(NULL, NULL, "no labels or tags to predict");
  if (c->tie_weights && !task_is(c->task)->next_token)
    recur_fail(NULL, "tied weights share the vocabulary's embedding with the readout",
               "--tie-weights needs --task lm or condlm, not %s", task_names[c->task]);
  if (c->proj < 0 || (c->proj > 0 && c->cell != CELL_LSTM))
    recur_fail(NULL, "projections are the LSTM's (Sak et al. 2014, PyTorch proj_size)",
               "--proj needs --cell lstm, not %s", cell_names[c->cell]);
  if (c->proj > 0 && c->proj >= c->hidden)
    recur_fail(NULL, "give --proj below --hidden", "--proj %d must be smaller than --hidden %d",
               c->proj, c->hidden);
  if (c->proj > 0 && task_is(c->task)->label_cond)
    recur_fail(NULL, NULL, "--proj with --task condlm is not supported yet");
  if (c->tie_weights && c->embed != model_state_width(c))
    recur_fail(NULL,
               c->proj > 0 ? "give --embed equal to --proj" : "give --embed equal to --hidden",
               "--tie-weights needs the embedding as wide as the last layer: --embed %d, %s %d",
               c->embed, c->proj > 0 ? "--proj" : "--hidden", model_state_width(c));
  if (c->softmax < 0 || c->softmax >= SOFTMAX_COUNT)
    recur_fail(NULL, "--softmax full|adaptive", "unknown softmax");
  if (c->softmax == SOFTMAX_ADAPTIVE) check_adaptive(c);
  if (c->softmax != SOFTMAX_ADAPTIVE && c->n_cutoffs > 0)
    recur_fail(NULL, "add --softmax adaptive", "--cutoffs is for the adaptive softmax");
  if (task_is(c->task)->label_cond && c->cond_features == 0 &&
      (c->cond_labels < 1 || c->cond_width < 1 || c->cond_width > 65536))
    recur_fail(NULL, NULL, "condlm needs labels and --cond-dim in [1, 65536] (%d labels, %d)",
               c->cond_labels, c->cond_width);
  if (c->cond_features < 0 || c->cond_features > 65536 ||
      (c->cond_features > 0 && ((!task_is(c->task)->label_cond && !task_is(c->task)->source) ||
                                c->cond_width != c->cond_features || c->n_in > 0)))
    recur_fail(NULL, NULL, "conditioning vectors (%d features) are for --task condlm or seq2seq",
               c->cond_features);
}

/* A tensor of the layout, declared once: its name (with the role's prefix, seq2seq: "encoder." or
 * "decoder."), shape, offset, and the model's pointers at its values and gradient (P, G), which
 * bind() sets when the buffers exist. */
#define add_tensor(m, name, rank, d0, d1, off, P, G)                                               \
  add_tensor_((m), (name), (rank), (d0), (d1), (off), (void *)&(P), (void *)&(G))
static int64_t add_tensor_(model *m, const char *name, int rank, int64_t d0, int64_t d1,
                           int64_t off, void *pslot, void *gslot) {
  RECUR_ASSERT(m->n_tensors < MODEL_MAX_TENSORS);
  model_tensor *t = &m->tensors[m->n_tensors++];
  snprintf(t->name, sizeof t->name, "%s%s",
           !strncmp(name, "attention.", 10) || !strncmp(name, "bridge.", 7) ? ""
           : m->role == MODEL_ENCODER                                       ? "encoder."
           : m->role == MODEL_DECODER                                       ? "decoder."
                                                                            : "",
           name);
  t->rank = rank;
  t->dims[0] = d0;
  t->dims[1] = rank > 1 ? d1 : 1;
  t->offset = off;
  t->n = d0 * t->dims[1];
  t->param_slot = pslot;
  t->grad_slot = gslot;
  return off + t->n;
}

int model_sparse_grads(model *m, int *tensor, unsigned char **marks, int max) {
  if (m->cfg.tie_weights || m->emb_tensor < 0 || max < 1) return 0;
  tensor[0] = m->emb_tensor;
  marks[0] = m->emb_marks;
  return 1;
}

/* the embedding tensor when its gradient is sparse (not tied), else NULL */
static const model_tensor *sparse_emb(const model *m) {
  return m->cfg.tie_weights || m->emb_tensor < 0 ? NULL : &m->tensors[m->emb_tensor];
}

void model_mark_inputs(model *m, const batch *b) {
  if (!sparse_emb(m) || m->cfg.n_in > 0) return;
  for (int64_t r = 0; r < b->s.N; r++) m->emb_marks[b->in[r]] = 1;
}

void model_zero_grads(model *m) {
  const model_tensor *t = sparse_emb(m);
  if (core_folded()) { /* a replay's folded gradients: nothing reads them */
    if (t) memset(m->emb_marks, 0, (size_t)t->dims[0]);
    return;
  }
  if (!t) {
    memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
    return;
  }
  const int64_t V = t->dims[0], E = t->dims[1];
  memset(m->grads, 0, (size_t)t->offset * sizeof(float));
  memset(m->grads + t->offset + t->n, 0, (size_t)(m->n_params - t->offset - t->n) * sizeof(float));
  for (int64_t i = 0; i < V; i++)
    if (m->emb_marks[i]) memset(m->gemb + i * E, 0, (size_t)E * sizeof(float));
  memset(m->emb_marks, 0, (size_t)V);
}

double model_grad_norm(const model *m) {
  const model_tensor *t = sparse_emb(m);
  if (!t) return norm_l2(m->grads, m->n_params);
  const int64_t V = t->dims[0], E = t->dims[1];
  double a = norm_l2(m->grads, t->offset),
         b = norm_l2(m->grads + t->offset + t->n, m->n_params - t->offset - t->n), s = 0;
  for (int64_t i = 0; i < V; i++)
    if (m->emb_marks[i]) {
      double r = norm_l2(m->gemb + i * E, E);
      s += r * r;
    }
  return sqrt(a * a + b * b + s);
}

void model_clip_grads(model *m, double norm, float clip) {
  const model_tensor *t = sparse_emb(m);
  if (!t) {
    norm_clip(m->grads, m->n_params, norm, clip);
    return;
  }
  const int64_t V = t->dims[0], E = t->dims[1];
  norm_clip(m->grads, t->offset, norm, clip);
  norm_clip(m->grads + t->offset + t->n, m->n_params - t->offset - t->n, norm, clip);
  for (int64_t i = 0; i < V; i++)
    if (m->emb_marks[i]) norm_clip(m->gemb + i * E, E, norm, clip);
}

/* Point the model's views at its tensors in m->params / m->grads: each tensor's own slots. */
static void bind(model *m) {
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    if (!t->param_slot) continue; /* the encoder's, in the decoder's table: bound by bind(enc) */
    float *p = m->params + t->offset, *g = m->grads + t->offset;
    memcpy(t->param_slot, &p, sizeof p); /* the slot may be a const float * */
    memcpy(t->grad_slot, &g, sizeof g);
  }
  if (m->cfg.tie_weights) { /* the readout's weight is the embedding */
    m->dec_w = m->emb;
    m->gdec_w = m->gemb;
  }
}

/* PyTorch's defaults for tensors [0, n): Embedding N(0,1); RNN/LSTM/GRU U(-1/sqrt(H), 1/sqrt(H));
 * Linear U(-1/sqrt(in), ..). Tensor t's values are keyed by (seed, t, index). */
static void init_params(model *m, int n) {
  if (core_folded()) return; /* a folded replay's: one block all simulated ranks share, unread */
  const int64_t H = m->cfg.hidden, C = m->cfg.cond_width;
  for (int t = 0; t < n; t++) {
    const model_tensor *T = &m->tensors[t];
    float *p = m->params + T->offset;
    const char *nm = T->name;
    if (t == m->emb_tensor || strcmp(nm, "cond.embedding.weight") == 0) {
      for (int64_t i = 0; i < T->n; i++) {
        uint64_t k = rng_key(m->seed, RNG_INIT, (uint64_t)t, (uint64_t)i, 0);
        double u1 = ((double)(k >> 40) + 0.5) / 16777216.0, u2 = rng_uniform(rng_sub(k, 1));
        p[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
      }
      continue;
    }
    int tail_k = -1, tail_j = -1; /* decoder.tail.K.1.weight: Linear(hsz, osz) */
    sscanf(nm, "decoder.tail.%d.%d", &tail_k, &tail_j);
    /* attention: Linear(in, out) by its fan-in (the query's bias: D) */
    const int at = !strncmp(nm, "attention.", 10) || !strncmp(nm, "bridge.", 7) ||
                   !strncmp(nm, "input.", 6); /* nn.Linear: bound 1/sqrt(fan-in) */
    float bound = 1.0f / sqrtf((float)(tail_j == 1                             ? m->cl[tail_k].hsz
                                       : !strncmp(nm, "input.2.", 8)           ? m->cfg.in_hidden
                                       : !strncmp(nm, "input.", 6)             ? m->cfg.n_in
                                       : at && T->rank == 2                    ? T->dims[1]
                                       : t < m->n_dec && T->rank == 2          ? T->dims[1]
                                       : t < m->n_dec && strstr(nm, "hidden.") ? m->D
                                       : t < m->n_dec                          ? m->Dr
                                       : strncmp(nm, "cond.", 5) == 0          ? C
                                                                               : H));
    for (int64_t i = 0; i < T->n; i++)
      p[i] = bound *
             (2.0f * rng_uniform(rng_key(m->seed, RNG_INIT, (uint64_t)t, (uint64_t)i, 0)) - 1.0f);
  }
}

/* The readout's tensors, "decoder." (seq2seq: "decoder.out."): adaptive head and clusters, or
 * weight (unless tied), bias and the MLP readout's hidden layer. Returns the next offset. */
static int64_t layout_readout(model *m, const model_config *c, int64_t off) {
  const char *ro = m->role == MODEL_DECODER ? "out." : "decoder.";
  char nm[48];
  if (c->softmax == SOFTMAX_ADAPTIVE) { /* AdaptiveLogSoftmaxWithLoss(D, V, cutoffs, div_value) */
    m->n_clusters = c->n_cutoffs;
    m->HS = c->cutoffs[0] + c->n_cutoffs;
    snprintf(nm, sizeof nm, "%shead.weight", ro);
    off = add_tensor(m, nm, 2, m->HS, m->D, off, m->head, m->ghead);
    for (int k = 0; k < m->n_clusters; k++) {
      model_cluster *K = &m->cl[k];
      K->lo = c->cutoffs[k];
      K->osz = (k + 1 < c->n_cutoffs ? c->cutoffs[k + 1] : c->vocab) - K->lo;
      K->hsz = cluster_hsz(c, m->D, k);
      snprintf(nm, sizeof nm, "%stail.%d.0.weight", ro, k);
      off = add_tensor(m, nm, 2, K->hsz, m->D, off, K->w0, K->gw0);
      snprintf(nm, sizeof nm, "%stail.%d.1.weight", ro, k);
      off = add_tensor(m, nm, 2, K->osz, K->hsz, off, K->w1, K->gw1);
    }
    return off;
  }
  if (!c->tie_weights) { /* tied: the readout uses embedding.weight (V x E, E = D) */
    snprintf(nm, sizeof nm, "%sweight", ro);
    off = add_tensor(m, nm, 2, m->O, m->Dr, off, m->dec_w, m->gdec_w);
  }
  snprintf(nm, sizeof nm, "%sbias", ro);
  off = add_tensor(m, nm, 1, m->O, 1, off, m->dec_b, m->gdec_b);
  if (c->readout_hidden > 0) { /* its gradient is final after the readout's */
    snprintf(nm, sizeof nm, "%shidden.weight", ro);
    off = add_tensor(m, nm, 2, c->readout_hidden, m->D, off, m->rh_w, m->grh_w);
    snprintf(nm, sizeof nm, "%shidden.bias", ro);
    off = add_tensor(m, nm, 1, c->readout_hidden, 1, off, m->rh_b, m->grh_b);
  }
  return off;
}

/* seq2seq's decoder: the attention (its gradient is final after the readout's) */
static int64_t layout_attention(model *m, const model_config *c, int64_t off) {
  const int64_t D = m->D, De = (c->bidirectional ? 2 : 1) * model_state_width(c); /* encoder's */
  if (c->attention == ATTN_GENERAL)
    off = add_tensor(m, "attention.linear_in.weight", 2, De, D, off, m->at_in, m->gat_in);
  if (c->attention == ATTN_CONCAT) {
    off = add_tensor(m, "attention.linear_query.weight", 2, D, D, off, m->at_q, m->gat_q);
    off = add_tensor(m, "attention.linear_query.bias", 1, D, 1, off, m->at_qb, m->gat_qb);
    off = add_tensor(m, "attention.linear_context.weight", 2, D, De, off, m->at_k, m->gat_k);
    off = add_tensor(m, "attention.v.weight", 2, 1, D, off, m->at_v, m->gat_v);
  }
  if (c->attention != ATTN_NONE)
    off = add_tensor(m, "attention.linear_out.weight", 2, D, De + D, off, m->at_out, m->gat_out);
  return off;
}

/* the recurrent stack, top layer first (layer 0 reads E0 wide inputs), as PyTorch names it */
static int64_t layout_stack(model *m, const model_config *c, int64_t E0, int64_t off) {
  const int64_t H = c->hidden, G = cell_gates(c->cell), P = model_state_width(c);
  char nm[48];
  for (int l = c->layers - 1; l >= 0; l--)
    for (int d = 0; d < m->ndir; d++) {
      int64_t in = l == 0 ? E0 : m->D;
      const char *sfx = d ? "_reverse" : "";
      layer_view *L = &m->layer[l][d];
      snprintf(nm, sizeof nm, "rnn.weight_ih_l%d%s", l, sfx);
      off = add_tensor(m, nm, 2, G * H, in, off, L->w_ih, L->gw_ih);
      snprintf(nm, sizeof nm, "rnn.weight_hh_l%d%s", l, sfx);
      off = add_tensor(m, nm, 2, G * H, P, off, L->w_hh, L->gw_hh);
      snprintf(nm, sizeof nm, "rnn.bias_ih_l%d%s", l, sfx);
      off = add_tensor(m, nm, 1, G * H, 1, off, L->b_ih, L->gb_ih);
      snprintf(nm, sizeof nm, "rnn.bias_hh_l%d%s", l, sfx);
      off = add_tensor(m, nm, 1, G * H, 1, off, L->b_hh, L->gb_hh);
      if (c->proj > 0) { /* PyTorch's order: weight_hr after the biases */
        snprintf(nm, sizeof nm, "rnn.weight_hr_l%d%s", l, sfx);
        off = add_tensor(m, nm, 2, P, H, off, L->w_hr, L->gw_hr);
      }
      L->cell = c->cell;
      L->H = (int)H;
      L->P = (int)P;
      L->G = (int)G;
      L->in = (int)in;
    }
  return off;
}

/* below the stack: the embedding or the input layer, seq2seq's bridge, condlm's condition (its
 * gradient is final last) */
static int64_t layout_inputs(model *m, const model_config *c, int64_t off) {
  const int64_t H = c->hidden, E = c->embed, C = c->cond_width, S = cell_states(c->cell);
  char nm[48];
  m->emb_tensor = -1;
  if (c->n_in > 0) {        /* nn.Linear(n_in, E) */
    if (c->in_hidden > 0) { /* --input-hidden: Sequential(Linear, Tanh, Linear) */
      off = add_tensor(m, "input.0.weight", 2, c->in_hidden, c->n_in, off, m->in_w, m->gin_w);
      off = add_tensor(m, "input.0.bias", 1, c->in_hidden, 1, off, m->in_b, m->gin_b);
      off = add_tensor(m, "input.2.weight", 2, E, c->in_hidden, off, m->in_w2, m->gin_w2);
      off = add_tensor(m, "input.2.bias", 1, E, 1, off, m->in_b2, m->gin_b2);
    } else {
      off = add_tensor(m, "input.weight", 2, E, c->n_in, off, m->in_w, m->gin_w);
      off = add_tensor(m, "input.bias", 1, E, 1, off, m->in_b, m->gin_b);
    }
  } else {
    m->emb_tensor = m->n_tensors;
    off = add_tensor(m, "embedding.weight", 2, c->vocab, E, off, m->emb, m->gemb);
  }
  if (m->role == MODEL_DECODER && c->bidirectional) /* both directions' final states -> one */
    for (int l = 0; l < c->layers; l++)
      for (int s = 0; s < S; s++) {
        snprintf(nm, sizeof nm, "bridge.%c_l%d.weight", s ? 'c' : 'h', l);
        off = add_tensor(m, nm, 2, H, 2 * H, off, m->br_w[l][s], m->gbr_w[l][s]);
        snprintf(nm, sizeof nm, "bridge.%c_l%d.bias", s ? 'c' : 'h', l);
        off = add_tensor(m, nm, 1, H, 1, off, m->br_b[l][s], m->gbr_b[l][s]);
      }
  if (task_is(c->task)->label_cond) {
    if (c->cond_features == 0)
      off = add_tensor(m, "cond.embedding.weight", 2, c->cond_labels, C, off, m->cemb, m->gcemb);
    for (int l = 0; l < c->layers; l++) {
      snprintf(nm, sizeof nm, "cond.init_l%d.weight", l);
      off = add_tensor(m, nm, 2, S * H, C, off, m->cw[l], m->gcw[l]);
      snprintf(nm, sizeof nm, "cond.init_l%d.bias", l);
      off = add_tensor(m, nm, 1, S * H, 1, off, m->cb[l], m->gcb[l]);
    }
  }
  return off;
}

static model *create(const model_config *c, uint64_t seed, int role);

/* seq2seq's decoder: the encoder (names under encoder., its own vocabulary and inputs), its tensors
 * listed after the decoder's own from offset own on. Returns the next offset. */
static int64_t layout_encoder(model *m, const model_config *c, uint64_t seed, int64_t own) {
  model_config ec = *c; /* the encoder reads the sources' vocabulary */
  if (c->src_vocab > 0) ec.vocab = c->src_vocab;
  ec.input_feed = 0;
  if (c->cond_features > 0)
    ec.n_in = c->cond_features, ec.cond_features = 0; /* frames: the input layer */
  m->enc = create(&ec, rng_key(seed, RNG_INIT, 0xE5C, 0, 0), MODEL_ENCODER);
  for (int i = 0; i < m->enc->n_tensors; i++) {
    RECUR_ASSERT(m->n_tensors < MODEL_MAX_TENSORS);
    model_tensor *t = &m->tensors[m->n_tensors++];
    *t = m->enc->tensors[i];
    t->offset += own;
    t->param_slot = t->grad_slot = NULL; /* the encoder's own: bind(m->enc) */
  }
  return own + m->enc->n_params;
}

static model *create(const model_config *c, uint64_t seed, int role) {
  model *m = xcalloc(1, sizeof(model));
  m->cfg = *c;
  m->seed = seed;
  m->role = role;
  if (role == MODEL_ENCODER) m->cfg.attention = ATTN_NONE; /* the decoder's */
  /* seq2seq: the encoder may be bidirectional, the decoder never */
  m->ndir = c->bidirectional && role != MODEL_DECODER ? 2 : 1;
  m->D = (int)(m->ndir * model_state_width(c));
  m->Dr = c->readout_hidden > 0 ? c->readout_hidden : m->D;
  model_config_derive(&m->cfg);
  m->O = m->cfg.n_out;
  /* layer 0's input: the embedding, and --cond-input's label or --input-feed's h~ */
  const int64_t E0 = c->embed +
                     (task_is(c->task)->label_cond && c->cond_every_step ? c->cond_width : 0) +
                     (role == MODEL_DECODER && c->input_feed ? m->D : 0);
  /* layout in the order backward finishes: readout, attention, top layer ... layer 0, inputs */
  int64_t off = role == MODEL_ENCODER ? 0 : layout_readout(m, c, 0);
  if (role == MODEL_DECODER) off = layout_attention(m, c, off);
  m->n_dec = m->n_tensors; /* the readout and the attention */
  off = layout_stack(m, c, E0, off);
  off = layout_inputs(m, c, off);
  const int n_own = m->n_tensors;
  const int64_t own = off;
  if (role == MODEL_DECODER) {
    off = layout_encoder(m, c, seed, own);
    m->s2s = &model_s2s_stages;
  }
  m->n_params = off;
  m->params = xcalloc_fold((size_t)off, sizeof(float));
  m->grads = xcalloc_fold((size_t)off, sizeof(float));
  bind(m);
  m->emb_marks = xcalloc((size_t)(c->vocab > 0 ? c->vocab : 1), 1);
  init_params(m, n_own);
  if (m->enc) { /* the encoder works in this buffer from now on */
    model *e = m->enc;
    memcpy(m->params + own, e->params, (size_t)e->n_params * sizeof(float));
    xfree(e->params);
    xfree(e->grads);
    e->params = m->params + own;
    e->grads = m->grads + own;
    bind(e);
  }
  return m;
}

model *model_create(const model_config *c, uint64_t seed) {
  model_config_check(c);
  return create(c, seed, task_is(c->task)->source ? MODEL_DECODER : MODEL_WHOLE);
}

void model_free(model *m) {
  if (!m) return;
  for (int l = 0; l < m->cfg.layers; l++) {
    layer_acts_free(&m->acts[l][0]);
    layer_acts_free(&m->acts[l][1]);
    xfree(m->drop[l]);
    xfree(m->out[l]);
  }
  layer_scratch_free(&m->scratch);
  for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
    xfree(m->kept_dgx[l]);
    xfree(m->kept_dgh[l]);
  }
  xfree(m->x0);
  xfree(m->probs);
  xfree(m->dA);
  xfree(m->dB);
  xfree(m->xr);
  xfree(m->dxr);
  xfree(m->dh[0]);
  xfree(m->dh[1]);
  xfree(m->perm);
  xfree(m->feat);
  for (int l = 0; l < m->cfg.layers; l++)
    for (int d = 0; d < 2; d++) xfree(m->wd_w[l][d]), xfree(m->wd_g[l][d]);
  xfree(m->ch0);
  xfree(m->cc0);
  xfree(m->ce);
  xfree(m->cd);
  xfree(m->cdz);
  xfree(m->hp);
  for (int k = 0; k < m->n_clusters; k++) {
    model_cluster *K = &m->cl[k];
    xfree(K->rows), xfree(K->rel), xfree(K->x), xfree(K->p), xfree(K->s), xfree(K->dp),
        xfree(K->dx);
  }
  xfree(m->emb_marks);
  xfree(m->s2s_h0), xfree(m->s2s_c0), xfree(m->s2s_dh), xfree(m->s2s_dc);
  xfree(m->s2s_dhr), xfree(m->s2s_dcr), xfree(m->s2s_bx), xfree(m->s2s_bcx);
  model_attn_free(m);
  xfree(m->rz), xfree(m->rdz);
  xfree(m->cond_mean), xfree(m->cond_std);
  xfree(m->in_mean), xfree(m->in_std), xfree(m->xn), xfree(m->xh), xfree(m->dxh);
  if (m->enc) { /* its parameters are in this model's buffer */
    m->enc->params = m->enc->grads = NULL;
    model_free(m->enc);
  }
  xfree(m->params);
  xfree(m->grads);
  xfree(m);
}

void model_final_state(const model *m, const batch *b, float *hT, float *cT) {
  const int64_t H = model_state_width(&m->cfg), HC = m->cfg.hidden, B = b->s.B;
  for (int l = 0; l < m->cfg.layers; l++)
    for (int64_t r = 0; r < B; r++) {
      if (b->len[r] == 0) continue;
      int64_t row = b->off[b->len[r] - 1] + r;
      memcpy(hT + (l * B + r) * H, m->acts[l][0].h + row * H, (size_t)H * sizeof(float));
      if (cT && cell_has_c(m->cfg.cell))
        memcpy(cT + (l * B + r) * HC, m->acts[l][0].cell + row * HC, (size_t)HC * sizeof(float));
    }
}

void model_cond_stats(model *m) {
  if (!m->enc || m->cfg.cond_features == 0 || !m->cond_mean) return;
  const size_t n = (size_t)m->cfg.cond_features * sizeof(double);
  xfree(m->enc->in_mean), xfree(m->enc->in_std);
  m->enc->in_mean = xmalloc(n);
  m->enc->in_std = xmalloc(n);
  memcpy(m->enc->in_mean, m->cond_mean, n);
  memcpy(m->enc->in_std, m->cond_std, n);
}

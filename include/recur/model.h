/* model: embedding -> stacked recurrent layers -> linear readout -> softmax cross-entropy.
 * Parameters, gradients and (in optim) optimizer moments each live in one contiguous buffer,
 * laid out in the order backward finishes them (decoder first, embedding last). */
#ifndef RECUR_MODEL_H
#define RECUR_MODEL_H

#include <stdint.h>

#include "recur/batch.h"
#include "recur/task.h"
#include "recur/json.h"
#include "recur/layer.h"

#define MODEL_FORMAT      "recur-model"
#define MODEL_VERSION     1
#define MODEL_MAX_LAYERS  16
#define MODEL_MAX_CUTOFFS 8 /* --softmax adaptive: clusters after the shortlist */
#define MODEL_MAX_TENSORS                                                                          \
  (20 * MODEL_MAX_LAYERS + 4 + 2 * MODEL_MAX_CUTOFFS) /* seq2seq: 2 stacks */
#define MODEL_DIAG_T 512 /* distances back in time that gradient-flow diagnostics keep */

enum model_pool { POOL_LAST, POOL_MEAN, POOL_COUNT };
extern const char *const pool_names[POOL_COUNT + 1];
enum model_softmax { SOFTMAX_FULL, SOFTMAX_ADAPTIVE, SOFTMAX_COUNT };
extern const char *const softmax_names[SOFTMAX_COUNT + 1];
/* seq2seq: the decoder's attention over the encoder's outputs (Luong et al. 2015 dot and general,
 * Bahdanau et al. 2015's additive score as concat) */
enum model_attention { ATTN_NONE, ATTN_DOT, ATTN_GENERAL, ATTN_CONCAT, ATTN_COUNT };
extern const char *const attention_names[ATTN_COUNT + 1];
/* forecast: the loss of a predicted frame */
enum model_loss { LOSS_MSE, LOSS_GAUSSIAN, LOSS_COUNT };
extern const char *const loss_names[LOSS_COUNT + 1];

typedef struct {
  enum cell_type cell;
  int layers, hidden, embed, vocab;
  float dropout; /* between layers, as torch.nn.LSTM */
  enum model_task task;
  int bidirectional;
  int n_out; /* readout classes: labels (classify), tags (tag); lm, forecast: model_config_derive */
  enum model_pool pool; /* classify */
  int cond_labels;      /* condlm: labels conditioning the text */
  int cond_width;       /* condlm: width of a label's embedding */
  int cond_every_step;  /* condlm: the label's embedding is also appended to every input */
  int cond_features;    /* condlm --cond-features: a vector of this many features per sequence
                           (normalised by the training data's statistics) in place of a label's
                           embedding; cond_width = cond_features, no cond.embedding (0 = labels) */
  int tie_weights;      /* lm, condlm: the readout's weight is the embedding (embed = hidden) */
  float dropout_locked; /* between layers, one mask per sequence for all its steps (instead of
                           dropout's mask per step) */
  float dropout_embed;  /* whole words: a word's embedding row dropped for the whole step */
  float weight_drop;    /* DropConnect on every hidden-to-hidden weight, one mask per step */
  int proj;             /* lstm: project h to this width (PyTorch proj_size; 0 = none) */
  int softmax;          /* lm, condlm: SOFTMAX_FULL or SOFTMAX_ADAPTIVE (Grave et al. 2017) */
  int n_cutoffs;        /* adaptive: the shortlist is words [0, cutoffs[0]); cluster k words */
  int cutoffs[MODEL_MAX_CUTOFFS]; /* [cutoffs[k], cutoffs[k+1]) (the last ends at vocab) */
  float div_value;    /* adaptive: cluster k's projection is floor(D / div_value^(k+1)) wide */
  int attention;      /* seq2seq: enum model_attention */
  int src_vocab;      /* seq2seq: the sources' vocabulary size (--separate-vocab), 0 = vocab */
  int readout_hidden; /* an MLP readout: logits = W tanh(W_h x + b_h) + b, W_h (N, D) (0 = none) */
  int n_in;           /* real-valued inputs: features per step, through input.weight (E, n_in) and
                         input.bias instead of an embedding (0 = tokens) */
  int in_hidden;  /* real-valued inputs through an MLP: nn.Sequential(Linear(n_in, in_hidden), Tanh,
                     Linear(in_hidden, E)), names input.0.* and input.2.* (0 = one Linear) */
  int horizon;    /* forecast: step t predicts frame t + horizon */
  int loss;       /* forecast: LOSS_MSE, or LOSS_GAUSSIAN (a mean and a log-variance per feature) */
  int input_feed; /* seq2seq with attention: step t's decoder input is [embedding; h~ of step
                     t-1] (Luong et al. 2015): the decoder runs step by step */
} model_config;

/* --softmax adaptive, cluster k (PyTorch AdaptiveLogSoftmaxWithLoss.tail[k]): words [lo, lo+osz)
 * through a projection w0 (hsz, D) and an output layer w1 (osz, hsz); the rows of the last forward
 * whose targets are in the cluster, and their activations (n rows) */
typedef struct {
  float *w0, *gw0, *w1, *gw1;
  int lo, osz, hsz;
  int64_t n, cap;
  int64_t *rows; /* (n) readout rows */
  int32_t *rel;  /* (n) target - lo */
  float *x;      /* (n, D) the rows' features */
  float *p;      /* (n, hsz) x w0^T; backward: its gradient in dp */
  float *s;      /* (n, osz) softmax of p w1^T */
  float *dp, *dx;
} model_cluster;

typedef struct {
  char name[64]; /* PyTorch state_dict name */
  int rank;
  int64_t dims[2];
  int64_t offset, n; /* in the parameter buffer */
  void *param_slot;  /* the model's pointers (float * or const float *) at its values and */
  void *grad_slot;   /* gradient, set when the buffers are: each tensor is declared once, with
                        them (NULL: another model's) */
} model_tensor;

typedef struct model {
  model_config cfg;
  int64_t n_params;
  float *params; /* (n_params) */
  float *grads;  /* (n_params) */
  model_tensor tensors[MODEL_MAX_TENSORS];
  int n_tensors;
  float *emb, *gemb;     /* (V, E) */
  float *dec_w, *gdec_w; /* (O, D) O = readout classes, D = directions * H */
  float *dec_b, *gdec_b; /* (O) */
  int ndir, D, O;
  int Dr;                             /* the readout's input width: readout_hidden, or D */
  float *rh_w, *grh_w, *rh_b, *grh_b; /* --readout-hidden: W_h (N, D), b_h (N) */
  float *rz, *rdz;                    /* (R, N) tanh(W_h x + b_h) of the last forward; scratch */
  int64_t cap_rz;
  int emb_tensor; /* index of the (decoder's) embedding in tensors (-1: real-valued inputs) */
  /* real-valued inputs (n_in > 0): x0 = ((x - mean) / std) W_in^T + b_in; mean and std (n_in) are
   * the training data's, kept with the model (model.h5 input.mean, input.std); xn (N, n_in) the
   * normalised inputs of the last forward */
  float *in_w, *gin_w, *in_b, *gin_b;     /* the (first) Linear */
  float *in_w2, *gin_w2, *in_b2, *gin_b2; /* --input-hidden: the second */
  float *xh, *dxh; /* (N, in_hidden) the MLP's hidden units, their gradient */
  double *in_mean, *in_std;
  float *xn;
  /* seq2seq: this model is the decoder (names under decoder.); enc the encoder (names under
   * encoder.: embedding, stack, no readout) whose parameters follow the decoder's in this buffer
   * (backward finishes the decoder first) */
  struct model *enc;
  int role;               /* MODEL_WHOLE, MODEL_DECODER, MODEL_ENCODER */
  float *s2s_h0, *s2s_c0; /* (L, B, H) the decoder's initial states: the encoder's final ones */
  float *s2s_dh, *s2s_dc; /* (L, B, H) their gradients (decoder: target rows; encoder: the same in
                             source rows, the gradients of its final states) */
  int s2s_made;           /* the last forward encoded b->src (no initial state was given) */
  uint64_t s2s_gen;       /* encodings so far (the attention keys its sources once per encoding) */
  /* --input-feed: h~ (B, D) before the batch's first step, set by a caller that runs a decoder one
   * step at a time (decoding, scheduled sampling); NULL = zeros (a target's start) */
  const float *feed_in;
  /* a bidirectional encoder: its reverse direction's final-state gradients (L, B, H) (encoder);
   * the bridge's inputs [forward; reverse] final states (L, B, 2 H) for h and c (decoder), and
   * per layer and state (h, c) tanh(W x + b): W (H, 2 H), b (H) (names bridge.{h,c}_l*) */
  float *s2s_dhr, *s2s_dcr, *s2s_bx, *s2s_bcx;
  float *br_w[MODEL_MAX_LAYERS][2], *gbr_w[MODEL_MAX_LAYERS][2];
  float *br_b[MODEL_MAX_LAYERS][2], *gbr_b[MODEL_MAX_LAYERS][2];
  const float *s2s_dtop; /* encoder: (Ns, D) the gradient of its top outputs (attention), or NULL */
  /* seq2seq --attention (names attention.*): the query q (N, D) is the decoder's top output;
   * general q' = W_in q; concat scores v . tanh(W_q q + b_q + W_k k); the context c = sum a_u k_u
   * over the row's source outputs k; the readout reads h~ = tanh(W_out [c; q]) */
  float *at_in, *gat_in;      /* general: (D, D) linear_in.weight */
  float *at_q, *gat_q;        /* concat: (D, D) linear_query.weight */
  float *at_qb, *gat_qb;      /* concat: (D) linear_query.bias */
  float *at_k, *gat_k;        /* concat: (D, D) linear_context.weight */
  float *at_v, *gat_v;        /* concat: (1, D) v.weight */
  float *at_out, *gat_out;    /* (D, 2 D) linear_out.weight */
  struct model_attn_acts *at; /* what forward keeps for backward (model_attn.c) */
  unsigned char *emb_marks;   /* (V) embedding rows a backward wrote (model_sparse_grads) */
  int n_dec;                  /* tensors of the readout (first in the buffer) */
  /* --softmax adaptive: head (HS, D), HS = shortlist + clusters, and the clusters */
  float *head, *ghead;
  int HS, n_clusters;
  model_cluster cl[MODEL_MAX_CUTOFFS];
  float *hp;      /* (R, HS) head softmax of the last forward */
  int want_probs; /* adaptive: forward also fills probs with the whole distribution (sampling) */
  int64_t cap_probs;
  layer_view layer[MODEL_MAX_LAYERS][2]; /* [l][0] forward, [l][1] reverse direction */
  /* activations of the last forward */
  uint64_t seed;
  uint64_t fwd_step; /* step and train flag of the last forward: backward replays its dropout */
  int fwd_train;
  float *x0; /* (N, E) embedded inputs */
  layer_acts acts[MODEL_MAX_LAYERS][2];
  float *out[MODEL_MAX_LAYERS];  /* (N, D) both directions side by side (bidirectional only) */
  float *drop[MODEL_MAX_LAYERS]; /* (N, D) layer outputs after dropout (l < L-1, dropout > 0) */
  float *xr, *dxr;               /* (N, max(E, D)) inputs / their gradients in reversed order */
  float *dh[2];                  /* (N, H) gradient of each direction's outputs */
  int64_t *perm;                 /* (N) packed row of the same token in reversed order */
  float *feat;                   /* (B, D) classify: the pooled features */
  /* condlm: label embedding (cond_labels, C) -> per layer z = tanh(W e + b), (S H) with S = 2 for
   * lstm (h0 then c0) else 1: the initial state of every layer */
  float *cemb, *gcemb;                                 /* (cond_labels, C) */
  float *cw[MODEL_MAX_LAYERS], *gcw[MODEL_MAX_LAYERS]; /* (S H, C) */
  float *cb[MODEL_MAX_LAYERS], *gcb[MODEL_MAX_LAYERS]; /* (S H) */
  float *ch0, *cc0;                                    /* (L, B, H) the states made */
  float *ce, *cd;                                      /* (B, C) rows' embeddings, their grads */
  double *cond_mean, *cond_std; /* cond_features: the training data's statistics (model.h5
                                   cond.mean, cond.std) */
  float *cdz;                   /* (B, S H) */
  int cond_made; /* the last forward made the initial states from labels (none was given) */
  /* --weight-drop: views whose W_hh is the masked copy, and that copy's gradient */
  layer_view wd_view[MODEL_MAX_LAYERS][2];
  float *wd_w[MODEL_MAX_LAYERS][2], *wd_g[MODEL_MAX_LAYERS][2]; /* (G H, H) */
  float *probs;   /* (R, O) softmax of the logits, R = N (lm, tag) or B (classify); adaptive: only
                     with want_probs */
  float *dA, *dB; /* (N, max(E, D)) backward ping-pong */
  layer_scratch scratch;
  /* a rows-first backward of several layers (model_backward.c): the upper layers' pre-activation
   * gradients (scratch.dgx, .dgh) kept until their weights' products, which wait for the
   * embedding's rows; kept_cap floats each */
  float *kept_dgx[MODEL_MAX_LAYERS], *kept_dgh[MODEL_MAX_LAYERS];
  int64_t kept_cap;
  int64_t capN, capB;
  /* optional: gradient flow through time. When set, backward takes the loss at each sequence's
   * (window's) last step only (classify: its one loss), and adds, for each layer l (forward
   * direction) and each row, |d loss / dh_t| (from above and from step t+1) to
   * diag[l * MODEL_DIAG_T + d] and 1 to diag[(L + l) * MODEL_DIAG_T + d], d = steps before the
   * row's last step (d >= MODEL_DIAG_T left out). (2, L, MODEL_DIAG_T) doubles. A diagnostic
   * pass: its gradients are not the training gradient. */
  double *diag;
  /* optional: told during backward that grads[0, upto) is final (for overlapped reduction), or
   * (upto = MODEL_READY_ROWS) that the embedding's rows are, before layer 0's weights */
  void (*grad_ready)(void *arg, int64_t upto);
  void *grad_arg;
  /* a decoder's stages that run another model (its encoder) or step by step (model_s2s.c),
   * set by create, so the pass (model_pass.c) composes them without depending on that file */
  const struct model_s2s_stages *s2s;
} model;

enum { MODEL_WHOLE, MODEL_DECODER, MODEL_ENCODER };
/* grad_ready's upto when the embedding's gradient rows are final (model.grad_ready) */
#define MODEL_READY_ROWS (-5)

/* The width of a layer's state h and output: --proj, else --hidden (c stays --hidden wide). */
static inline int model_state_width(const model_config *c) {
  return c->proj > 0 ? c->proj : c->hidden;
}

/* Fill what a configuration derives from the rest: n_out, the readout's width (lm, condlm,
 * seq2seq: the vocabulary; forecast: a mean, and with --loss gaussian a log-variance, per
 * feature). model_create's model holds it so. */
void model_config_derive(model_config *c);
/* Validate a configuration; on error ends the process naming the flag. */
void model_config_check(const model_config *c);
/* seq2seq: encode b->src and leave the decoder's initial states (L, B, H), in b's row order, in
 * m->s2s_h0 (and s2s_c0 for lstm). model_forward does it when given no initial state. */
void model_encode(model *m, const batch *b, uint64_t step, int train);
/* Allocate and initialise as PyTorch does by default, from the counter-based generator. */
model *model_create(const model_config *c, uint64_t seed);
void model_free(model *m);

/* seq2seq with attention: forward over the decoder's top outputs top (N, D) of b, writing h~ (the
 * readout's input) into the returned buffer; backward takes dHt (N, D), the gradient of h~, and
 * writes the gradient of top into dtop and of the encoder's top outputs into the encoder's
 * s2s_dtop buffer. */
const float *model_attn_forward(model *m, const batch *b, const float *top);
void model_attn_backward(model *m, const batch *b, const float *top, const float *dHt, float *dtop);

/* seq2seq with attention: h~ (N, D) of the last forward, what --input-feed feeds the next step */
const float *model_attn_state(const model *m);

/* Forward over a packed batch. h0/c0 are (L, B, H) initial states or NULL for zeros (forward
 * direction; condlm: NULL makes them from b->label, and backward then trains that path). train
 * enables dropout keyed by (seed, step, layer, seq_id, position). Targets are b->tgt per token (lm:
 * next token, tag: tag) or b->label per sequence (classify). Returns the summed negative
 * log-likelihood over targets (in double); probabilities are in m->probs. */
double model_forward(model *m, const batch *b, const float *h0, const float *c0, uint64_t step,
                     int train);
/* Accumulate scale * d(summed loss)/d(params) into m->grads. */
void model_backward(model *m, const batch *b, float scale);
/* condlm: the initial states (L, B, H) made from labels[0..B), or with cond_features from the
 * vectors cond (B, cond_features) in the data's units (h0, and c0 for lstm; c0 may be NULL
 * otherwise). */
void model_cond_state(model *m, const int32_t *labels, const float *cond, int64_t B, float *h0,
                      float *c0);
/* Final states (L, B, H) of each row at its last step; c only for lstm (else left alone). */
void model_final_state(const model *m, const batch *b, float *hT, float *cT);

/* seq2seq --cond-features: the encoder's input layer normalises its frames with the statistics
 * kept in m->cond_mean/cond_std (copied to the encoder's in_mean/in_std). */
void model_cond_stats(model *m);

/* forecast: the frame a readout row z (O) predicts, in the data's units, into x (n_in): the mean,
 * or with --loss gaussian and temperature > 0 a draw from the Gaussian (its spread times
 * temperature) keyed by key (feature d by rng_sub(key, 1 + d)). */
void model_frame(const model *m, const float *z, double temperature, uint64_t key, float *x);
/* Gradients that backward writes only in rows it marks, one byte per row (set by backward, cleared
 * by the caller, e.g. the gradient reducer): the embedding, unless tied to the readout (the
 * readout's gradient touches every row; so does an adaptive cluster's, over its words). Returns
 * how many (at most max) with their tensor indices. */
int model_sparse_grads(model *m, int *tensor, unsigned char **marks, int max);
/* Zero the gradient buffer: all of it but the embedding (unless tied), whose marked rows only
 * (the others are zero already: no backward and no sum wrote them), then clear the marks. The
 * marks must cover every row written since the last call (the reducer leaves the union of the
 * ranks' rows in them). */
void model_zero_grads(model *m);
/* Mark the embedding rows batch b reads, as its backward marks them for the sparse sum (a
 * simulation's sampled step, which runs no backward: src/train/sim.h) */
void model_mark_inputs(model *m, const batch *b);
/* The global gradient norm, the embedding's unmarked (zero) rows left out. */
double model_grad_norm(const model *m);
/* Scale the gradients so their norm (model_grad_norm's) is at most clip (when norm > clip > 0),
 * skipping the embedding rows no backward wrote (zero). */
void model_clip_grads(model *m, double norm, float clip);
/* Rows of m->probs of the last forward: N (lm, tag) or B (classify). */
int64_t model_readout_rows(const model *m, const batch *b);

/* ---- model.h5 (PyTorch names and shapes, configuration as root attributes) ---- */
typedef struct {
  enum ds_level level;
  int64_t eos_id, unk_id;
  char split_on[16];
  char **vocab;
  int64_t vocab_size;
  unsigned char *glue; /* word level: (vocab_size) how each entry is spaced (tokenize.h), or NULL */
  unsigned char *spm_proto; /* spm level: the SentencePiece model, serialized (spm.h) */
  int64_t spm_proto_len;
  char **out_names; /* classify: label names, tag: tag names */
  int64_t n_out_names;
  char writer[32];   /* model_load: the recur_version that wrote the file ("" before 0.2.0) */
  char missing[512]; /* model_load: configuration attributes the file lacks (defaults taken) */
  char **src_vocab;  /* seq2seq --separate-vocab: the sources' (else NULL) */
  int64_t src_vocab_size, src_unk_id;
  unsigned char *src_spm_proto; /* ... at spm level: the sources' SentencePiece model */
  int64_t src_spm_proto_len;
  char **feature_names; /* forecast: the features' names (n_features) */
  int64_t n_features;
  char **cond_names; /* condlm --cond-features: the conditioning vector's features (n_cond_names) */
  int64_t n_cond_names;
} model_vocab;

/* Write atomically (temporary name, fsync, rename). */
void model_save(const model *m, const model_vocab *v, int64_t step, const char *path);
/* Load path, which may be a model.h5, a checkpoint directory or a run directory. Validates
 * format, version, configuration and every tensor's shape. */
model *model_load(const char *path, model_vocab *v, int64_t *step);
void model_vocab_free(model_vocab *v);
/* Which model of a run directory: the best validated one when the run has one, else the last
 * (AUTO, what sample, eval and predict take); the last trained (LAST); the best, an error in a
 * run that has not validated yet (BEST). */
typedef enum { MODEL_PICK_AUTO, MODEL_PICK_LAST, MODEL_PICK_BEST } model_pick;
/* Resolve MODEL to a model.h5 path (malloc'd): a file is itself; a checkpoint directory its
 * model.h5; a run directory as pick says: RUN/model-best.h5 (the lowest validation loss so far),
 * or RUN/model.h5, else the model of its newest checkpoint (the last one trained). A run without
 * a checkpoint yet is an error that says so. model_resolve is pick LAST. */
char *model_resolve(const char *path);
char *model_resolve_pick(const char *path, model_pick pick);
/* What a model holds: to stdout as text, or (j non-NULL) as a JSON object under key. */
void model_inspect(const char *path, json_writer *j, const char *key);

#endif

/* model-impl: the regularisers shared by model_pass.c and model_reg.c (not a public API). */
#ifndef RECUR_MODEL_IMPL_H
#define RECUR_MODEL_IMPL_H

#include "recur/model.h"

/* the dropout probability between layers: --dropout or --dropout-locked */
float reg_between_p(const model *m);
/* y = x * mask over the rows of width w of layer `layer`'s output (forward and backward alike) */
void reg_dropout_apply(const model *m, const batch *b, int layer, uint64_t step, float *y,
                       const float *x, int w);
/* the same over steps [t0, t1) only, y and x holding those steps' rows (row off[t0] first) */
void reg_dropout_steps(const model *m, const batch *b, int layer, uint64_t step, float *y,
                       const float *x, int w, int t0, int t1);
/* --dropout-embed: word w's embedding scale this step (0, 1/(1-p), or 1 outside training) */
float reg_embed_keep(const model *m, int32_t w);
/* --weight-drop: the view of layer l, direction d, the pass runs with; the masked copies made
 * before a training forward; the copy's gradient folded back after layer l's backward */
const layer_view *reg_view(model *m, int l, int d);
void reg_wd_prepare(model *m);
void reg_wd_fold(model *m, int l, int d);

/* the top layer's outputs of the last forward (N, D) */
const float *model_top_out(const model *m);
/* dst row perm[r] = src row r (N rows of w floats): a backward direction's time order */
void model_permute_rows(float *dst, const float *src, const int64_t *perm, int64_t N, int w);
/* seq2seq attention's activations */
void model_attn_free(model *m);
const float *model_attn_out(const model *m); /* h~ (N, D) of the last forward */
/* model_attn_forward in parts, for a decoder that runs step by step (input feeding): begin, then
 * steps [t0, t1) of b (rows off[t0] .. off[t1]) in order; backward: begin, the steps in reverse
 * order (dHt and dtop rows of those steps), end (the weights' gradients over all rows, the
 * encoder's output gradients) */
void model_attn_begin(model *m, const batch *b);
void model_attn_steps(model *m, const batch *b, const float *top, int t0, int t1);
void model_attn_back_begin(model *m, const batch *b);
void model_attn_back_steps(model *m, const batch *b, const float *top, const float *dHt,
                           float *dtop, int t0, int t1);
void model_attn_back_end(model *m, const batch *b, const float *top);

/* model_pass.c: the pass's buffers for N rows and B sequences; layer l's input as the forward saw
 * it (N, in) */
void model_reserve(model *m, int64_t N, int64_t B);
const float *model_layer_in(const model *m, int l);
/* model_s2s.c: a decoder's stages: the encoder's forward (model_encode) and its backward from the
 * decoder's initial-state gradients (and the attention's); --input-feed's step-by-step decoder */
struct model_s2s_stages {
  void (*encode)(model *m, const batch *b, uint64_t step, int train);
  void (*encoder_backward)(model *m, const batch *b, float scale);
  void (*feed_forward)(model *m, const batch *b, const float *h0, const float *c0);
  void (*feed_backward)(model *m, const batch *b);
};
extern const struct model_s2s_stages model_s2s_stages;
/* model_forecast.c: the summed loss of the readout in m->probs (R, O) against b's target frames
 * (adds the bias first), and its gradient times scale into dl (rows outside `last` left out) */
double forecast_loss(model *m, const batch *b, int64_t R);
void forecast_grad(const model *m, const batch *b, int64_t R, float scale, float *dl,
                   const unsigned char *last);

/* z (n) -> softmax in place; returns log sum exp of the logits (in double) */
double softmax_row(float *z, int64_t n);
/* --softmax adaptive over the readout rows F (R, D): the summed negative log-likelihood of tgt
 * (rows with tgt < 0 have none); backward accumulates its gradients and writes dF (R, D), rows
 * outside `last` (when given) left out of the loss */
double asm_forward(model *m, const float *F, const int32_t *tgt, int64_t R);
void asm_backward(model *m, const float *F, const int32_t *tgt, int64_t R, float scale,
                  const unsigned char *last, float *dF);

#endif

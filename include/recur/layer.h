/* layer: one recurrent layer (rnn_tanh, rnn_relu, lstm, gru; PyTorch formulations and gate
 * orders) run over a packed batch with BPTT. Packed layout: the rows of time step t are
 * [off[t], off[t] + bs[t]) and are the first bs[t] sequences of the batch (sorted by length,
 * longest first), so step t touches only the sequences still running. */
#ifndef RECUR_LAYER_H
#define RECUR_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "recur/packed.h"

enum cell_type { CELL_RNN_TANH, CELL_RNN_RELU, CELL_LSTM, CELL_GRU, CELL_COUNT };
extern const char *const cell_names[CELL_COUNT + 1];
/* A cell's facts, here only: gates per unit (1, 1, 4, 3); whether it carries a cell state c
 * besides h (lstm); the states it carries (1 or 2) */
int cell_gates(enum cell_type cell);
int cell_has_c(enum cell_type cell);
int cell_states(enum cell_type cell);
const char *cell_torch_mode(enum cell_type cell); /* "RNN_TANH", "RNN_RELU", "LSTM", "GRU" */

typedef struct {
  enum cell_type cell;
  int in, H, G;                         /* G = gates: weights are (G*H, in) and (G*H, P) */
  int P;                                /* width of the state h and the output: H, or the lstm's
                                           projection (PyTorch proj_size) */
  const float *w_ih;                    /* (G*H, in) */
  const float *w_hh;                    /* (G*H, P) */
  const float *b_ih;                    /* (G*H) */
  const float *b_hh;                    /* (G*H) */
  const float *w_hr;                    /* (P, H) lstm projection h = W_hr (o * tanh c), or NULL */
  float *gw_ih, *gw_hh, *gb_ih, *gb_hh; /* gradients, same shapes, accumulated into */
  float *gw_hr;
} layer_view;

/* What forward keeps for backward, for one layer and one batch. */
typedef struct {
  float *gates; /* (N, G*H) activated gates (lstm i,f,g,o; gru r,z,n; rnn h) */
  float *cell;  /* (N, H) lstm cell state */
  float *tcell; /* (N, H) lstm tanh(cell) */
  float *hn;    /* (N, H) gru W_hn h + b_hn */
  float *h;     /* (N, P) outputs */
  float *hprev; /* (N, P) previous hidden state of each row */
  float *mproj; /* (N, H) lstm with projection: o * tanh(c), before W_hr */
  float *cprev; /* (N, H) lstm previous cell state of each row */
  int64_t cap;  /* rows allocated */
} layer_acts;

/* Scratch shared by all layers during backward. */
typedef struct {
  float *dgx;              /* (N, G*H) gradient of input-side pre-activations */
  float *dgh;              /* (N, G*H) gradient of hidden-side pre-activations (gru; else = dgx) */
  float *dc;               /* (B, H) lstm cell gradient carried back in time */
  float *tmp;              /* (B, G*H) per-step recurrent product */
  float *ones;             /* (N) for bias column sums */
  float *bsum;             /* (G*H) b_ih + b_hh */
  void (*poke)(void *arg); /* if set, called once per backward time step and between the large
                            products after the loop (lets MPI progress the sums in flight) */
  void *poke_arg;
  float *dh0, *dc0; /* (B, H) if set by the caller: backward writes the gradient of the initial
                       state h0 (and of c0, lstm) into them */
  const float *dhT, *dcT; /* (B, P) and (B, H) if set by the caller: the gradient of each row's
                             final state (h, and c for lstm) at its last step, from a later use of
                             it (an encoder's state passed to a decoder) */
  int64_t cap, capB, capG;
  int bf16; /* dgx and dgh (and the buffers swapped with them) carry their bf16 copy after their
               cap * capG floats: the gate pass writes it once, the products read it (the bf16
               kernel), instead of converting them at each of their four products */
} layer_scratch;

void layer_acts_reserve(layer_acts *a, const layer_view *L, int64_t N);
void layer_acts_free(layer_acts *a);
/* Let MPI progress the sums in flight (their only chance: Open MPI has no progress thread) */
static inline void layer_poke(const layer_scratch *s) {
  if (s->poke) s->poke(s->poke_arg);
}
void layer_scratch_reserve(layer_scratch *s, int64_t N, int B, int GH);
/* floats in dgx, dgh and any buffer swapped with them: cap * capG, and room for the bf16 copy */
int64_t layer_scratch_floats(const layer_scratch *s);
/* the bf16 copy of a buffer of dgx's size (p: its start), or NULL without one */
static inline uint16_t *layer_bf16(const layer_scratch *s, const float *p) {
  return s->bf16 ? (uint16_t *)(p + s->cap * s->capG) : NULL;
}
void layer_scratch_free(layer_scratch *s);

/* X is (N, in). h0, c0 are (B, H) or NULL for zeros. Fills a. */
void layer_forward(const layer_view *L, layer_acts *a, const float *X, const packed_shape *s,
                   const float *h0, const float *c0, layer_scratch *w);

/* dH (N, H): gradient of the loss w.r.t. this layer's outputs; used as scratch (recurrent
 * terms are added into it). Accumulates parameter gradients; writes dX (N, in) unless NULL.
 * The final state gets no gradient (truncated BPTT at window ends) unless w->dhT (and w->dcT)
 * give one; the initial state gets one when w->dh0 (and w->dc0) are set. */
void layer_backward(const layer_view *L, layer_acts *a, const float *X, const packed_shape *s,
                    float *dH, float *dX, layer_scratch *w);
/* layer_backward as its two halves: the gradients through time and dX, then the weights' (from
 * what the first half left in dH and w); a caller may use dX before the weights' products */
void layer_backward_data(const layer_view *L, layer_acts *a, const packed_shape *s, float *dH,
                         float *dX, layer_scratch *w);
void layer_backward_weights(const layer_view *L, const layer_acts *a, const float *X,
                            const packed_shape *s, const float *dH, layer_scratch *w);
/* layer_backward_weights as its two parts: the input weights' product (dW_ih), then the rest
 * (dW_hh, dW_hr, the biases); a caller may start dW_ih's sum before the rest (same values) */
void layer_backward_weights_in(const layer_view *L, const float *X, const packed_shape *s,
                               layer_scratch *w);
void layer_backward_weights_rec(const layer_view *L, const layer_acts *a, const packed_shape *s,
                                const float *dH, layer_scratch *w);

/* Vectorisable elementwise helpers, in place (also used by the readout). */
void vec_tanh(float *x, int n);
void vec_exp(float *x, int n);
int vec_argmax(const float *x, int n); /* first index of the largest value */

#endif

/* generate: a trained model used from C. Sampling text from a language model (a prime, the
 * temperature, top-k, a stop at <eos>; deterministic for a seed: draw g uses the counter-based
 * generator keyed by (seed, g)) and predicting the label or the tags of a text. Text is encoded by
 * the tokenizer prepare used. The CLI only parses flags, calls these and prints. */
#ifndef RECUR_GENERATE_H
#define RECUR_GENERATE_H

#include <stdint.h>
#include <stdio.h>

#include "recur/model.h"
#include "recur/tokenize.h"

typedef struct {
  int64_t length;     /* tokens to generate at most */
  double temperature; /* 0: argmax */
  int64_t top_k;      /* 0: all */
  uint64_t seed;
  int strict;    /* a prime symbol outside the vocabulary is an error (else <unk>, with a note) */
  int32_t label; /* condlm: the condition (an index into the model's label names) */
  const float
      *cond; /* condlm --cond-features: the conditioning vector (cond_features, data units) */
} sample_opts;

/* Write prime and its continuation to out (a language model). Returns the tokens generated:
 * fewer than so->length when the model drew <eos> (which ends the text and is not written). */
int64_t generate_sample(model *m, const model_vocab *v, const char *prime, const sample_opts *so,
                        FILE *out);

/* seq2seq: greedy decoding of n sources at once (src[i], src_len[i] tokens; a model whose sources
 * are frames (--cond-features): src NULL and src_x[i] its (src_len[i], features)), starting from
 * and ending at eos (the dataset's <eos>, as in training): out[i] (room for max_out ids) gets the
 * output without its <eos>, out_len[i] its length (max_out when no <eos> came in time), score[i]
 * (unless NULL) its log-probability (with its <eos>). Every row runs until all have ended: one
 * GEMM per step for the whole group. */
void generate_greedy(model *m, int32_t eos, int n, const int *src_len, int32_t *const *src,
                     const float *const *src_x, int max_out, int32_t **out, int *out_len,
                     double *score);

/* seq2seq: beam search for one source (tokens src, or frames src_x): K hypotheses advance together
 * (one product per layer a step); a hypothesis ends at eos; the best ended one by log p / lp(len)
 * with GNMT's length penalty lp = ((5 + len) / 6)^alpha (alpha 0: plain log-probability) goes to
 * out (room for max_out), its length is returned and its log-probability put in *score. With no
 * ended hypothesis after max_out steps, the best running one. */
int generate_beam(model *m, int32_t eos, int src_len, int32_t *src, const float *src_x, int K,
                  double alpha, int max_out, int32_t *out, double *score);
/* The same for n sources at once (as generate_greedy takes them), each searched as generate_beam
 * searches it alone: every running hypothesis of every source is a row of one batch (K rows a
 * source; a source leaves when its search ends), so a step is one product per layer for all. */
void generate_beams(model *m, int32_t eos, int n, const int *src_len, int32_t *const *src,
                    const float *const *src_x, int K, double alpha, int max_out, int32_t **out,
                    int *out_len, double *score);

typedef struct {
  int beam;              /* 1: greedy */
  double length_penalty; /* alpha of generate_beam */
  int max_out;
  int scores; /* also write "<TAB>log p" after each output */
} decode_opts;

/* seq2seq: the output of each of n lines of text, one line each to out (greedy: decoded together
 * in one batch; beam: one line at a time). An empty line gives an empty one. */
void generate_transduce(model *m, const model_vocab *v, const vocab_index *vi, char *const *lines,
                        int n, const decode_opts *d, FILE *out);
/* The same for n sources of frames (--cond-features): x[i] (len[i], features) in the data's units.
 */
void generate_transduce_frames(model *m, const model_vocab *v, int n, const int *len,
                               const float *const *x, const decode_opts *d, FILE *out);

/* forecast: run the model over prime (n, n_in frames, the data's units), then roll it forward
 * length steps on its own predictions (gaussian: a draw from N(mu, (temperature sigma)^2), keyed by
 * (seed, step, feature); temperature 0 or --loss mse: the mean), writing CSV (the header, then
 * the predicted frames) to out. */
void generate_rollout(model *m, const model_vocab *v, const float *prime, int64_t n, int64_t length,
                      double temperature, uint64_t seed, FILE *out);
/* The same, the predicted frames into pred (length, n_in). */
void generate_frames(model *m, const float *prime, int64_t n, int64_t length, double temperature,
                     uint64_t seed, float *pred);

/* Predict for one line of text and write one line to out: "label<TAB>probability" (classify),
 * a tag character per character (char-level tag) or word/TAG tokens (word-level tag). b is
 * scratch reused across calls (zero-initialised by the caller, batch_free after). */
void generate_predict(model *m, const model_vocab *v, const vocab_index *vi, const char *text,
                      batch *b, FILE *out);
/* The same for a real-valued sequence x (n, n_in) of a classifier or tagger (tags separated by
 * spaces). */
void generate_predict_frames(model *m, const model_vocab *v, const float *x, int n, batch *b,
                             FILE *out);

#endif

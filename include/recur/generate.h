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
} sample_opts;

/* Write prime and its continuation to out (a language model). Returns the tokens generated:
 * fewer than so->length when the model drew <eos> (which ends the text and is not written). */
int64_t generate_sample(model *m, const model_vocab *v, const char *prime, const sample_opts *so,
                        FILE *out);

/* seq2seq: greedy decoding of n sources at once (src[i], src_len[i] tokens), starting from and
 * ending at eos (the dataset's <eos>, as in training): out[i] (room for
 * max_out ids) gets the output without its <eos>, out_len[i] its length (max_out when no <eos> came
 * in time). Every row runs until all have ended: one GEMM per step for the whole group. */
void generate_greedy(model *m, int32_t eos, int n, const int *src_len, int32_t *const *src,
                     int max_out, int32_t **out, int *out_len);

/* seq2seq: the greedy output of each of n lines of text, one line each to out (decoded together:
 * one batch). Outputs stop at <eos> or after max_out tokens. An empty line gives an empty one. */
void generate_transduce(model *m, const model_vocab *v, const vocab_index *vi, char *const *lines,
                        int n, int max_out, FILE *out);

/* Predict for one line of text and write one line to out: "label<TAB>probability" (classify),
 * a tag character per character (char-level tag) or word/TAG tokens (word-level tag). b is
 * scratch reused across calls (zero-initialised by the caller, batch_free after). */
void generate_predict(model *m, const model_vocab *v, const vocab_index *vi, const char *text,
                      batch *b, FILE *out);

#endif

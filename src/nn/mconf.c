/* mconf: the model's configuration, one row per field (see mconf.h). The rows' order is the order
 * of model.h5's attributes, and a row's condition (`when`) reads only rows above it. */
#include "recur/mconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

#define F(member) offsetof(model_config, member), sizeof(((model_config *)0)->member)
#define T(task)   (1u << TASK_##task)
#define ALL       MCONF_ALL
#define LSTM      (1u << CELL_LSTM)

static int adaptive(const model_config *c) { return c->softmax == SOFTMAX_ADAPTIVE; }
static int real_inputs(const model_config *c) { return c->n_in > 0; }

/* clang-format off */
const mconf_def mconf_defs[] = {
    {"cell", "--cell", MCONF_CHOICE, F(cell), 0, 0, cell_names, "lstm", NULL, "recurrent cell",
     ALL, ALL, MCONF_SHAPE | MCONF_REQUIRED, NULL},
    {"task", "--task", MCONF_CHOICE, F(task), 0, 0, task_names, "lm", NULL,
     "what the dataset was prepared for (default: the dataset's)", ALL, ALL, MCONF_SHAPE, NULL},
    {"layers", "--layers", MCONF_INT, F(layers), 1, MODEL_MAX_LAYERS, NULL, "2", "L",
     "stacked layers", ALL, ALL, MCONF_SHAPE | MCONF_REQUIRED, NULL},
    {"hidden", "--hidden", MCONF_INT, F(hidden), 1, 65536, NULL, "256", "H",
     "hidden units per layer", ALL, ALL, MCONF_SHAPE | MCONF_REQUIRED, NULL},
    {"embed", "--embed", MCONF_INT, F(embed), 1, 65536, NULL, "64", "E",
     "embedding width (real-valued inputs: the input layer's)", ALL, ALL,
     MCONF_SHAPE | MCONF_REQUIRED, NULL},
    {"vocab_size", NULL, MCONF_INT, F(vocab), 0, 2147483647.0, NULL, "0", NULL,
     "tokens in the vocabulary", ALL, ALL, MCONF_DATA | MCONF_REQUIRED, NULL},
    {"bidirectional", "--bidirectional", MCONF_SWITCH, F(bidirectional), 0, 1, NULL, "0", NULL,
     "each layer also runs backward (classify, tag; a seq2seq encoder)", ALL, ALL, MCONF_SHAPE,
     NULL},
    {"n_out", NULL, MCONF_INT, F(n_out), 0, 2147483647.0, NULL, "0", NULL,
     "readout classes", ALL, ALL, MCONF_DATA, NULL},
    {"pool", "--pool", MCONF_CHOICE, F(pool), 0, 0, pool_names, "last", NULL,
     "classify: readout of the last step or the mean", T(CLASSIFY), ALL, 0, NULL},
    {"tie_weights", "--tie-weights", MCONF_SWITCH, F(tie_weights), 0, 1, NULL, "0", NULL,
     "lm, condlm: the readout's weight is the embedding (Press & Wolf 2017; needs --embed = "
     "--hidden)", T(LM) | T(CONDLM), ALL, MCONF_SHAPE, NULL},
    {"proj_size", "--proj", MCONF_INT, F(proj), 0, 65536, NULL, "0", "P",
     "lstm: project each layer's state and output to P units (Sak et al. 2014; PyTorch "
     "proj_size; 0 = none)", ALL, LSTM, MCONF_SHAPE, NULL},
    {"softmax", "--softmax", MCONF_CHOICE, F(softmax), 0, 0, softmax_names, "full", NULL,
     "lm, condlm: the readout over the vocabulary; adaptive = Grave et al. 2017 (PyTorch's "
     "AdaptiveLogSoftmaxWithLoss), for large word vocabularies", T(LM) | T(CONDLM), ALL,
     MCONF_SHAPE, NULL},
    {"cutoffs", "--cutoffs", MCONF_INTS, F(cutoffs), 1, 2147483647.0, NULL, "", "A,B,..",
     "adaptive softmax: the shortlist is words [0, A), then clusters [A, B), ..., [last, V) (word "
     "ids are by frequency)", T(LM) | T(CONDLM), ALL, MCONF_SHAPE, adaptive},
    {"div_value", "--div-value", MCONF_REAL, F(div_value), 1, 1024, NULL, "4", "X",
     "adaptive softmax: cluster k projects to width / X^k", T(LM) | T(CONDLM), ALL, MCONF_SHAPE,
     adaptive},
    {"attention", "--attention", MCONF_CHOICE, F(attention), 0, 0, attention_names, "none", NULL,
     "seq2seq: the decoder attends to the encoder's outputs: dot, general (Luong et al. 2015) or "
     "concat (Bahdanau et al. 2015's additive score); the readout reads tanh(W [context; h])",
     T(SEQ2SEQ), ALL, MCONF_SHAPE, NULL},
    {"input_feed", "--input-feed", MCONF_SWITCH, F(input_feed), 0, 1, NULL, "0", NULL,
     "seq2seq with attention: each decoder step also reads the attention's output of the step "
     "before (Luong et al. 2015; the decoder then runs step by step)", T(SEQ2SEQ), ALL,
     MCONF_SHAPE | MCONF_SPARSE, NULL},
    {"readout_hidden", "--readout-hidden", MCONF_INT, F(readout_hidden), 0, 65536, NULL, "0", "N",
     "an MLP readout: a tanh layer of N units between the last layer (seq2seq: the attention) and "
     "the softmax (0 = none; full softmax, untied)", ALL, ALL, MCONF_SHAPE | MCONF_SPARSE, NULL},
    {"n_in", NULL, MCONF_INT, F(n_in), 0, 65536, NULL, "0", NULL,
     "real-valued inputs: features per step (0 = tokens)", ALL, ALL, MCONF_DATA | MCONF_SPARSE,
     NULL},
    {"encoder_hidden", "--input-hidden", MCONF_INT, F(in_hidden), 0, 65536, NULL, "0", "N",
     "real-valued inputs: an MLP (a tanh layer of N units, then --embed wide) instead of one "
     "linear layer (0); once called --encoder-hidden", ALL, ALL, MCONF_SHAPE, real_inputs},
    {"horizon", "--horizon", MCONF_INT, F(horizon), 1, 1 << 20, NULL, "1", "K",
     "forecast: each step predicts the frame K steps ahead", T(FORECAST), ALL, 0, NULL},
    {"loss", "--loss", MCONF_CHOICE, F(loss), 0, 0, loss_names, "mse", NULL,
     "forecast: mse, or gaussian (a mean and a log-variance per feature; the loss is the negative "
     "log-likelihood)", T(FORECAST), ALL, MCONF_SHAPE, NULL},
    {"src_vocab_size", NULL, MCONF_INT, F(src_vocab), 0, 2147483647.0, NULL, "0", NULL,
     "seq2seq --separate-vocab: the sources' vocabulary (0 = the targets')", T(SEQ2SEQ), ALL,
     MCONF_DATA | MCONF_SPARSE, NULL},
    {"n_cond", NULL, MCONF_INT, F(cond_labels), 0, 2147483647.0, NULL, "0", NULL,
     "condlm: labels conditioning the text", T(CONDLM), ALL, MCONF_DATA, NULL},
    {"cond_dim", "--cond-dim", MCONF_INT, F(cond_width), 1, 65536, NULL, "32", "N",
     "condlm: width of a label's embedding (a tanh layer per layer makes its initial state)",
     T(CONDLM), ALL, MCONF_SHAPE, NULL},
    {"cond_input", "--cond-input", MCONF_SWITCH, F(cond_every_step), 0, 1, NULL, "0", NULL,
     "condlm: also append the label's embedding to every input", T(CONDLM), ALL, MCONF_SHAPE,
     NULL},
    {"cond_in", NULL, MCONF_INT, F(cond_features), 0, 65536, NULL, "0", NULL,
     "--cond-features: a vector of this many features per sequence", T(CONDLM) | T(SEQ2SEQ), ALL,
     MCONF_DATA | MCONF_SPARSE, NULL},
    {"dropout", "--dropout", MCONF_REAL, F(dropout), 0, 0.99, NULL, "0", "P",
     "dropout between layers", ALL, ALL, MCONF_TRAIN, NULL},
    {"dropout_locked", "--dropout-locked", MCONF_REAL, F(dropout_locked), 0, 0.99, NULL, "0", "P",
     "dropout between layers with one mask per sequence for all its steps (awd-lstm-lm's locked "
     "dropout; instead of --dropout)", ALL, ALL, MCONF_TRAIN, NULL},
    {"dropout_embed", "--dropout-embed", MCONF_REAL, F(dropout_embed), 0, 0.99, NULL, "0", "P",
     "drop whole words: a word's embedding is zero for the whole step with probability P", ALL,
     ALL, MCONF_TRAIN, NULL},
    {"weight_drop", "--weight-drop", MCONF_REAL, F(weight_drop), 0, 0.99, NULL, "0", "P",
     "DropConnect on the hidden-to-hidden weights: one mask per step (awd-lstm-lm's WeightDrop)",
     ALL, ALL, MCONF_TRAIN, NULL},
};
/* clang-format on */
const int mconf_n = (int)(sizeof mconf_defs / sizeof mconf_defs[0]);

static void *field(const mconf_def *d, model_config *c) { return (char *)c + d->offset; }
static const void *cfield(const mconf_def *d, const model_config *c) {
  return (const char *)c + d->offset;
}
/* MCONF_INTS: the count is the int before the array (opts.h's OPT_INTS reads it the same way) */
_Static_assert(offsetof(model_config, cutoffs) == offsetof(model_config, n_cutoffs) + sizeof(int),
               "n_cutoffs must come just before cutoffs");
static int *count(const mconf_def *d, model_config *c) { return (int *)field(d, c) - 1; }
static int ccount(const mconf_def *d, const model_config *c) {
  return ((const int *)cfield(d, c))[-1];
}

int mconf_applies(const mconf_def *d, const model_config *c) {
  if ((unsigned)c->task >= 16 || (unsigned)c->cell >= 16) return 1;
  return (d->tasks & (1u << c->task)) && (d->cells & (1u << c->cell)) && (!d->when || d->when(c));
}

/* older names of flags, still accepted (with a note) on the command line and in saved options */
static const char *old_flag_of(const char *flag) {
  static const char *const renamed[][2] = {{"--input-hidden", "--encoder-hidden"}};
  for (size_t i = 0; flag && i < sizeof renamed / sizeof renamed[0]; i++)
    if (!strcmp(flag, renamed[i][0])) return renamed[i][1];
  return NULL;
}

opt_def mconf_opt(const mconf_def *d, size_t base, const char *name) {
  static const opt_type type_of[] = {[MCONF_INT] = OPT_INT,
                                     [MCONF_REAL] = OPT_REAL,
                                     [MCONF_CHOICE] = OPT_CHOICE,
                                     [MCONF_SWITCH] = OPT_SWITCH,
                                     [MCONF_INTS] = OPT_INTS};
  return (opt_def){name,
                   name == d->flag ? old_flag_of(name) : NULL,
                   type_of[d->type],
                   base + d->offset,
                   d->size,
                   d->lo,
                   d->hi,
                   d->choices,
                   d->def,
                   d->meta,
                   d->help,
                   0};
}

/* row d as a table of one option named by its attribute: opts.c parses and formats it */
static opt_table one_row(const mconf_def *d, opt_def *row) {
  *row = mconf_opt(d, 0, d->attr);
  return (opt_table){"model.h5", NULL, NULL, row, 1};
}

void mconf_format(const mconf_def *d, const model_config *c, char *buf, size_t cap) {
  opt_def row;
  const opt_table t = one_row(d, &row);
  char *v = opts_value(&t, 0, c);
  snprintf(buf, cap, "%s", v);
  xfree(v);
}

int mconf_parse(const mconf_def *d, model_config *c, const char *s, char *err, size_t cap) {
  opt_def row;
  const opt_table t = one_row(d, &row);
  return opts_set(&t, 0, c, s, err, cap);
}

void mconf_default(model_config *c) {
  char err[256];
  for (int i = 0; i < mconf_n; i++)
    RECUR_ASSERT(mconf_parse(&mconf_defs[i], c, mconf_defs[i].def, err, sizeof err) == 0);
}

int mconf_equal(const mconf_def *d, const model_config *a, const model_config *b) {
  if (d->type == MCONF_INTS)
    return ccount(d, a) == ccount(d, b) &&
           !memcmp(cfield(d, a), cfield(d, b), (size_t)ccount(d, a) * sizeof(int));
  return !memcmp(cfield(d, a), cfield(d, b), d->size);
}

int mconf_diff(const model_config *a, const model_config *b, int skip, char *buf, size_t cap) {
  int n = 0;
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < mconf_n; i++) {
    const mconf_def *d = &mconf_defs[i];
    if ((d->kind & skip) || mconf_equal(d, a, b)) continue;
    char va[128], vb[128];
    mconf_format(d, a, va, sizeof va);
    mconf_format(d, b, vb, sizeof vb);
    if (len < cap)
      len += (size_t)snprintf(buf + len, cap - len, "%s%s %s (checkpoint: %s)", n ? ", " : "",
                              d->attr, va, vb);
    n++;
  }
  return n;
}

void mconf_copy(model_config *dst, const model_config *src, int kind) {
  for (int i = 0; i < mconf_n; i++) {
    const mconf_def *d = &mconf_defs[i];
    if (!(d->kind & kind)) continue;
    memcpy(field(d, dst), cfield(d, src), d->size);
    if (d->type == MCONF_INTS) *count(d, dst) = ccount(d, src);
  }
}

const mconf_def *mconf_find(const char *attr) {
  for (int i = 0; i < mconf_n; i++)
    if (!strcmp(mconf_defs[i].attr, attr)) return &mconf_defs[i];
  return NULL;
}

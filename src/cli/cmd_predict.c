/* recur predict: a trained model's output for each input line (a label, tags, a transduction)
 * through the library (generate.h); this file parses, calls and prints. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/dist.h"
#include "recur/gemm.h"
#include "recur/generate.h"
#include "recur/json.h"
#include "recur/prepare.h"
#include "recur/model.h"
#include "recur/train.h"

/* ---- predict ---- */
typedef struct {
  int best, last;
  int64_t max_out, batch, beam;
  double length_penalty;
  int scores, strict;
  gemm_choice kernel;
} predict_flags;

static const opt_def PREDICT_DEFS[] = {
    CLI_PICK_OPT_DEFS(predict_flags),
    {"--max-out", NULL, OPT_INT, OPT_FIELD(predict_flags, max_out), 1, 1 << 24, NULL, "256", "N",
     "seq2seq: stop an output that has not ended (<eos>) after N tokens", 0},
    {"--batch", NULL, OPT_INT, OPT_FIELD(predict_flags, batch), 1, 1 << 16, NULL, "64", "B",
     "seq2seq: lines decoded together (one matrix product per step for all of them)", 0},
    {"--beam", NULL, OPT_INT, OPT_FIELD(predict_flags, beam), 1, 1024, NULL, "1", "K",
     "seq2seq: beam search with K hypotheses (1 = greedy)", 0},
    {"--length-penalty", NULL, OPT_REAL, OPT_FIELD(predict_flags, length_penalty), 0, 10, NULL, "0",
     "A", "seq2seq beam: rank ended hypotheses by log p / ((5 + length) / 6)^A (Wu et al. 2016)",
     0},
    {"--scores", NULL, OPT_SWITCH, OPT_FIELD(predict_flags, scores), 0, 1, NULL, "0", NULL,
     "seq2seq: write <TAB> and the output's log-probability after each output", 0},
    GEMM_OPT_DEFS(predict_flags, kernel, "auto"),
    {"--strict", NULL, OPT_SWITCH, OPT_FIELD(predict_flags, strict), 0, 1, NULL, "0", NULL,
     "a line the model cannot read is an error (by default its output line is empty and stderr "
     "names it)",
     0},
};
static const opt_table PREDICT = {
    "predict",
    "usage: recur predict MODEL [TEXT | -]   (- or nothing: one input per line of stdin)",
    "Prints each line's label and its probability (classify), its tags (tag), or its output\n"
    "(seq2seq: greedy decoding). Symbols outside the model's vocabulary are read as <unk> where\n"
    "it has one; a line with others gets an empty output line (a note on stderr names it), so\n"
    "the outputs stay line for line with the inputs (--strict: an error). A model of real-valued "
    "sequences reads a CSV or TSV of frames (FRAMES.csv, or -\n"
    "for stdin; a header names the model's features, a blank line ends a sequence) and prints a\n"
    "line per sequence: its label and probability, or its tags separated by "
    "spaces.\n" CLI_PICK_HELP,
    PREDICT_DEFS, sizeof PREDICT_DEFS / sizeof PREDICT_DEFS[0]};

/* Text inputs, checked line by line before they are predicted: a line with a symbol the model
 * cannot read gets an empty output line and a note naming it (with strict, the error ends the
 * run), so the outputs stay line for line with the inputs. */
typedef struct {
  const vocab_index *vi;
  int words_by_space, strict;
  int64_t lines, bad;
} predict_input;

static int predict_readable(predict_input *in, const char *line, int argument) {
  char what[64];
  in->lines++;
  if (argument)
    snprintf(what, sizeof what, "the TEXT argument");
  else
    snprintf(what, sizeof what, "standard input, line %lld", (long long)in->lines);
  int64_t n = 0;
  if (in->strict || argument) { /* one input: its error is the run's */
    xfree(tokenize_encode(in->vi, line, &n, TOKENIZE_UNK, in->words_by_space, what));
    return 1;
  }
  recur_catch c;
  if (RECUR_CATCH(&c) == 0) {
    xfree(tokenize_encode(in->vi, line, &n, TOKENIZE_UNK, in->words_by_space, what));
    recur_catch_end(&c);
    return 1;
  }
  const char *msg = strncmp(c.msg, "recur: error: ", 14) ? c.msg : c.msg + 14;
  fprintf(stderr, "recur: no prediction: %.*s\n", (int)strcspn(msg, "\n"), msg);
  in->bad++;
  return 0;
}

int cmd_predict(int argc, char **argv) {
  const char *pos[2] = {NULL, NULL};
  int np = 0;
  predict_flags f = {0};
  opts_default(&PREDICT, &f);
  unsigned char given[32] = {0};
  if (opts_parse(&PREDICT, &f, given, argc, argv, pos, 2, &np)) return 0;
  const char *path = pos[0], *text = pos[1];
  if (!path) recur_usage_fail("recur predict MODEL [TEXT | -]", "no model given");
  core_errors_agreed(0); /* rank 0 alone predicts */
  if (core_rank() != 0) return 0;
  model_vocab v;
  model *m = cli_model_load(path, f.best, f.last, 0, &v, &f.kernel,
                            given[opts_at(&PREDICT, offsetof(predict_flags, kernel.lib))],
                            (int)f.batch, 0, NULL);
  const int s2s = task_is(m->cfg.task)->source;
  if (task_is(m->cfg.task)->frames)
    recur_fail(path, "recur sample MODEL --prime FRAMES.csv --length N rolls it forward",
               "this is a forecast model: it reads frames, not text");
  if (task_is(m->cfg.task)->next_token && !s2s)
    recur_fail(path, "use `recur sample` for language models", "this is a language model");
  /* a model of frames reads a CSV (or stdin), a sequence per blank-line block */
  const char *frames_in = text && strcmp(text, "-") ? text : "/dev/stdin";
  if (s2s && m->cfg.cond_features > 0) { /* sources of frames */
    int64_t n = 0, ns = 0, *off = NULL;
    float *x = prepare_real_read(frames_in, v.cond_names, m->cfg.cond_features, &n, &off, &ns);
    const decode_opts dopt = {.beam = (int)f.beam,
                              .length_penalty = f.length_penalty,
                              .max_out = (int)f.max_out,
                              .scores = f.scores};
    for (int64_t k0 = 0; k0 < ns; k0 += f.batch) { /* groups of --batch sources */
      const int k = (int)(ns - k0 < f.batch ? ns - k0 : f.batch);
      int *len = xmalloc((size_t)k * sizeof(int));
      const float **xs = xmalloc((size_t)k * sizeof(float *));
      for (int i = 0; i < k; i++)
        len[i] = (int)(off[k0 + i + 1] - off[k0 + i]),
        xs[i] = x + off[k0 + i] * m->cfg.cond_features;
      generate_transduce_frames(m, &v, k, len, xs, &dopt, stdout);
      xfree(len), xfree(xs);
    }
    xfree(x), xfree(off);
    model_vocab_free(&v);
    model_free(m);
    return 0;
  }
  if (m->cfg.n_in > 0) { /* classify, tag frames: one output line per sequence */
    int64_t n = 0, ns = 0, *off = NULL;
    float *x = prepare_real_read(frames_in, v.feature_names, (int)v.n_features, &n, &off, &ns);
    batch b = {0};
    for (int64_t k = 0; k < ns; k++)
      generate_predict_frames(m, &v, x + off[k] * m->cfg.n_in, (int)(off[k + 1] - off[k]), &b,
                              stdout);
    batch_free(&b);
    xfree(x);
    xfree(off);
    model_vocab_free(&v);
    model_free(m);
    return 0;
  }
  vocab_index vi, svi; /* the inputs' symbols: the sources' vocabulary when it has its own */
  vocab_index_init(&vi, v.level, v.vocab, v.vocab_size, v.eos_id, v.unk_id);
  if (v.spm_proto) vocab_index_spm(&vi, v.spm_proto, v.spm_proto_len);
  if (v.src_vocab) vocab_index_init(&svi, v.level, v.src_vocab, v.src_vocab_size, -1, v.src_unk_id);
  if (v.src_spm_proto) vocab_index_spm(&svi, v.src_spm_proto, v.src_spm_proto_len);
  const vocab_index *in_vi = v.src_vocab ? &svi : &vi;
  batch b = {0};
  const decode_opts dopt = {.beam = (int)f.beam,
                            .length_penalty = f.length_penalty,
                            .max_out = (int)f.max_out,
                            .scores = f.scores};
  predict_input in = {in_vi, task_is(m->cfg.task)->tags && v.level == LEVEL_WORD, f.strict, 0, 0};
  char **lines = xmalloc((size_t)f.batch * sizeof(char *));
  int n = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t got;
  const int one = text && strcmp(text, "-") != 0;
  while (one ? in.lines == 0 : (got = getline(&line, &cap, stdin)) >= 0) {
    if (!one)
      while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
    const char *cur = one ? text : line;
    const int ok = predict_readable(&in, cur, one);
    if (s2s) { /* lines in groups of --batch; an unreadable one ends a group */
      if (ok) lines[n++] = xstrdup(cur);
      if (!ok || n == f.batch) {
        generate_transduce(m, &v, in_vi, lines, n, &dopt, stdout);
        while (n > 0) xfree(lines[--n]);
      }
    } else if (ok) {
      generate_predict(m, &v, &vi, cur, &b, stdout);
    }
    if (!ok) { /* its (empty) output line */
      putchar('\n');
      fflush(stdout);
    }
  }
  if (s2s) generate_transduce(m, &v, in_vi, lines, n, &dopt, stdout);
  while (n > 0) xfree(lines[--n]);
  xfree(lines);
  xfree(line);
  if (in.bad)
    fprintf(stderr,
            "recur: %lld of %lld input lines had no prediction (named above; --strict "
            "makes the first an error)\n",
            (long long)in.bad, (long long)in.lines);
  batch_free(&b);
  vocab_index_free(&vi);
  if (v.src_vocab) vocab_index_free(&svi);
  model_vocab_free(&v);
  model_free(m);
  return 0;
}

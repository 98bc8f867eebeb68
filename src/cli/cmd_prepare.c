/* recur prepare: text -> HDF5 dataset. Flags from one table (opts.h) into prepare_opts. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/dist.h"
#include "recur/opts.h"
#include "recur/prepare.h"

/* --level: the dataset's levels, and SentencePiece models trained here (bpe, unigram: level spm) */
static const char *const LEVELS[] = {"byte", "char", "word", "real", "spm", "bpe", "unigram", NULL};
enum { LEVEL_ARG_BPE = LEVEL_COUNT, LEVEL_ARG_UNIGRAM };

#define F(m) OPT_FIELD(prepare_opts, m)
static const opt_def DEFS[] = {
    {"--out", "-o", OPT_STR, F(out), 0, 0, NULL, NULL, "OUT.h5", "the dataset to write (required)",
     0},
    {"--level", NULL, OPT_CHOICE, F(level), 0, 0, LEVELS, "char", NULL,
     "bytes, UTF-8 characters, words and punctuation marks, real-valued frames, or subwords: "
     "spm with --spm-model, or bpe|unigram, a SentencePiece model of --vocab-size pieces trained "
     "here on a sample of the input",
     0},
    {"--spm-model", NULL, OPT_STR, F(spm_model), 0, 0, NULL, NULL, "M.model",
     "--level spm: the SentencePiece model (stored in the dataset)", 0},
    {"--src-spm-model", NULL, OPT_STR, F(src_spm_model), 0, 0, NULL, NULL, "S.model",
     "--level spm --separate-vocab: the sources' SentencePiece model (--level bpe|unigram "
     "--separate-vocab trains one on the sources and one on the targets)",
     0},
    {"--vocab-size", NULL, OPT_INT, F(vocab_size), 0, 1 << 20, NULL, "8000", "N",
     "--level bpe|unigram: the pieces of the model trained", 0},
    {"--spm-sample", NULL, OPT_INT, F(spm_sample), 1, 1e9, NULL, "1000000", "N",
     "--level bpe|unigram: train on N lines of the input drawn with --seed (spm_train's "
     "--input_sentence_size)",
     0},
    {"--split-on", NULL, OPT_CHOICE, F(split_on), 0, 0, seg_mode_names, "none", NULL,
     "where sequences end (each delimited one ends with <eos>)", 0},
    {"--separator", NULL, OPT_STR, F(separator), 0, 0, NULL, NULL, "STR",
     "the separator line for --split-on separator", 0},
    {"--task", NULL, OPT_CHOICE, F(task), 0, 0, task_names, "lm", NULL,
     "what the sequences are for", 0},
    {"--val", NULL, OPT_REAL, F(val), 0, 0.99, NULL, PREPARE_VAL_DEFAULT, "F",
     "fraction of sequences for validation (by default only for inputs of 100 sequences or "
     "100,000 tokens and more)",
     0},
    {"--test", NULL, OPT_REAL, F(test), 0, 0.99, NULL, "0", "F", "fraction of sequences for test",
     0},
    {"--seed", NULL, OPT_UINT, F(seed), 0, 9.2e18, NULL, "1234", "S", "seed of the split", 0},
    {"--min-count", NULL, OPT_INT, F(min_count), 1, 9.2e18, NULL, "1", "N",
     "word level: rarer words become <unk>", 0},
    {"--max-vocab", NULL, OPT_INT, F(max_vocab), 0, 2147483647, NULL, "0", "N",
     "word level: keep the N-2 most frequent words (0 = all; at least 3)", 0},
    {"--vocab", NULL, OPT_STR, F(vocab_from), 0, 0, NULL, NULL, "FROM.h5",
     "use the vocabulary of this dataset", 0},
    {"--shard-tokens", NULL, OPT_UINT, F(shard_tokens), 0, 9.2e18, NULL, "0", "N",
     "write shard files of about N tokens plus an index (0 = one file)", 0},
    {"--max-len", NULL, OPT_INT, F(max_len), 0, 1 << 30, NULL, "0", "N",
     "seq2seq: cut a source or target longer than N tokens (counted in the summary; 0 = no limit)",
     0},
    {"--strict", NULL, OPT_SWITCH, F(strict), 0, 1, NULL, "0", NULL,
     "seq2seq: a source or target longer than --max-len is an error instead", 0},
    {"--separate-vocab", NULL, OPT_SWITCH, F(separate_vocab), 0, 1, NULL, "0", NULL,
     "seq2seq: a vocabulary for the sources and one for the targets (word-level translation)", 0},
    {"--label-column", NULL, OPT_STR, F(label_column), 0, 0, NULL, NULL, "NAME",
     "--level real: this column names each sequence's label (--task classify)", 0},
    {"--tag-column", NULL, OPT_STR, F(tag_column), 0, 0, NULL, NULL, "NAME",
     "--level real: this column names each step's tag (--task tag)", 0},
    {"--cond-features", NULL, OPT_STR, F(cond_features), 0, 0, NULL, NULL, "FILE",
     "vectors by id (CSV id,f1,..,fD or HDF5 /ids + /features). --task condlm: lines "
     "id<TAB>text, each text conditioned on its id's vector; --task seq2seq: lines id<TAB>target, "
     "the source being the id's rows as frames",
     0},
    {"--quiet", NULL, OPT_SWITCH, F(quiet), 0, 1, NULL, "0", NULL, "no summary line", 0},
    DIST_TIMEOUT_OPT_DEF(prepare_opts, comm_timeout, 0),
};
#undef F

static const opt_table TABLE = {
    "prepare", "usage: recur prepare INPUT... -o OUT.h5 [flags]",
    "INPUT is a file, a directory (read recursively in sorted order) or - for standard input.\n"
    "--task classify: lines label<TAB>text. --task tag: char level text<TAB>tags (a tag character "
    "per\n"
    "character), word level word/TAG tokens. One sequence per line, no <eos>.\n"
    "--task condlm: lines label<TAB>text; a language model of the text given the label (each text "
    "ends\n"
    "with <eos>).\n"
    "--task seq2seq: lines source<TAB>target; an encoder reads the source, a decoder writes the "
    "target\n(which ends with <eos>). One vocabulary for both sides (--separate-vocab: one "
    "each).\n"
    "--level real: CSV or TSV numbers under a header row, one row per step; a blank line or a new "
    "file\nstarts a sequence. --task forecast, or classify/tag with --label-column/--tag-column.\n",
    DEFS, sizeof DEFS / sizeof DEFS[0]};

int cmd_prepare(int argc, char **argv) {
  prepare_opts opts, *o = &opts;
  memset(o, 0, sizeof *o);
  opts_default(&TABLE, o);
  const char **pos = xcalloc((size_t)argc, sizeof(char *));
  int np = 0;
  unsigned char given[sizeof DEFS / sizeof DEFS[0]] = {0};
  if (opts_parse(&TABLE, o, given, argc, argv, pos, argc, &np)) {
    xfree(pos);
    opts_free(&TABLE, o);
    return 0;
  }
  o->val_given = given[opts_find(&TABLE, "--val")];
  if ((int)o->level >= LEVEL_COUNT) { /* bpe, unigram: a model trained here, level spm */
    o->spm_train = o->level == (enum ds_level)LEVEL_ARG_BPE ? "bpe" : "unigram";
    o->level = LEVEL_SPM;
    if (o->vocab_size < 8)
      recur_usage_fail("a SentencePiece model needs room for its specials and the characters",
                       "--vocab-size %lld is too small (at least 8)", (long long)o->vocab_size);
  }
  if (o->level == LEVEL_SPM && !o->spm_train && !o->spm_model)
    recur_usage_fail("give the model (--spm-model M.model), or train one with --level bpe|unigram",
                     "--level spm needs --spm-model");
  if (o->spm_model && o->level != LEVEL_SPM)
    recur_usage_fail("use --level spm with --spm-model", "--spm-model without --level spm");
  if (o->src_spm_model && !(o->spm_model && o->separate_vocab))
    recur_usage_fail("give the targets' model with --spm-model and --separate-vocab",
                     "--src-spm-model without --level spm --spm-model M --separate-vocab");
  if (o->spm_model && o->separate_vocab && !o->src_spm_model && !o->vocab_from)
    recur_usage_fail("give the sources' model too (--src-spm-model S.model), or train both with "
                     "--level bpe|unigram",
                     "--separate-vocab at --level spm needs --src-spm-model");
  o->inputs = (char **)pos;
  o->n_inputs = np;
  if (o->max_vocab != 0 && o->max_vocab < 3)
    recur_usage_fail(NULL, "--max-vocab must be 0 or at least 3, got %lld",
                     (long long)o->max_vocab);
  if (o->n_inputs == 0) recur_usage_fail("recur prepare INPUT... -o OUT.h5", "no input given");
  if (!o->out) recur_usage_fail("recur prepare INPUT... -o OUT.h5", "no output given (-o)");
  if (o->val + o->test >= 1.0)
    recur_usage_fail(NULL, "--val + --test must be below 1, got %g", o->val + o->test);
  if (o->split_on == SEG_SEPARATOR) {
    if (!o->separator || !*o->separator)
      recur_usage_fail("e.g. --separator %", "--split-on separator needs --separator STR");
    if (strlen(o->separator) > 255 || strchr(o->separator, '\n'))
      recur_usage_fail(NULL, "--separator must be one line under 256 bytes");
  }
  dist_watch_set(o->comm_timeout);
  core_errors_agreed(0); /* each rank reads its own input files */
  prepare_run(o);        /* every rank: they share the input files */
  dist_barrier("the other ranks' parts of the dataset");
  xfree(pos);
  opts_free(&TABLE, o);
  return 0;
}

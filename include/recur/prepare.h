/* prepare: text (files, directories, stdin) -> recur-dataset HDF5 file or shard set, in two
 * streaming passes with bounded memory. */
#ifndef RECUR_PREPARE_H
#define RECUR_PREPARE_H

#include <stdint.h>

#include "recur/dataset.h"

/* where a sequence ends: nowhere (one stream), at each line, blank line, file, or separator line */
enum seg_mode { SEG_NONE, SEG_LINE, SEG_PARAGRAPH, SEG_FILE, SEG_SEPARATOR, SEG_COUNT };
extern const char *const seg_mode_names[SEG_COUNT + 1];

typedef struct {
  char **inputs; /* files, directories (recursive, sorted) or "-" for stdin */
  int n_inputs;
  char *out; /* OUT.h5 */
  enum ds_level level;
  enum seg_mode split_on; /* where sequences end */
  char *separator;        /* the separator line for split_on=separator */
  double val, test;       /* fractions of sequences (or of the stream's tail) */
  /* val_given 0: val is the default, applied only to an input of at least PREPARE_VAL_MIN_SEQ
   * sequences (undelimited: PREPARE_VAL_MIN_TOK tokens) */
  int val_given;
  uint64_t seed;
  int64_t min_count;     /* word level: rarer words become <unk> */
  int64_t max_vocab;     /* word level: cap including specials (0 = none) */
  char *vocab_from;      /* reuse the vocabulary of this dataset */
  uint64_t shard_tokens; /* >0: write shards of about this many tokens plus an index */
  enum model_task task;  /* classify: lines label<TAB>text; tag: char level text<TAB>tags
                          * (a tag character per character), word level word/TAG tokens */
  int quiet;
  double comm_timeout; /* the CLI's --comm-timeout (dist.h) */
  int64_t max_len; /* seq2seq: a longer source or target is cut to max_len tokens (0 = no limit) */
  int strict;      /* seq2seq: ... or refused */
  int separate_vocab; /* seq2seq: the sources get a vocabulary of their own */
  /* --level real: the column naming each sequence's label (classify) or each step's tag (tag) */
  char *label_column, *tag_column;
  char *cond_features; /* condlm: lines id<TAB>text, a vector per id from this CSV or HDF5 file */
  /* --level spm: the SentencePiece model file, or (spm_train "bpe" or "unigram") a model of
   * vocab_size pieces trained on spm_sample lines of the input */
  char *spm_model;
  char *src_spm_model; /* --separate-vocab: the sources' model */
  const char *spm_train;
  int64_t vocab_size, spm_sample;
} prepare_opts;

#define PREPARE_VAL_DEFAULT "0.05"
#define PREPARE_VAL_MIN_SEQ 100
#define PREPARE_VAL_MIN_TOK 100000

/* Runs the whole preparation; writes under a temporary name and renames when complete.
 * Any error ends the process with a message and leaves no output behind. */
void prepare_run(const prepare_opts *o);

/* --level real: the sequences of path (a blank line ends one) as (n, D) floats of the D named
 * features, checked as prepare checks them; the header names them in any order (other columns are
 * not read). malloc'd; *n rows; sequence k is rows [(*seq_off)[k], (*seq_off)[k+1]), k < *n_seq. */
float *prepare_real_read(const char *path, char *const *names, int D, int64_t *n, int64_t **seq_off,
                         int64_t *n_seq);

#endif

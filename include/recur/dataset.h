/* dataset: the recur-dataset HDF5 format (one file or an index plus shard files), opened,
 * validated and streamed by token ranges without loading the corpus. */
#ifndef RECUR_DATASET_H
#define RECUR_DATASET_H

#include <stdint.h>

#include "recur/task.h"

#define DATASET_FORMAT       "recur-dataset"
#define DATASET_SHARD_FORMAT "recur-dataset-shard"
#define DATASET_VERSION      1
#define DATASET_CHUNK        65536 /* tokens per chunk */

/* Each enum has one NULL-terminated name table (index = value) and one parse function (-1 if
 * unknown): names_parse over the table. */
enum ds_split_id { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_COUNT };
extern const char *const ds_split_names[SPLIT_COUNT + 1];

/* A split's sequence offsets ((n_seq + 1) global token offsets), read from the files a block at a
 * time as they are used: dataset_seq_start. */
typedef struct ds_index ds_index;

typedef struct {
  uint64_t n_seq, n_tok;
  ds_index *index;    /* the sequences' offsets */
  int n_parts;        /* files holding this split's tokens */
  int64_t *tokens;    /* (n_parts) HDF5 id (hid_t) of the tokens dataset of each part */
  uint64_t *part_tok; /* (n_parts + 1) first global token of each part */
  int *part_file;     /* (n_parts) index into dataset.file_paths */
  int64_t *tags;      /* (n_parts) tag: HDF5 id of the tags dataset of each part */
  int32_t *labels;    /* (n_seq) classify: label of each sequence */
  /* seq2seq: the source side, a second stream with the same parts (sequence i of the split is
   * source tokens [dataset_src_start(i), dataset_src_start(i + 1)) -> target tokens
   * [dataset_seq_start(i), ..)) */
  uint64_t n_src_tok;
  ds_index *src_index;    /* the sources' offsets */
  int64_t *src_tokens;    /* (n_parts) HDF5 ids */
  uint64_t *src_part_tok; /* (n_parts + 1) */
  int64_t values;         /* LEVEL_REAL: HDF5 id of the (n_tok, n_features) float32 values */
  /* condlm --cond-features: each part's (sequences, n_cond_features) vectors (HDF5 ids) and its
   * first sequence (n_parts + 1) */
  int64_t *cond;
  uint64_t *part_seq;
} ds_split;

typedef struct {
  char *path;
  enum ds_level level;
  char split_on[16]; /* none|line|paragraph|file|separator */
  char separator[256];
  int64_t vocab_size;
  char **vocab;              /* (vocab_size) UTF-8 names */
  unsigned char *vocab_glue; /* word level: (vocab_size) TOKEN_GLUE_* (tokenize.h), or NULL */
  unsigned char *spm_proto;  /* spm level: the SentencePiece model, serialized (spm.h) */
  int64_t spm_proto_len;
  /* seq2seq --separate-vocab: the sources' vocabulary (else src_vocab = vocab, the same size) */
  int64_t src_vocab_size, src_unk_id;
  char **src_vocab;
  int separate_vocab;
  unsigned char *src_spm_proto; /* spm level --separate-vocab: the sources' model (else NULL) */
  int64_t src_spm_proto_len;
  int64_t eos_id, unk_id; /* -1 when absent */
  enum model_task task;
  int64_t n_out;    /* labels or tags */
  char **out_names; /* (n_out) label or tag names */
  ds_split split[SPLIT_COUNT];
  /* LEVEL_REAL: features per step, their names, the training split's mean and std (each D) */
  int n_features;
  int horizon; /* forecast: a step's target is the frame this many steps ahead (set by the reader,
                  1 by default) */
  char **feature_names;
  double *feature_mean, *feature_std;
  /* --cond-features: condlm a vector of n_cond_features per sequence instead of a label (no label
   * names then), seq2seq a source of such frames instead of text; their names and the training
   * split's mean and std */
  int n_cond_features;
  char **cond_names;
  double *cond_mean, *cond_std;
  int n_files;
  int64_t *files; /* (n_files) HDF5 file ids; the header stays free of hdf5.h */
  char **file_paths;
} dataset;

/* Open and validate a dataset (format, version, vocabulary, dtypes, shapes, monotonic offsets).
 * Any violation ends the process with an error naming file and object. */
dataset *dataset_open(const char *path);
void dataset_close(dataset *ds);

/* Read global tokens [start, start+count) of a split into out, checking every id < vocab_size. */
void dataset_read(const dataset *ds, int split, uint64_t start, uint64_t count, int32_t *out);
/* The first global token of sequence i of a split (i <= n_seq: n_seq gives n_tok). */
uint64_t dataset_seq_start(const dataset *ds, int split, uint64_t i);
static inline uint64_t dataset_seq_len(const dataset *ds, int split, uint64_t i) {
  return dataset_seq_start(ds, split, i + 1) - dataset_seq_start(ds, split, i);
}

/* LEVEL_REAL: read steps [start, start+count) of a split, (count, n_features) float32, checking
 * that every value is finite. */
void dataset_read_values(const dataset *ds, int split, uint64_t start, uint64_t count, float *out);

/* Sort sequence ids of a split longest first, ties by id. */
void dataset_sort_by_length(const dataset *ds, int split, uint64_t *ids, uint64_t n);

/* seq2seq: read global source tokens [start, start+count), checking every id < vocab_size. */
void dataset_read_src(const dataset *ds, int split, uint64_t start, uint64_t count, int32_t *out);
uint64_t dataset_src_start(const dataset *ds, int split, uint64_t i);
static inline uint64_t dataset_src_len(const dataset *ds, int split, uint64_t i) {
  return dataset_src_start(ds, split, i + 1) - dataset_src_start(ds, split, i);
}

/* condlm --cond-features: sequence seq's vector (n_cond_features floats), checked finite. */
void dataset_read_cond(const dataset *ds, int split, uint64_t seq, float *out);

/* seq2seq --cond-features: source frames [start, start+count) (count, n_cond_features), checked
 * finite. */
void dataset_read_src_values(const dataset *ds, int split, uint64_t start, uint64_t count,
                             float *out);

/* Read the tags of global tokens [start, start+count) (tag task), checking each < n_out. */
void dataset_read_tags(const dataset *ds, int split, uint64_t start, uint64_t count, int32_t *out);

/* Bytes of token id as text: writes up to cap bytes into buf, returns the length. */
int dataset_token_text(const dataset *ds, int64_t id, char *buf, int cap);
/* seq2seq: the same for a source token id */
int dataset_src_token_text(const dataset *ds, int64_t id, char *buf, int cap);
/* The separator text written after each sequence when decoding (e.g. "\n"). */
const char *dataset_seq_delim(const dataset *ds, char *buf, int cap);

#endif

/* prepare-impl: the state of a preparation shared by its parts (not a public API).
 *   prepare.c          the driver: inputs, the split plan, the parallel passes, the index file
 *   prepare_segment.c  bytes -> sequences (line, paragraph, separator, file) and tokens; labeled
 *                      lines
 *   prepare_shard.c    split writers and shard files; emitting token ids
 *   prepare_vocab.c    the word table, the vocabulary, the dataset's metadata
 *   prepare_real.c     --level real: numbers per step (forecast, classify, tag)
 *   prepare_cond.c     --cond-features: a vector (condlm) or frames (seq2seq) per id
 *   prepare_csv.c      CSV/TSV lines, fields, numbers, and per-feature statistics for both
 * Pass 1 counts symbols, sequences and tokens per split; pass 2 encodes and appends to chunked,
 * checksummed HDF5 datasets. Memory is bounded by the vocabulary, never by the corpus. */
#ifndef RECUR_PREPARE_IMPL_H
#define RECUR_PREPARE_IMPL_H

#include "recur/prepare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/h5.h"
#include "recur/tokenize.h"

#define MAX_CP     0x110000
#define READ_BLOCK (1 << 20)
#define TBUF       65536

/* ---- word hash table: string -> (count, id) ---- */
typedef struct {
  uint64_t hash, count;
  /* word level: occurrences after a word token (a run of letters, digits...), and of those the
   * ones with no space between; before a word token, and with no space; a mark after a mark
   * ("--", "?!"), and with no space */
  uint64_t after_word, glued_before, before_word, glued_after, after_mark, glued_mark;
  uint32_t off, len;
  int32_t id;
} wentry;
typedef struct {
  wentry *e;
  uint64_t cap, n;
  char *arena;
  uint64_t arena_n, arena_cap;
} wtable;

/* ---- prepare_csv.c: CSV and TSV reading for --level real and --cond-features ---- */
/* the lines of a file without their line ends, numbered from 1 */
typedef struct {
  FILE *in;
  char *line;
  size_t cap;
  uint64_t lineno;
} csv_lines;
void csv_open(csv_lines *L, const char *file, const char *path); /* path names it in errors */
char *csv_next(csv_lines *L); /* the next line (no line end), or NULL at the end */
/* closes; a file without a single line (not even a header) is an error with this hint */
void csv_close(csv_lines *L, const char *path, const char *hint);
/* fields of line split at delim, in place, into f (at most cap); returns how many */
int csv_fields(char *line, char delim, char **f, int cap);
char *csv_trim(char *s); /* without leading and trailing spaces (and a trailing CR) */
/* a field as a finite float32, or a one-line error naming file, line and column */
float csv_num(const char *s, const char *path, uint64_t lineno, const char *col);
/* a header row split at its delimiter (a tab if it has one, else a comma: *delim) and trimmed:
 * malloc'd pointers into line, *n of them */
char **csv_header(char *line, int *n, char *delim);
/* the first header's names: none empty, none twice, else an error at where */
void csv_check_names(char *const *f, int n, const char *where);
/* per-feature sums of training rows, and the mean and std they give (a constant feature std 1),
 * written as two float64 datasets */
void prep_stats_add(double *sum, double *sum2, const float *row, int D);
void prep_stats_write(hid_t f, const char *mean_name, const char *std_name, const double *sum,
                      const double *sum2, uint64_t n_rows, int D);

/* ---- --cond-features (prepare_cond.c): rows of numbers per id: condlm one vector, seq2seq a
 * source sequence of frames (an id's rows together) ---- */
typedef struct prep_cond {
  char *path;
  char **names; /* (D) feature names */
  int D;
  int64_t n;          /* rows */
  char **ids;         /* (n) each row's id */
  float *rows;        /* (n, D) */
  uint64_t *line;     /* (n) CSV line of each (NULL for HDF5) */
  int64_t ng;         /* ids (groups of consecutive rows with the same id) */
  int64_t *start;     /* (ng + 1) group g is rows [start[g], start[g+1]) */
  int64_t *order;     /* (ng) groups sorted by id */
  double *sum, *sum2; /* the training split's rows */
  uint64_t n_train;
} prep_cond;
/* frames: an id may have several rows (together), else one */
prep_cond *prep_cond_load(const char *path, int frames);
/* the group of id (len bytes), or a one-line error at where */
int64_t prep_cond_find(const prep_cond *c, const char *id, int len, const char *where);
/* a training sequence's rows, for the statistics */
void prep_cond_add(prep_cond *c, int64_t g);
void prep_cond_write(const prep_cond *c, hid_t f); /* names, n_cond_features, cond_mean/std */
void prep_cond_free(prep_cond *c);

/* ---- split writers ---- */
typedef struct {
  h5_appender tok, off;
  uint64_t ntok, nseq;
  uint32_t tbuf[TBUF];
  int nt;
  int width; /* bytes per token in the file: 1, 2 or 4 */
  unsigned char nbuf[TBUF * 4];
  h5_appender lab;              /* classify: a label per sequence */
  h5_appender cond;             /* condlm --cond-features: a vector per sequence */
  h5_appender tag;              /* tag: a tag per token */
  h5_appender src_tok, src_off; /* seq2seq: the source side of each sequence */
  uint64_t src_ntok;
  uint64_t seq_start;
} split_writer;

typedef struct {
  hid_t f;
  char *tmp, *final; /* written under tmp, renamed to final when every shard is complete */
  split_writer w[SPLIT_COUNT];
  uint64_t ntok;
} shard;

/* ---- the whole preparation ---- */
typedef struct {
  const prepare_opts *o;
  double val; /* the validation fraction in force (o->val, or 0 for a small input by default) */
  enum seg_mode mode;
  int delimited, pass;
  const char *cur_file;
  /* pass 1 */
  uint64_t *cp_count; /* (MAX_CP) char level */
  uint64_t byte_count[256];
  wtable words;
  uint64_t n_seq, n_tok, n_content, seq_tok;
  uint64_t split_seq[SPLIT_COUNT];
  uint64_t force_val, force_test; /* train sequences with the smallest draws */
  /* vocabulary */
  int64_t vocab_size, eos_id, unk_id;
  char **vocab;
  unsigned char *glue; /* word level: (vocab_size) TOKEN_GLUE_* bits, or NULL */
  spm_model *spm;      /* spm level: the SentencePiece model (prepare_spm.c) */
  int32_t *cp_id;      /* (MAX_CP) char -> id */
  hid_t tok_type;
  char glue_prev[TOKEN_WORD_MAX];  /* pass 1, word level: the token before (its glued_after), */
  int glue_prev_n, glue_prev_word; /* whether it is a word, its slot in the table e */
  int64_t glue_prev_slot;
  const wentry *glue_prev_table;
  /* pass 2 */
  int cur_split;
  uint64_t gpos, cut[2]; /* none mode: global token cut points train|val|test */
  uint64_t limit;        /* see update_limit */
  uint64_t split_key;
  int rank, world;             /* ranks sharing the work (1 when one rank does it all) */
  int sharded;                 /* output is an index plus shard files */
  uint64_t seq_base, tok_base; /* global index of this rank's first sequence and token */
  /* classify / tag */
  wtable outs; /* label or tag names -> (count, id) */
  char **out_names;
  int64_t n_out;
  uint32_t cur_label; /* (--cond-features: the row of the line's id) */
  prep_cond *cond;
  uint32_t *line_tags;
  uint64_t n_line_tags, cap_line_tags;
  uint64_t lineno;
  /* seq2seq: the source side of the line being read goes to src_ids (pass 2), not the writer */
  int src_side;
  uint32_t *src_ids;
  uint64_t n_src, cap_src;
  uint64_t side_left; /* seq2seq --max-len: tokens the side being read may still have */
  int side_cut;       /* ... and whether it lost some */
  uint64_t n_cut[2];  /* pass 1: sources and targets cut */
  /* --separate-vocab: the sources' tables, swapped with the ones above while a source is read
   * (prep_side_swap), so the tokenizer's callbacks count and look up in them */
  struct prep_vocab_side {
    uint64_t *cp_count;
    wtable words;
    int32_t *cp_id;
    char **vocab;
    unsigned char *glue;
    int64_t vocab_size, eos_id, unk_id;
    hid_t tok_type;
    spm_model *spm; /* spm level: the sources' SentencePiece model */
  } side;
  shard *sh;    /* the shard being written */
  shard **done; /* finished shards, renamed at the end */
  int n_done;
  int n_shards;
  char **shard_names;
  int seq_open;
  tokenizer tok;
  /* segmenter state */
  int line_bytes, pending_nl, in_par, seq_has_content;
  char pend[512];
  int npend, pend_match, in_content_line;
  uint64_t pend_off;
} prep;

/* ---- prepare_vocab.c ---- */
/* --separate-vocab: exchange the vocabulary tables in use with the sources' (no-op without) */
void prep_side_swap(prep *p);
/* --separate-vocab: build the sources' vocabulary from their counts */
void prep_build_src_vocab(prep *p);
wentry *prep_wt_find(wtable *t, const char *s, int n, int insert);
wentry **prep_wt_sorted(const wtable *t, int by_count, uint64_t *n);
void prep_wt_free(wtable *t);
void prep_build_vocab(prep *p);
void prep_write_metadata(prep *p, hid_t f);
/* word level under mpirun: every rank's counts summed into every rank's table */
void prep_words_allmerge(prep *p);
/* ---- prepare_shard.c ---- */
int prep_split_of_seq(prep *p, uint64_t i);
void prep_writer_flush_tokens(split_writer *w);
void prep_shard_open(prep *p);
void prep_shard_close(prep *p);
void prep_seq_close(prep *p);
void prep_shard_rotate(prep *p);
void prep_update_limit(prep *p);
void prep_emit_slow(prep *p);
_Noreturn void prep_fail_not_in_vocab(const prep *p, uint32_t cp, uint64_t off);
void prep_emit_run(prep *p, const unsigned char *b, size_t n, const int32_t *map, uint64_t off);
const int32_t *prep_identity_map(void);
/* ---- prepare_real.c ---- */
void prep_real_run(const prepare_opts *o, char **files, int nf);
/* ---- prepare_segment.c ---- */
void prep_push_src(prep *p, uint32_t id);
void prep_tok_fail(void *ctx, enum token_error e, uint64_t off);
void prep_tok_run(void *ctx, const unsigned char *b, size_t n, uint64_t off);
void prep_tok_char(void *ctx, uint32_t cp, uint64_t off);
void prep_tok_word(void *ctx, const char *w, int n);
/* ---- prepare_spm.c: --level spm|bpe|unigram ---- */
/* the model (loaded, from --vocab's dataset, or trained on a sample of files), before pass 1 */
void prep_spm_setup(prep *p, char **files, int nf);
void prep_spm_vocab(prep *p); /* its pieces as the vocabulary */
/* the first pass's ids kept for the second, which reads them back instead of encoding again (a
 * file next to the output, unlinked as soon as it is open): started before pass 1 (replay 0),
 * rewound before pass 2 (replay 1), closed after it (replay -1) */
void prep_spm_spool(prep *p, int replay);
void prep_tok_id(void *ctx, int32_t id); /* the tokenizer's ids */
/* a part of an input file a rank reads: bytes [lo, hi) of files[file] (hi = its size: to its end)
 */
typedef struct {
  int file;
  uint64_t lo, hi, size;
} prep_piece;
void prep_pass_over(prep *p, char **files, const prep_piece *pc, int n);
/* An input as messages name it: "standard input" for the spool file of -, else the path. */
const char *prep_input_name(const char *path);

/* the split draw of sequence i: uniform in [0,1), a pure function of (seed, i) */
static inline float split_draw(const prep *p, uint64_t i) {
  return rng_uniform(rng_mix(p->split_key ^ (i * 0x9e3779b97f4a7c15ULL)));
}

/* k ids were placed at w->tbuf[w->nt..]: count them, flush a full buffer */
static inline void emitted(prep *p, split_writer *w, size_t k) {
  w->nt += (int)k;
  w->ntok += k;
  p->sh->ntok += k;
  p->gpos += k;
  p->seq_open = 1;
  if (w->nt == TBUF) prep_writer_flush_tokens(w);
}

/* seq2seq --max-len: whether one more token fits in the side being read */
static inline int prep_side_room(prep *p) {
  if (p->side_left == 0) return p->side_cut = 1, 0;
  p->side_left--;
  return 1;
}

static inline void emit_id(prep *p, uint32_t id) {
  if (p->gpos >= p->limit) prep_emit_slow(p);
  split_writer *w = &p->sh->w[p->cur_split];
  w->tbuf[w->nt] = id;
  emitted(p, w, 1);
}

#endif

/* recur decode: write a dataset split back as text (words spaced as the corpus spaced them), or
 * as CSV for real-valued data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "recur/opts.h"
#include "recur/ckpt.h"
#include "recur/train.h"
#include "recur/core.h"
#include "recur/spm.h"
#include "recur/tokenize.h"
#include "recur/dataset.h"
#include "recur/h5.h"
#include "recur/json.h"
#include "recur/model.h"

typedef struct {
  enum ds_split_id split;
} decode_flags;
static const opt_def DECODE_DEFS[] = {
    {"--split", NULL, OPT_CHOICE, OPT_FIELD(decode_flags, split), 0, 0, ds_split_names, "train",
     NULL, "which split", 0},
};
static const opt_table DECODE = {
    "decode", "usage: recur decode D.h5 [--split train|val|test]   (a split back as text)", NULL,
    DECODE_DEFS, 1};

/* spm level: a sequence's ids are gathered and decoded whole, as SentencePiece decodes them (a
 * source with the sources' model when it has its own) */
static spm_model *g_spm, *g_src_spm;
static int32_t *g_ids;
static int64_t g_n, g_cap;
static void spm_flush(int src) {
  if (!g_spm) return;
  char err[512];
  char *text = spm_decode(src && g_src_spm ? g_src_spm : g_spm, g_ids, g_n, err, sizeof err);
  if (!text) recur_fail("SentencePiece", NULL, "cannot decode: %s", err);
  fputs(text, stdout);
  free(text); /* the shim's */
  g_n = 0;
}

/* tokens as text: words spaced as the corpus spaced them (tokenize.h), other levels as they are */
static void put_text(const dataset *ds, const int32_t *tok, uint64_t n, token_spacer *sp, int src) {
  if (g_spm) { /* gathered until the sequence (or its source) ends */
    if (g_n + (int64_t)n > g_cap)
      g_ids = xrealloc(g_ids, (size_t)(g_cap = 2 * (g_n + (int64_t)n)) * sizeof(int32_t));
    for (uint64_t i = 0; i < n; i++)
      if (src || tok[i] != ds->eos_id) g_ids[g_n++] = tok[i];
    return;
  }
  char text[1024];
  const unsigned char *glue = src && ds->separate_vocab ? NULL : ds->vocab_glue;
  for (uint64_t i = 0; i < n; i++) {
    int len = src ? dataset_src_token_text(ds, tok[i], text, sizeof text)
                  : dataset_token_text(ds, tok[i], text, sizeof text);
    if (ds->level == LEVEL_WORD && len &&
        token_spacer_next(sp, glue, src ? ds->src_vocab : ds->vocab, tok[i]))
      putchar(' ');
    fwrite(text, 1, (size_t)len, stdout);
  }
}

/* --level real: CSV with the header, a row per step (float32 values written exactly, %.9g), a blank
 * line between sequences: what prepare reads back (classify, tag: the label or tag column last) */
static void decode_real(const dataset *ds, int split) {
  const ds_split *sp = &ds->split[split];
  const int D = ds->n_features, cls = task_is(ds->task)->pooled, tag = task_is(ds->task)->tags;
  char col[256] = "";
  if (cls || tag) {
    snprintf(col, sizeof col, "%s", cls ? "label" : "tag");
    h5_attr_get_str((hid_t)ds->files[0], cls ? "label_column" : "tag_column", col, sizeof col);
  }
  for (int i = 0; i < D; i++) printf("%s%s", i ? "," : "", ds->feature_names[i]);
  printf("%s%s\n", *col ? "," : "", col);
  float *v = xmalloc((size_t)D * 4096 * sizeof(float));
  int32_t *tags = tag ? xmalloc(4096 * sizeof(int32_t)) : NULL;
  for (uint64_t q = 0; q < sp->n_seq; q++) {
    if (q) putchar('\n');
    const uint64_t a = dataset_seq_start(ds, split, q), e = dataset_seq_start(ds, split, q + 1);
    for (uint64_t pos = a; pos < e; pos += 4096) {
      uint64_t n = e - pos < 4096 ? e - pos : 4096;
      dataset_read_values(ds, split, pos, n, v);
      if (tag) dataset_read_tags(ds, split, pos, n, tags);
      for (uint64_t s = 0; s < n; s++) {
        for (int i = 0; i < D; i++) printf("%s%.9g", i ? "," : "", (double)v[s * D + i]);
        if (cls) printf(",%s", ds->out_names[sp->labels[q]]);
        if (tag) printf(",%s", ds->out_names[tags[s]]);
        putchar('\n');
      }
    }
  }
  xfree(tags);
  xfree(v);
}

int cmd_decode(int argc, char **argv) {
  const char *path = NULL;
  decode_flags fl;
  int np = 0;
  opts_default(&DECODE, &fl);
  if (opts_parse(&DECODE, &fl, NULL, argc, argv, &path, 1, &np)) return 0;
  const enum ds_split_id split = fl.split;
  if (!path) recur_usage_fail("recur decode D.h5 [--split train|val|test]", "no dataset given");
  core_errors_agreed(0); /* rank 0 alone reads */
  if (core_rank() != 0) return 0;
  dataset *ds = dataset_open(path);
  if (ds->level == LEVEL_REAL) {
    decode_real(ds, split);
    dataset_close(ds);
    return 0;
  }
  if (ds->level == LEVEL_SPM) {
    char err[512];
    g_spm = spm_load(ds->spm_proto, (size_t)ds->spm_proto_len, err, sizeof err);
    if (!g_spm) recur_fail(path, NULL, "its SentencePiece model does not load: %s", err);
    if (ds->src_spm_proto &&
        !(g_src_spm = spm_load(ds->src_spm_proto, (size_t)ds->src_spm_proto_len, err, sizeof err)))
      recur_fail(path, NULL, "its sources' SentencePiece model does not load: %s", err);
  }
  char dbuf[300];
  const char *delim = dataset_seq_delim(ds, dbuf, sizeof dbuf);
  int32_t *tok = xmalloc(DATASET_CHUNK * sizeof(int32_t));
  char text[1024];
  const ds_split *sp = &ds->split[split];
  int32_t *tags = task_is(ds->task)->tags ? xmalloc(DATASET_CHUNK * sizeof(int32_t)) : NULL;
  float *cv = ds->n_cond_features ? xmalloc((size_t)ds->n_cond_features * sizeof(float)) : NULL;
  for (uint64_t q = 0; q < sp->n_seq; q++) {
    token_spacer spc = TOKEN_SPACER_INIT;
    const uint64_t a = dataset_seq_start(ds, split, q), e = dataset_seq_start(ds, split, q + 1);
    const uint64_t sa = task_is(ds->task)->source ? dataset_src_start(ds, split, q) : 0,
                   se = task_is(ds->task)->source ? dataset_src_start(ds, split, q + 1) : 0;
    if (cv && task_is(ds->task)->source) { /* --cond-features: frames (;) of features (,) */
      for (uint64_t pos = sa; pos < se; pos++) {
        dataset_read_src_values(ds, split, pos, 1, cv);
        for (int i = 0; i < ds->n_cond_features; i++)
          printf("%s%.9g", i ? "," : pos > sa ? ";" : "", (double)cv[i]);
      }
      putchar('\t');
    } else if (cv) { /* condlm --cond-features: the sequence's vector, then its text */
      dataset_read_cond(ds, split, q, cv);
      for (int i = 0; i < ds->n_cond_features; i++) printf("%s%.9g", i ? "," : "", (double)cv[i]);
      putchar('\t');
    } else if (task_is(ds->task)->labels) {
      printf("%s\t", ds->out_names[sp->labels[q]]);
    }
    if (task_is(ds->task)->source && !cv) { /* source<TAB>target */
      for (uint64_t pos = sa; pos < se; pos += DATASET_CHUNK) {
        uint64_t n = se - pos < DATASET_CHUNK ? se - pos : DATASET_CHUNK;
        dataset_read_src(ds, split, pos, n, tok);
        put_text(ds, tok, n, &spc, 1);
      }
      spm_flush(1);
      putchar('\t');
      spc = (token_spacer)TOKEN_SPACER_INIT;
    }
    for (uint64_t pos = a; pos < e; pos += DATASET_CHUNK) {
      uint64_t n = e - pos < DATASET_CHUNK ? e - pos : DATASET_CHUNK;
      dataset_read(ds, split, pos, n, tok);
      if (tags) dataset_read_tags(ds, split, pos, n, tags);
      if (!tags || ds->level != LEVEL_WORD) {
        put_text(ds, tok, n, &spc, 0);
        continue;
      }
      for (uint64_t i = 0; i < n; i++) { /* word/TAG tokens */
        dataset_token_text(ds, tok[i], text, sizeof text);
        printf("%s%s/%s", i || pos > a ? " " : "", text, ds->out_names[tags[i]]);
      }
    }
    if (tags && ds->level != LEVEL_WORD) { /* text<TAB>tags */
      putchar('\t');
      for (uint64_t pos = a; pos < e; pos += DATASET_CHUNK) {
        uint64_t n = e - pos < DATASET_CHUNK ? e - pos : DATASET_CHUNK;
        dataset_read_tags(ds, split, pos, n, tags);
        for (uint64_t i = 0; i < n; i++) fputs(ds->out_names[tags[i]], stdout);
      }
    }
    spm_flush(0);
    if (g_spm && delim[0] && delim[0] != '\n') putchar('\n'); /* the separator on its own line */
    fputs(delim, stdout);
  }
  if (g_spm) spm_free(g_spm), xfree(g_ids);
  if (g_src_spm) spm_free(g_src_spm);
  xfree(tags);
  xfree(cv);
  xfree(tok);
  dataset_close(ds);
  return 0;
}

/* dataset: open and validate recur-dataset files and shard sets (the real-valued parts in
 * dataset_real.c), close them; a token's text. Reading ranges: dataset_read.c. */
#include "recur/dataset.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset-impl.h"
#include "recur/core.h"
#include "recur/h5.h"

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "dataset.h keeps HDF5 ids as int64_t");

const char *const ds_split_names[SPLIT_COUNT + 1] = {"train", "val", "test", NULL};

static void check_header(hid_t f, const char *path, const char *want_format) {
  char fmt[64] = "";
  int64_t ver = 0;
  char *where = core_path("%s:/", path);
  if (!h5_attr_get_str(f, "format", fmt, sizeof fmt))
    recur_fail(where, "make datasets with `recur prepare`",
               "missing 'format' attribute: not a recur dataset");
  if (strcmp(fmt, want_format) != 0)
    recur_fail(where, "make datasets with `recur prepare`", "format is '%s', expected '%s'", fmt,
               want_format);
  if (!h5_attr_get_i64(f, "version", &ver) || ver != DATASET_VERSION)
    recur_fail(where, "this recur reads version 1", "unsupported version %lld", (long long)ver);
  xfree(where);
}

hid_t ds_open_offsets(hid_t g, const char *path, const char *name, const char *offname,
                      int64_t *entries) {
  char *where = core_path("%s:/%s/%s", path, name, offname);
  if (H5Lexists(g, offname, H5P_DEFAULT) <= 0) recur_fail(where, NULL, "missing dataset");
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  H5Pset_chunk_cache(dapl, 0, 0, 0.75);
  hid_t off = H5Dopen2(g, offname, dapl);
  H5Pclose(dapl);
  hid_t ot = off >= 0 ? H5Dget_type(off) : -1;
  if (off < 0 || H5Tget_class(ot) != H5T_INTEGER || H5Tget_size(ot) != 8)
    recur_fail(where, NULL, "offsets must be 64-bit integers");
  H5Tclose(ot);
  *entries = h5_len_1d(off);
  if (*entries < 1) recur_fail(where, NULL, "offsets must be 1-D with n_sequences + 1 entries");
  xfree(where);
  return off;
}

/* Opens path:/<split>/{tokname, offname} of one part and checks their types: the tokens dataset
 * (left open) and the offsets dataset (its entries in noff_out). */
static hid_t open_stream(hid_t g, const char *path, const char *name, const char *tokname,
                         const char *offname, hid_t *tok_out, int64_t *ntok_out, int64_t *noff_out,
                         int width) {
  char *where = core_path("%s:/%s/%s", path, name, tokname);
  if (H5Lexists(g, tokname, H5P_DEFAULT) <= 0) recur_fail(where, NULL, "missing dataset");
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  H5Pset_chunk_cache(dapl, 1009, 8u << 20, 0.75);
  hid_t tok = H5Dopen2(g, tokname, dapl);
  H5Pclose(dapl);
  hid_t tt = H5Dget_type(tok);
  int64_t ntok = -1;
  if (width > 0) { /* frames: (steps, width) floats */
    hid_t sps = H5Dget_space(tok);
    hsize_t dims[2] = {0, 0};
    if (tok < 0 || H5Tget_class(tt) != H5T_FLOAT || H5Sget_simple_extent_ndims(sps) != 2 ||
        H5Sget_simple_extent_dims(sps, dims, NULL) != 2 || (int64_t)dims[1] != width)
      recur_fail(where, NULL, "values must be floats of shape (steps, %d)", width);
    H5Sclose(sps);
    ntok = (int64_t)dims[0];
  } else {
    if (tok < 0 || H5Tget_class(tt) != H5T_INTEGER || H5Tget_sign(tt) != H5T_SGN_NONE ||
        H5Tget_size(tt) > 4)
      recur_fail(where, NULL, "tokens must be unsigned integers of at most 32 bits");
    ntok = h5_len_1d(tok);
  }
  H5Tclose(tt);
  *tok_out = tok;
  *ntok_out = ntok;
  if (ntok < 0) recur_fail(where, NULL, "tokens must be 1-D");
  xfree(where);
  return ds_open_offsets(g, path, name, offname, noff_out);
}

/* tag: a split group's tags, one per token (step) */
hid_t ds_open_tags(hid_t g, const char *path, const char *name, int64_t ntok) {
  char *where = core_path("%s:/%s/tags", path, name);
  if (H5Lexists(g, "tags", H5P_DEFAULT) <= 0) recur_fail(where, NULL, "missing dataset");
  hid_t tags = H5Dopen2(g, "tags", H5P_DEFAULT);
  if (tags < 0 || h5_len_1d(tags) != ntok)
    recur_fail(where, NULL, "expected %lld tags, one per token", (long long)ntok);
  xfree(where);
  return tags;
}

/* classify, condlm: a split group's labels, one per sequence, each < n_out (malloc'd, nseq + 1) */
int32_t *ds_read_labels(const dataset *ds, hid_t g, const char *path, const char *name,
                        int64_t nseq) {
  char *where = core_path("%s:/%s/labels", path, name);
  if (H5Lexists(g, "labels", H5P_DEFAULT) <= 0) recur_fail(where, NULL, "missing dataset");
  hid_t ld = H5Dopen2(g, "labels", H5P_DEFAULT);
  if (ld < 0 || h5_len_1d(ld) != nseq)
    recur_fail(where, NULL, "expected %lld labels, one per sequence", (long long)nseq);
  int32_t *labels = xmalloc((size_t)(nseq + 1) * sizeof(int32_t));
  if (nseq > 0 && h5_read_range(ld, H5T_NATIVE_INT32, 0, (uint64_t)nseq, labels) < 0)
    recur_fail(where, "the file is truncated or damaged (checksum)", "cannot read labels");
  for (int64_t i = 0; i < nseq; i++)
    if (labels[i] < 0 || labels[i] >= ds->n_out)
      recur_fail(where, "the dataset is damaged; prepare it again",
                 "label %d at index %lld >= %lld labels", labels[i], (long long)i,
                 (long long)ds->n_out);
  H5Dclose(ld);
  xfree(where);
  return labels;
}

/* label_names or tag_names of a classify, tag or condlm dataset */
void ds_read_out_names(dataset *ds, hid_t f, const char *path) {
  ds->out_names =
      h5_read_strings(f, task_is(ds->task)->labels ? "label_names" : "tag_names", &ds->n_out, path);
  if (ds->n_out < 1) {
    char *where = core_path("%s:/", path);
    recur_fail(where, NULL, "no label or tag names");
  }
}

/* Opens path:/<split>/{tokens,offsets} (seq2seq: and src_*), checks them, appends the part to sp.
 */
static void add_part(dataset *ds, int split, hid_t file, int file_idx, const char *path) {
  ds_split *sp = &ds->split[split];
  const char *name = ds_split_names[split];
  char *where = NULL;
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
    xfree(where), where = core_path("%s:/%s", path, name);
    recur_fail(where, NULL, "missing split group");
  }
  hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
  int64_t ntok, noff;
  hid_t tok;
  hid_t o = open_stream(g, path, name, "tokens", "offsets", &tok, &ntok, &noff, 0);
  hid_t src = -1, so = -1;
  int64_t nsrc = 0, nsoff = 0;
  if (task_is(ds->task)->source) {
    const int D = ds->n_cond_features; /* --cond-features: the sources are frames */
    so = open_stream(g, path, name, D ? "src_values" : "src_tokens", "src_offsets", &src, &nsrc,
                     &nsoff, D);
    if (nsoff != noff) {
      xfree(where), where = core_path("%s:/%s/src_offsets", path, name);
      recur_fail(where, "the dataset is damaged; prepare it again",
                 "%lld source sequences for %lld targets", (long long)(nsoff - 1),
                 (long long)(noff - 1));
    }
  }

  hid_t tags = task_is(ds->task)->tags ? ds_open_tags(g, path, name, ntok) : -1;
  const int cond = ds->n_cond_features > 0 && task_is(ds->task)->label_cond;
  int32_t *labels =
      task_is(ds->task)->labels && !cond ? ds_read_labels(ds, g, path, name, noff - 1) : NULL;
  hid_t cd = -1;
  if (cond) { /* condlm --cond-features: (sequences, features) vectors, read when used */
    xfree(where), where = core_path("%s:/%s/cond", path, name);
    cd = H5Lexists(g, "cond", H5P_DEFAULT) > 0 ? H5Dopen2(g, "cond", H5P_DEFAULT) : -1;
    hsize_t dims[2] = {0, 0};
    hid_t sps = cd >= 0 ? H5Dget_space(cd) : -1;
    if (sps < 0 || H5Sget_simple_extent_ndims(sps) != 2 ||
        H5Sget_simple_extent_dims(sps, dims, NULL) != 2 || (int64_t)dims[0] != noff - 1 ||
        (int64_t)dims[1] != ds->n_cond_features)
      recur_fail(where, "the dataset is damaged; prepare it again",
                 "missing, or not a (%lld, %d) array: a vector per sequence", (long long)(noff - 1),
                 ds->n_cond_features);
    H5Sclose(sps);
  }

  /* append */
  uint64_t base = sp->n_tok;
  if (!sp->index) sp->index = ds_index_new();
  xfree(where), where = core_path("%s:/%s/offsets", path, name);
  ds_index_add(sp->index, o, (uint64_t)noff, base, (uint64_t)ntok, where);
  sp->n_seq += (uint64_t)noff - 1;
  sp->n_tok += (uint64_t)ntok;
  sp->tokens = xrealloc(sp->tokens, (size_t)(sp->n_parts + 1) * sizeof(int64_t));
  sp->part_file = xrealloc(sp->part_file, (size_t)(sp->n_parts + 1) * sizeof(int));
  sp->part_tok = xrealloc(sp->part_tok, (size_t)(sp->n_parts + 2) * sizeof(uint64_t));
  sp->tags = xrealloc(sp->tags, (size_t)(sp->n_parts + 1) * sizeof(int64_t));
  sp->tags[sp->n_parts] = tags;
  if (cond) {
    sp->cond = xrealloc(sp->cond, (size_t)(sp->n_parts + 1) * sizeof(int64_t));
    sp->part_seq = xrealloc(sp->part_seq, (size_t)(sp->n_parts + 2) * sizeof(uint64_t));
    sp->cond[sp->n_parts] = cd;
    sp->part_seq[sp->n_parts] = sp->n_seq - ((uint64_t)noff - 1);
    sp->part_seq[sp->n_parts + 1] = sp->n_seq;
  }
  if (labels) {
    sp->labels = xrealloc(sp->labels, (size_t)(sp->n_seq + 1) * sizeof(int32_t));
    memcpy(sp->labels + (sp->n_seq - ((uint64_t)noff - 1)), labels,
           (size_t)(noff - 1) * sizeof(int32_t));
    xfree(labels);
  }
  if (task_is(ds->task)->source) { /* the source stream, parallel to the targets */
    uint64_t sbase = sp->n_src_tok;
    if (!sp->src_index) sp->src_index = ds_index_new();
    xfree(where), where = core_path("%s:/%s/src_offsets", path, name);
    ds_index_add(sp->src_index, so, (uint64_t)nsoff, sbase, (uint64_t)nsrc, where);
    sp->n_src_tok += (uint64_t)nsrc;
    sp->src_tokens = xrealloc(sp->src_tokens, (size_t)(sp->n_parts + 1) * sizeof(int64_t));
    sp->src_part_tok = xrealloc(sp->src_part_tok, (size_t)(sp->n_parts + 2) * sizeof(uint64_t));
    sp->src_tokens[sp->n_parts] = src;
    sp->src_part_tok[sp->n_parts] = sbase;
    sp->src_part_tok[sp->n_parts + 1] = sp->n_src_tok;
  }
  sp->tokens[sp->n_parts] = tok;
  sp->part_file[sp->n_parts] = file_idx;
  sp->part_tok[sp->n_parts] = base;
  sp->part_tok[sp->n_parts + 1] = sp->n_tok;
  xfree(where);
  sp->n_parts++;
  H5Gclose(g);
}

static int add_file(dataset *ds, const char *path, hid_t f) {
  ds->files = xrealloc(ds->files, (size_t)(ds->n_files + 1) * sizeof(int64_t));
  ds->file_paths = xrealloc(ds->file_paths, (size_t)(ds->n_files + 1) * sizeof(char *));
  ds->files[ds->n_files] = f;
  ds->file_paths[ds->n_files] = xstrdup(path);
  return ds->n_files++;
}

/* the vocabulary of a token dataset: its entries, the word level's spacing, the subword model,
 * <eos> and <unk> (checked against the vocabulary) */
static void ds_read_vocab(dataset *ds, hid_t f, const char *path, const char *where) {
  if (!h5_attr_get_str(f, "split_on", ds->split_on, sizeof ds->split_on))
    strcpy(ds->split_on, "none");
  h5_attr_get_str(f, "separator", ds->separator, sizeof ds->separator);
  ds->vocab = h5_read_strings(f, "vocab", &ds->vocab_size, path);
  int64_t vs = -1;
  if (!h5_attr_get_i64(f, "vocab_size", &vs) || vs != ds->vocab_size)
    recur_fail(where, NULL, "attribute vocab_size (%lld) disagrees with /vocab (%lld entries)",
               (long long)vs, (long long)ds->vocab_size);
  if (ds->vocab_size < 1) recur_fail(where, NULL, "empty vocabulary");
  if (ds->level == LEVEL_WORD) ds->vocab_glue = h5_read_bytes_opt(f, "vocab_glue", vs, path);
  if (ds->level == LEVEL_SPM) { /* the model every later use encodes and decodes with */
    ds->spm_proto = h5_read_bytes_opt(f, "spm_model", -1, path);
    if (!ds->spm_proto) recur_fail(where, NULL, "an spm-level dataset without /spm_model");
    ds->spm_proto_len = h5_bytes_len(f, "spm_model");
  }
  if (ds->level == LEVEL_BYTE && ds->vocab_size < 256)
    recur_fail(where, NULL, "byte-level vocabulary must have 256 byte entries");
  if (!h5_attr_get_i64(f, "eos_id", &ds->eos_id)) ds->eos_id = -1;
  if (!h5_attr_get_i64(f, "unk_id", &ds->unk_id)) ds->unk_id = -1;
  if (ds->eos_id < -1 || ds->eos_id >= ds->vocab_size)
    recur_fail(where, NULL, "eos_id %lld out of range", (long long)ds->eos_id);
  if (ds->unk_id < -1 || ds->unk_id >= ds->vocab_size)
    recur_fail(where, NULL, "unk_id %lld out of range", (long long)ds->unk_id);
}

/* what the dataset is for: the task, its conditioning vectors or label/tag names, and seq2seq's
 * own source vocabulary */
static void ds_read_task(dataset *ds, hid_t f, const char *path, const char *where) {
  char task[32] = "lm";
  h5_attr_get_str(f, "task", task, sizeof task);
  if (task_parse(task) < 0) recur_fail(where, NULL, "unknown task '%s'", task);
  ds->task = (enum model_task)task_parse(task);
  int64_t nc = 0;
  if ((task_is(ds->task)->label_cond || task_is(ds->task)->source) &&
      h5_attr_get_i64(f, "n_cond_features", &nc)) {
    if (nc < 1 || nc > 65536)
      recur_fail(where, NULL, "n_cond_features %lld out of range", (long long)nc);
    ds->n_cond_features = (int)nc;
    int64_t nn = 0;
    ds->cond_names = h5_read_strings(f, "cond_feature_names", &nn, path);
    if (nn != nc)
      recur_fail(where, NULL, "%lld conditioning feature names for %lld features", (long long)nn,
                 (long long)nc);
    ds_read_stats(f, path, "cond_mean", "cond_std", nc, &ds->cond_mean, &ds->cond_std);
  } else if (task_has_names(ds->task)) {
    ds_read_out_names(ds, f, path);
  }
  ds->src_vocab = ds->vocab;
  ds->src_vocab_size = ds->vocab_size;
  ds->src_unk_id = ds->unk_id;
  if (task_is(ds->task)->source && H5Lexists(f, "src_vocab", H5P_DEFAULT) > 0) {
    int64_t vs = -1;
    ds->separate_vocab = 1;
    ds->src_vocab = h5_read_strings(f, "src_vocab", &ds->src_vocab_size, path);
    if (!h5_attr_get_i64(f, "src_vocab_size", &vs) || vs != ds->src_vocab_size ||
        ds->src_vocab_size < 1)
      recur_fail(where, NULL, "attribute src_vocab_size disagrees with /src_vocab (%lld entries)",
                 (long long)ds->src_vocab_size);
    if (!h5_attr_get_i64(f, "src_unk_id", &ds->src_unk_id)) ds->src_unk_id = -1;
    if (ds->src_unk_id < -1 || ds->src_unk_id >= ds->src_vocab_size)
      recur_fail(where, NULL, "src_unk_id %lld out of range", (long long)ds->src_unk_id);
    if (ds->level == LEVEL_SPM) { /* the sources' own SentencePiece model */
      ds->src_spm_proto = h5_read_bytes_opt(f, "src_spm_model", -1, path);
      if (!ds->src_spm_proto)
        recur_fail(where, NULL, "an spm-level dataset with /src_vocab but no /src_spm_model");
      ds->src_spm_proto_len = h5_bytes_len(f, "src_spm_model");
    }
  }
}

/* an index file: every shard it names (relative to its directory), each checked to belong to it,
 * and the index's token counts checked against what the shards hold */
static void ds_open_shards(dataset *ds, hid_t f, const char *path) {
  int64_t ns = 0;
  char **names = h5_read_strings(f, "shards", &ns, path);
  char *dir = xstrdup(path); /* shard names are relative to the index file's directory */
  char *slash = strrchr(dir, '/');
  if (slash)
    slash[1] = 0;
  else
    dir[0] = 0;
  for (int64_t i = 0; i < ns; i++) {
    char *sp = core_path("%s%s", dir, names[i]);
    hid_t sf = h5_open(sp, 0);
    check_header(sf, sp, DATASET_SHARD_FORMAT);
    int64_t svs = -1;
    if (!h5_attr_get_i64(sf, "vocab_size", &svs) || svs != ds->vocab_size)
      recur_fail(sp, "the shard belongs to another dataset",
                 "shard vocab_size %lld != index vocab_size %lld", (long long)svs,
                 (long long)ds->vocab_size);
    int sfi = add_file(ds, sp, sf);
    for (int s = 0; s < SPLIT_COUNT; s++) add_part(ds, s, sf, sfi, sp);
    xfree(names[i]);
    xfree(sp);
  }
  xfree(names);
  xfree(dir);
  for (int s = 0; s < SPLIT_COUNT; s++) {
    int64_t n = -1;
    hid_t g = H5Gopen2(f, ds_split_names[s], H5P_DEFAULT);
    char *where = core_path("%s:/%s", path, ds_split_names[s]);
    if (g < 0 || !h5_attr_get_i64(g, "n_tokens", &n) || (uint64_t)n != ds->split[s].n_tok)
      recur_fail(where, "a shard is missing or truncated",
                 "index says %lld tokens, shards hold %llu", (long long)n,
                 (unsigned long long)ds->split[s].n_tok);
    xfree(where);
    H5Gclose(g);
  }
}

dataset *dataset_open(const char *path) {
  h5_init();
  dataset *ds = xcalloc(1, sizeof(dataset));
  ds->path = xstrdup(path);
  hid_t f = h5_open(path, 0);
  int fi = add_file(ds, path, f);
  check_header(f, path, DATASET_FORMAT);
  char *where = core_path("%s:/", path), level[16] = "";
  if (!h5_attr_get_str(f, "level", level, sizeof level) || (ds->level = ds_level_parse(level)) < 0)
    recur_fail(where, NULL, "attribute 'level' missing or not byte|char|word|real|spm");
  if (ds->level == LEVEL_REAL) {
    ds_open_real(ds, f, path);
    xfree(where);
    ds_check_index(ds);
    return ds;
  }
  ds_read_vocab(ds, f, path, where);
  ds_read_task(ds, f, path, where);
  xfree(where);
  if (H5Lexists(f, "shards", H5P_DEFAULT) > 0)
    ds_open_shards(ds, f, path);
  else
    for (int s = 0; s < SPLIT_COUNT; s++) add_part(ds, s, f, fi, path);
  ds_check_index(ds);
  return ds;
}

void ds_check_index(dataset *ds) {
  for (int s = 0; s < SPLIT_COUNT; s++) { /* splits with nothing: an empty index */
    ds_split *sp = &ds->split[s];
    if (!sp->index) sp->index = ds_index_new();
    if (!sp->part_tok) sp->part_tok = xcalloc(1, sizeof(uint64_t));
    if (task_is(ds->task)->source && !sp->src_index) sp->src_index = ds_index_new();
    if (task_is(ds->task)->source && !sp->src_part_tok)
      sp->src_part_tok = xcalloc(1, sizeof(uint64_t));
    ds_index_check(sp->index);
    if (sp->src_index) ds_index_check(sp->src_index);
  }
}

uint64_t dataset_seq_start(const dataset *ds, int split, uint64_t i) {
  return ds_index_at(ds->split[split].index, i);
}

uint64_t dataset_src_start(const dataset *ds, int split, uint64_t i) {
  return ds_index_at(ds->split[split].src_index, i);
}

/* a sequence id and its length, sorted longest first, ties by id */
typedef struct {
  uint64_t len, id;
} id_len;

static int longer_first(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const id_len *x = a, *y = b;
  if (x->len != y->len) return x->len > y->len ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

void dataset_sort_by_length(const dataset *ds, int split, uint64_t *ids, uint64_t n) {
  id_len *v = xmalloc((n > 0 ? n : 1) * sizeof *v); /* each length read once */
  for (uint64_t i = 0; i < n; i++) v[i] = (id_len){dataset_seq_len(ds, split, ids[i]), ids[i]};
  core_sort(v, n, sizeof *v, longer_first, NULL);
  for (uint64_t i = 0; i < n; i++) ids[i] = v[i].id;
  xfree(v);
}

void dataset_close(dataset *ds) {
  if (!ds) return;
  for (int s = 0; s < SPLIT_COUNT; s++) {
    ds_split *sp = &ds->split[s];
    for (int p = 0; p < sp->n_parts; p++) {
      if (sp->tokens) H5Dclose(sp->tokens[p]);
      if (sp->tags[p] >= 0) H5Dclose(sp->tags[p]);
      if (sp->cond) H5Dclose(sp->cond[p]);
      if (sp->src_tokens) H5Dclose(sp->src_tokens[p]);
    }
    xfree(sp->tokens);
    xfree(sp->tags);
    xfree(sp->labels);
    xfree(sp->cond);
    xfree(sp->part_seq);
    ds_index_free(sp->index);
    xfree(sp->part_tok);
    xfree(sp->part_file);
    if (ds->level == LEVEL_REAL && sp->values > 0) H5Dclose(sp->values);
    ds_index_free(sp->src_index);
    xfree(sp->src_tokens);
    xfree(sp->src_part_tok);
  }
  for (int i = 0; i < ds->n_files; i++) {
    H5Fclose(ds->files[i]);
    xfree(ds->file_paths[i]);
  }
  xfree(ds->files);
  xfree(ds->file_paths);
  if (ds->separate_vocab) {
    for (int64_t i = 0; i < ds->src_vocab_size; i++) xfree(ds->src_vocab[i]);
    xfree(ds->src_vocab);
  }
  for (int64_t i = 0; i < ds->vocab_size; i++) xfree(ds->vocab[i]);
  xfree(ds->vocab);
  xfree(ds->vocab_glue);
  xfree(ds->spm_proto);
  xfree(ds->src_spm_proto);
  for (int i = 0; i < ds->n_features; i++) xfree(ds->feature_names[i]);
  xfree(ds->feature_names);
  xfree(ds->feature_mean);
  xfree(ds->feature_std);
  for (int i = 0; i < ds->n_cond_features; i++) xfree(ds->cond_names[i]);
  xfree(ds->cond_names);
  xfree(ds->cond_mean);
  xfree(ds->cond_std);
  for (int64_t i = 0; i < ds->n_out; i++) xfree(ds->out_names[i]);
  xfree(ds->out_names);
  xfree(ds->path);
  xfree(ds);
}

int dataset_token_text(const dataset *ds, int64_t id, char *buf, int cap) {
  if (id == ds->eos_id) return 0;
  if (ds->level == LEVEL_BYTE && id < 256) {
    buf[0] = (char)id;
    return 1;
  }
  return snprintf(buf, (size_t)cap, "%s", ds->vocab[id]);
}

int dataset_src_token_text(const dataset *ds, int64_t id, char *buf, int cap) {
  if (!ds->separate_vocab) return dataset_token_text(ds, id, buf, cap);
  return id == ds->eos_id ? 0 : snprintf(buf, (size_t)cap, "%s", ds->src_vocab[id]);
}

const char *dataset_seq_delim(const dataset *ds, char *buf, int cap) {
  if (strcmp(ds->split_on, "line") == 0) return "\n";
  if (strcmp(ds->split_on, "paragraph") == 0) return "\n\n";
  if (strcmp(ds->split_on, "separator") == 0) {
    snprintf(buf, (size_t)cap, "%s\n", ds->separator);
    return buf;
  }
  return "";
}

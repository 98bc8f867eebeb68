/* prepare_spm: --level spm|bpe|unigram. The SentencePiece model is there before the first pass
 * (its pieces are the vocabulary; both passes encode with it): read from --spm-model or from
 * --vocab FROM.h5, or trained by rank 0 on a seeded sample of the input's lines (a reservoir of
 * --spm-sample lines, as spm_train --input_sentence_size draws one) and sent to every rank. */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include <mpi.h>

#include "prepare-impl.h"
#include "recur/dist.h"
#include "recur/infile.h"

enum { SIDE_BOTH, SIDE_SOURCE, SIDE_TARGET }; /* seq2seq: which side a model is trained on */

/* the text of a line as the task reads it: classify and condlm lines are label<TAB>text; seq2seq
 * lines source<TAB>target give both sides, or one (--separate-vocab: a model each) */
static void sample_line(FILE *out, const prepare_opts *o, const char *line, size_t n, int side) {
  const char *tab = memchr(line, '\t', n);
  if (!tab || task_is(o->task)->stream) {
    fwrite(line, 1, n, out);
  } else if (task_is(o->task)->source) {
    if (side != SIDE_TARGET) fwrite(line, 1, (size_t)(tab - line), out);
    if (side == SIDE_BOTH) fputc('\n', out);
    if (side != SIDE_SOURCE) fwrite(tab + 1, 1, n - (size_t)(tab + 1 - line), out);
  } else {
    fwrite(tab + 1, 1, n - (size_t)(tab + 1 - line), out);
  }
  fputc('\n', out);
}

/* rank 0: up to o->spm_sample lines of the inputs, each line's chance the same (reservoir sampling
 * keyed by --seed), written to path (seq2seq: the sides named) */
static void write_sample(const prepare_opts *o, char **files, int nf, const char *path, int side) {
  const int64_t k = o->spm_sample;
  char **keep = xcalloc((size_t)k, sizeof(char *));
  size_t *klen = xcalloc((size_t)k, sizeof(size_t));
  int64_t seen = 0;
  char *line = NULL;
  size_t cap = 0;
  for (int f = 0; f < nf; f++) {
    FILE *in = infile_open(files[f]);
    if (!in) recur_fail(prep_input_name(files[f]), NULL, "cannot open input");
    ssize_t got;
    while ((got = getline(&line, &cap, in)) >= 0) {
      while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) got--;
      if (got == 0) continue;
      if (o->split_on == SEG_SEPARATOR && o->separator && (size_t)got == strlen(o->separator) &&
          !memcmp(line, o->separator, (size_t)got))
        continue; /* a separator line is not text */
      int64_t slot =
          seen < k ? seen
                   : (int64_t)(rng_uniform(rng_key(o->seed, RNG_SPM_SAMPLE, (uint64_t)seen, 0, 0)) *
                               (double)(seen + 1));
      seen++;
      if (slot >= k) continue;
      xfree(keep[slot]);
      keep[slot] = xmalloc((size_t)got);
      memcpy(keep[slot], line, (size_t)got);
      klen[slot] = (size_t)got;
    }
    xfclose(in);
  }
  free(line); /* getline's */
  FILE *out = fopen(path, "wb");
  if (!out) recur_fail(path, "check that the output directory is writable", "cannot create");
  for (int64_t i = 0; i < k && i < seen; i++) sample_line(out, o, keep[i], klen[i], side);
  if (fclose(out) != 0) recur_fail(path, "is the disk full?", "cannot write the sample");
  for (int64_t i = 0; i < k; i++) xfree(keep[i]);
  xfree(keep);
  xfree(klen);
  if (seen == 0) recur_fail(o->inputs[0], "give some text", "no lines to train a model on");
}

/* rank 0 trains (on the side named); the serialized model goes to every rank */
static spm_model *train_model(const prepare_opts *o, char **files, int nf, int rank, int side) {
  char err[1024] = "";
  void *proto = NULL;
  size_t n = 0;
  int64_t len = -1;
  if (rank == 0) {
    char *path = core_path("%s.spm-sample-%d", o->out, (int)getpid());
    core_tempfile_add(path);
    write_sample(o, files, nf, path, side);
    if (spm_train(path, o->spm_train, (int)o->vocab_size, (uint32_t)o->seed, &proto, &n, err,
                  sizeof err) == 0)
      len = (int64_t)n;
    unlink(path);
    core_tempfile_forget(path);
    xfree(path);
  }
  /* the other ranks wait while rank 0 trains (bounded by --spm-sample) */
  const char *what = "rank 0's SentencePiece model";
  if (core_world() > 1) DIST_WAIT(what, MPI_Bcast(&len, 1, MPI_INT64_T, 0, core_comm()));
  if (len < 0)
    recur_fail(o->inputs[0], "a smaller --vocab-size, or more text",
               "cannot train a SentencePiece %s model of %lld pieces%s: %s", o->spm_train,
               (long long)o->vocab_size,
               side == SIDE_SOURCE   ? " for the sources"
               : side == SIDE_TARGET ? " for the targets"
                                     : "",
               rank == 0 ? err : "(rank 0 says why)");
  if (rank != 0) proto = malloc(len > 0 ? (size_t)len : 1);
  if (core_world() > 1) DIST_WAIT(what, MPI_Bcast(proto, (int)len, MPI_BYTE, 0, core_comm()));
  spm_model *s = spm_load(proto, (size_t)len, err, sizeof err);
  free(proto); /* the shim's malloc */
  if (!s) recur_fail(o->out, NULL, "the trained model does not load: %s", err);
  return s;
}

/* the model of --vocab FROM.h5 (a dataset of level spm), or its sources' model (source 1) */
static spm_model *model_of_dataset(const char *path, int source) {
  dataset *src = dataset_open(path);
  if (src->level != LEVEL_SPM || !src->spm_proto)
    recur_fail(path, "use a dataset of --level spm", "its vocabulary is %s level, not spm",
               ds_level_names[src->level]);
  if (source && !src->src_spm_proto)
    recur_fail(path, "use a dataset prepared with --separate-vocab",
               "it has no model of its own for the sources (/src_spm_model)");
  char err[1024];
  spm_model *s = source ? spm_load(src->src_spm_proto, src->src_spm_proto_len, err, sizeof err)
                        : spm_load(src->spm_proto, src->spm_proto_len, err, sizeof err);
  if (!s) recur_fail(path, NULL, "its SentencePiece model does not load: %s", err);
  dataset_close(src);
  return s;
}

static spm_model *model_of_file(const char *path) {
  char err[1024];
  spm_model *s = spm_load_file(path, err, sizeof err);
  if (!s) recur_fail(path, "give a .model file written by spm_train", "%s", err);
  return s;
}

void prep_spm_setup(prep *p, char **files, int nf) {
  const prepare_opts *o = p->o;
  if (task_is(o->task)->tags)
    recur_usage_fail("subwords are for language models, classifiers and encoder-decoders",
                     "--level spm with --task tag");
  const int two = o->separate_vocab; /* seq2seq: a model for each side */
  if (o->vocab_from) {
    p->spm = model_of_dataset(o->vocab_from, 0);
    if (two) p->side.spm = model_of_dataset(o->vocab_from, 1);
  } else if (o->spm_model) {
    p->spm = model_of_file(o->spm_model);
    if (two) p->side.spm = model_of_file(o->src_spm_model);
  } else {
    p->spm = train_model(o, files, nf, p->rank, two ? SIDE_TARGET : SIDE_BOTH);
    if (two) p->side.spm = train_model(o, files, nf, p->rank, SIDE_SOURCE);
  }
  p->tok.spm = p->spm;
  p->tok.on_id = prep_tok_id;
}

void prep_spm_spool(prep *p, int replay) {
  tokenizer *t = &p->tok;
  if (replay < 0) {
    if (t->spool) fclose(t->spool);
    t->spool = NULL;
    xfree((char *)t->spool_path);
    t->spool_path = NULL;
    return;
  }
  if (replay) {
    rewind(t->spool);
    t->spool_replay = 1;
    return;
  }
  char *path = core_path("%s.spm-ids-%d-%d", p->o->out, (int)getpid(), p->rank);
  t->spool = fopen(path, "w+b");
  if (!t->spool)
    recur_fail(path, "check that the output directory is writable",
               "cannot create the file of encoded ids");
  unlink(path); /* gone with the process, however it ends */
  t->spool_path = path;
  t->spool_replay = 0;
  t->spool_wide = spm_size(p->spm) > 65536 || (p->side.spm && spm_size(p->side.spm) > 65536);
}

/* the vocabulary: the model's pieces, its ids; </s> ends a delimited sequence, <unk> the unknown */
void prep_spm_vocab(prep *p) {
  const int V = spm_size(p->spm);
  p->vocab = xmalloc((size_t)V * sizeof(char *));
  for (int i = 0; i < V; i++) p->vocab[i] = xstrdup(spm_piece(p->spm, i));
  p->vocab_size = V;
  p->unk_id = spm_unk_id(p->spm);
  p->eos_id = p->delimited ? spm_eos_id(p->spm) : -1;
  if (p->delimited && p->eos_id < 0)
    recur_fail(p->o->spm_model ? p->o->spm_model : p->o->out,
               "train the model with an </s> (spm_train's default eos_id=2), or --split-on none",
               "delimited sequences need the model's </s>, and it has none");
}

void prep_tok_id(void *ctx, int32_t id) {
  prep *p = ctx;
  if (!prep_side_room(p)) return;
  p->n_content++;
  if (p->pass == 1) {
    p->seq_tok++;
    return;
  }
  if (p->src_side) return prep_push_src(p, (uint32_t)id);
  emit_id(p, (uint32_t)id);
}

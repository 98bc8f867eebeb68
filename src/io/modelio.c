/* modelio: model.h5 with PyTorch state_dict names and shapes, written atomically. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/h5.h"
#include "recur/json.h"
#include "recur/mconf.h"
#include "recur/model.h"

/* a vector's feature names and the statistics that normalise it, PREFIX.mean and PREFIX.std (what
 * load_stats reads back) */
static void save_stats(hid_t f, const char *prefix, const char *names_obj, char **names, int n,
                       const double *mean, const double *sd) {
  h5_write_strings(f, names_obj, names, n);
  hsize_t dims[1] = {(hsize_t)n};
  char nm[64];
  snprintf(nm, sizeof nm, "%s.mean", prefix);
  h5_write_array(f, nm, H5T_IEEE_F64LE, 1, dims, mean);
  snprintf(nm, sizeof nm, "%s.std", prefix);
  h5_write_array(f, nm, H5T_IEEE_F64LE, 1, dims, sd);
}

/* The configuration as root attributes, one per row of mconf.h that applies to it (a sparse row
 * only when not at its default). */
static void write_config(hid_t f, const model_config *c) {
  model_config dflt;
  mconf_default(&dflt);
  for (int i = 0; i < mconf_n; i++) {
    const mconf_def *d = &mconf_defs[i];
    if (!mconf_applies(d, c) || ((d->kind & MCONF_SPARSE) && mconf_equal(d, c, &dflt))) continue;
    const void *p = (const char *)c + d->offset;
    switch (d->type) {
    case MCONF_INT:
    case MCONF_SWITCH: h5_attr_set_i64(f, d->attr, *(const int *)p); break;
    case MCONF_REAL: h5_attr_set_f64(f, d->attr, (double)*(const float *)p); break;
    case MCONF_CHOICE: h5_attr_set_str(f, d->attr, d->choices[*(const int *)p]); break;
    case MCONF_INTS: {
      int64_t v[64];
      const int n = ((const int *)p)[-1];
      for (int k = 0; k < n; k++) v[k] = ((const int *)p)[k];
      h5_attr_set_i64s(f, d->attr, v, n);
      break;
    }
    }
  }
}

/* The configuration from the root attributes: every row read with its bounds, an absent one at its
 * default (named in missing when it applies: files of older versions lack some), then the
 * combinations checked (model_config_check), an error naming the file. */
static void read_config(hid_t f, const char *where, model_config *c, char *missing, size_t cap) {
  size_t nm = 0;
  char text[1024], err[512];
  mconf_default(c);
  missing[0] = 0;
  for (int i = 0; i < mconf_n; i++) {
    const mconf_def *d = &mconf_defs[i];
    if (H5Aexists(f, d->attr) <= 0) {
      if (d->kind & MCONF_REQUIRED)
        recur_fail(where, "give a model.h5 written by recur train", "attribute '%s' missing",
                   d->attr);
      if (mconf_applies(d, c) && !(d->kind & MCONF_SPARSE) && nm < cap)
        nm += (size_t)snprintf(missing + nm, cap - nm, "%s%s", nm ? ", " : "", d->attr);
      continue;
    }
    int ok = 1;
    int64_t iv[64];
    double x;
    switch (d->type) {
    case MCONF_INT:
    case MCONF_SWITCH:
      ok = h5_attr_get_i64(f, d->attr, iv);
      snprintf(text, sizeof text, "%lld", (long long)iv[0]);
      break;
    case MCONF_REAL:
      ok = h5_attr_get_f64(f, d->attr, &x);
      snprintf(text, sizeof text, "%.17g", x);
      break;
    case MCONF_CHOICE: ok = h5_attr_get_str(f, d->attr, text, sizeof text); break;
    case MCONF_INTS: {
      const int n = h5_attr_get_i64s(f, d->attr, iv, (int)(d->size / sizeof(int)));
      size_t len = 0;
      text[0] = 0;
      ok = n >= 1;
      for (int k = 0; k < n && len < sizeof text; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%lld", k ? "," : "",
                                (long long)iv[k]);
      break;
    }
    }
    if (!ok || mconf_parse(d, c, text, err, sizeof err) != 0)
      recur_fail(where, "the model file is damaged or not recur's", "attribute %s",
                 ok ? err : d->attr);
  }
  if (c->cond_features > 0) c->cond_width = c->cond_features; /* the vector is the condition */
  recur_catch k;
  if (RECUR_CATCH(&k) == 0) {
    model_config_check(c);
    recur_catch_end(&k);
  } else { /* the check's message, without its prefix, names the file */
    char *msg = strstr(k.msg, "error: ") ? strstr(k.msg, "error: ") + 7 : k.msg;
    msg[strcspn(msg, "\n")] = 0;
    recur_fail(where, "the model file is damaged or not recur's", "%s", msg);
  }
}

void model_save(const model *m, const model_vocab *v, int64_t step, const char *path) {
  char *tmp = core_path("%s.tmp-%d", path, (int)getpid());
  hid_t f = h5_create(tmp, "model file", "check that the run directory is writable");
  core_tempfile_add(tmp);
  const model_config *c = &m->cfg;
  h5_attr_set_str(f, "format", MODEL_FORMAT);
  h5_attr_set_str(f, "recur_version", recur_version()); /* the writer */
  h5_attr_set_i64(f, "version", MODEL_VERSION);
  write_config(f, c); /* n_out: the readout's width, as PyTorch's decoder.weight has it */
  h5_attr_set_str(f, "torch_mode", cell_torch_mode(c->cell));
  if (c->n_in > 0) /* the inputs' features and the statistics that normalise them */
    save_stats(f, "input", "feature_names", v->feature_names, c->n_in, m->in_mean, m->in_std);
  if (c->src_vocab > 0) { /* --separate-vocab */
    h5_attr_set_i64(f, "src_unk_id", v->src_unk_id);
    h5_write_strings(f, "src_vocab", v->src_vocab, v->src_vocab_size);
  }
  if (c->cond_features > 0) /* conditioned on vectors (seq2seq: frames): features, statistics */
    save_stats(f, "cond", "cond_feature_names", v->cond_names, c->cond_features, m->cond_mean,
               m->cond_std);
  h5_attr_set_i64(f, "step", step);
  h5_attr_set_str(f, "level", ds_level_names[v->level]);
  h5_attr_set_i64(f, "eos_id", v->eos_id);
  h5_attr_set_i64(f, "unk_id", v->unk_id);
  h5_attr_set_str(f, "split_on", v->split_on);
  h5_write_strings(f, "vocab", v->vocab, v->vocab_size);
  if (v->glue) h5_write_bytes(f, "vocab_glue", v->glue, v->vocab_size);
  /* the SentencePiece model: sample, predict and eval need nothing else; --separate-vocab: the
   * sources' too */
  if (v->spm_proto) h5_write_bytes(f, "spm_model", v->spm_proto, (int64_t)v->spm_proto_len);
  if (v->src_spm_proto)
    h5_write_bytes(f, "src_spm_model", v->src_spm_proto, (int64_t)v->src_spm_proto_len);
  if (task_has_names(c->task) && c->cond_features == 0)
    h5_write_strings(f, task_is(c->task)->labels ? "label_names" : "tag_names", v->out_names,
                     v->n_out_names);
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    hsize_t dims[2] = {(hsize_t)t->dims[0], (hsize_t)t->dims[1]};
    h5_write_array(f, t->name, H5T_IEEE_F32LE, t->rank, dims, m->params + t->offset);
  }
  if (c->tie_weights) { /* as PyTorch's state_dict of a tied model: decoder.weight too (a copy) */
    hsize_t dims[2] = {(hsize_t)m->O, (hsize_t)m->D};
    h5_write_array(f, m->role == MODEL_DECODER ? "decoder.out.weight" : "decoder.weight",
                   H5T_IEEE_F32LE, 2, dims, m->dec_w);
  }
  h5_close_file(f, tmp);
  core_commit(tmp, path);
  xfree(tmp);
}

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *model_resolve_pick(const char *path, model_pick pick) {
  const int best = pick == MODEL_PICK_BEST;
  struct stat st;
  if (stat(path, &st) != 0)
    recur_fail(path, NULL, "no such model file or directory: %s", strerror(errno));
  if (!S_ISDIR(st.st_mode)) {
    if (best) recur_fail(path, NULL, "--best needs a run directory, not a file");
    return xstrdup(path);
  }
  char *p = core_path("%s/%s", path, pick != MODEL_PICK_LAST ? "model-best.h5" : "model.h5");
  if (is_file(p)) return p;
  xfree(p);
  if (pick == MODEL_PICK_AUTO) return model_resolve_pick(path, MODEL_PICK_LAST);
  char *metrics = core_path("%s/metrics.jsonl", path);
  int is_run = is_file(metrics);
  xfree(metrics);
  if (best && is_run)
    recur_fail(path,
               "give --last for the run's last model (model-best.h5 is written at "
               "each validation: every --eval-every steps and at the end)",
               "the run has no model-best.h5: it has not validated yet");
  if (best)
    recur_fail(path, "give a run directory of recur train", "no model-best.h5 in this directory");
  p = core_path("%s/checkpoints/latest", path);
  FILE *f = xfopen(p, "r");
  xfree(p);
  if (f) {
    char name[256] = "";
    if (fgets(name, sizeof name, f)) name[strcspn(name, "\n")] = 0;
    xfclose(f);
    p = core_path("%s/checkpoints/%s/model.h5", path, name);
    if (is_file(p)) return p;
    xfree(p);
  }
  if (is_run)
    recur_fail(path, "the first is written after --ckpt-every steps, at the end, or on SIGUSR1",
               "the run has no checkpoint yet");
  recur_fail(path, "give a model.h5, a checkpoint directory or a run directory",
             "no model.h5 found in directory");
}

/* a vector's statistics PREFIX.mean and PREFIX.std (n each, checked) and, when names is given, its
 * feature names */
static void load_stats(hid_t f, const char *file, const char *prefix, const char *names_obj, int n,
                       double **mean, double **sd, char ***names, int64_t *n_names) {
  for (int k = 0; k < 2; k++) {
    char *where = core_path("%s:/%s.%s", file, prefix, k ? "std" : "mean"),
         *nm = where + strlen(file) + 2;
    double *st = xmalloc((size_t)n * sizeof(double));
    hid_t d = H5Lexists(f, nm, H5P_DEFAULT) > 0 ? H5Dopen2(f, nm, H5P_DEFAULT) : -1;
    if (d < 0 || h5_len_1d(d) != n || h5_read_range(d, H5T_NATIVE_DOUBLE, 0, (uint64_t)n, st) < 0)
      recur_fail(where, "the model file is damaged", "missing, not %d values, or unreadable", n);
    H5Dclose(d);
    for (int i = 0; i < n; i++)
      if (!isfinite(st[i]) || (k == 1 && !(st[i] > 0)))
        recur_fail(where, "the model file is damaged", "value %d is %g", i, st[i]);
    *(k ? sd : mean) = st;
    xfree(where);
  }
  if (!names) return;
  *names = h5_read_strings(f, names_obj, n_names, file);
  if (*n_names != n)
    recur_fail(file, "the model file is damaged", "%lld %s for %d features", (long long)*n_names,
               names_obj, n);
}

char *model_resolve(const char *path) { return model_resolve_pick(path, MODEL_PICK_LAST); }

model *model_load(const char *path, model_vocab *v, int64_t *step) {
  char *file = model_resolve(path);
  hid_t f = h5_open(file, 0);
  char fmt[64] = "", level[16] = "", missing[512];
  int64_t ver = 0;
  char *where = core_path("%s:/", file);
  if (!h5_attr_get_str(f, "format", fmt, sizeof fmt) || strcmp(fmt, MODEL_FORMAT) != 0)
    recur_fail(where, "give a model.h5 written by recur train", "format is '%s', expected '%s'",
               fmt, MODEL_FORMAT);
  if (!h5_attr_get_i64(f, "version", &ver) || ver != MODEL_VERSION)
    recur_fail(where, NULL, "unsupported model version %lld", (long long)ver);
  model_config c;
  read_config(f, where, &c, missing, sizeof missing);
  const int64_t vocab = c.vocab;
  if (step && !h5_attr_get_i64(f, "step", step)) *step = 0;
  if (v) {
    memset(v, 0, sizeof *v);
    h5_attr_get_str(f, "recur_version", v->writer, sizeof v->writer);
    snprintf(v->missing, sizeof v->missing, "%s", missing);
    if (!h5_attr_get_str(f, "level", level, sizeof level) || (v->level = ds_level_parse(level)) < 0)
      recur_fail(where, NULL, "attribute 'level' missing or unknown");
    if (!h5_attr_get_i64(f, "eos_id", &v->eos_id)) v->eos_id = -1;
    if (!h5_attr_get_i64(f, "unk_id", &v->unk_id)) v->unk_id = -1;
    if (!h5_attr_get_str(f, "split_on", v->split_on, sizeof v->split_on))
      strcpy(v->split_on, "none");
    v->vocab = h5_read_strings(f, "vocab", &v->vocab_size, file);
    if (v->vocab_size != vocab)
      recur_fail(where, NULL, "/vocab has %lld entries but vocab_size is %lld",
                 (long long)v->vocab_size, (long long)vocab);
    if (v->eos_id < -1 || v->eos_id >= vocab) recur_fail(where, NULL, "eos_id out of range");
    if (v->level == LEVEL_WORD) v->glue = h5_read_bytes_opt(f, "vocab_glue", vocab, file);
    if (v->level == LEVEL_SPM) {
      v->spm_proto = h5_read_bytes_opt(f, "spm_model", -1, file);
      if (!v->spm_proto) recur_fail(where, NULL, "an spm-level model without /spm_model");
      v->spm_proto_len = h5_bytes_len(f, "spm_model");
    }
    v->src_vocab = NULL;
    v->feature_names = NULL;
    v->n_features = 0;
    v->src_vocab_size = 0;
    v->src_unk_id = -1;
    if (c.src_vocab > 0) {
      v->src_vocab = h5_read_strings(f, "src_vocab", &v->src_vocab_size, file);
      if (v->src_vocab_size != c.src_vocab)
        recur_fail(where, NULL, "/src_vocab has %lld entries but src_vocab_size is %d",
                   (long long)v->src_vocab_size, c.src_vocab);
      if (!h5_attr_get_i64(f, "src_unk_id", &v->src_unk_id)) v->src_unk_id = -1;
      if (v->src_unk_id < -1 || v->src_unk_id >= c.src_vocab)
        recur_fail(where, NULL, "src_unk_id out of range");
      if (v->level == LEVEL_SPM) {
        v->src_spm_proto = h5_read_bytes_opt(f, "src_spm_model", -1, file);
        if (!v->src_spm_proto)
          recur_fail(where, NULL, "an spm-level model with /src_vocab but no /src_spm_model");
        v->src_spm_proto_len = h5_bytes_len(f, "src_spm_model");
      }
    }
    if (task_has_names(c.task) && c.cond_features == 0) {
      v->out_names = h5_read_strings(f, task_is(c.task)->labels ? "label_names" : "tag_names",
                                     &v->n_out_names, file);
      if (v->n_out_names != (task_is(c.task)->label_cond ? c.cond_labels : c.n_out))
        recur_fail(where, NULL, "%lld names for %d outputs", (long long)v->n_out_names,
                   task_is(c.task)->label_cond ? c.cond_labels : c.n_out);
    }
  }
  model *m = model_create(&c, 0);
  if (c.n_in > 0) /* real-valued inputs: the statistics they are normalised with, the features */
    load_stats(f, file, "input", "feature_names", c.n_in, &m->in_mean, &m->in_std,
               v ? &v->feature_names : NULL, v ? &v->n_features : NULL);
  if (c.cond_features > 0) /* conditioning vectors: the same */
  {
    load_stats(f, file, "cond", "cond_feature_names", c.cond_features, &m->cond_mean, &m->cond_std,
               v ? &v->cond_names : NULL, v ? &v->n_cond_names : NULL);
    model_cond_stats(m);
  }
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    xfree(where);
    where = core_path("%s:/%s", file, t->name);
    if (H5Lexists(f, t->name, H5P_DEFAULT) <= 0)
      recur_fail(where, "the model file is incomplete", "missing tensor");
    hid_t d = H5Dopen2(f, t->name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
    hsize_t dims[4] = {0, 0, 0, 0};
    int r = H5Sget_simple_extent_ndims(sp);
    if (r >= 1 && r <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
    if (H5Tget_class(ty) != H5T_FLOAT || r != t->rank || dims[0] != (hsize_t)t->dims[0] ||
        (t->rank == 2 && dims[1] != (hsize_t)t->dims[1]))
      recur_fail(where, "the tensor does not match the configuration in the root attributes",
                 "expected float tensor of shape (%lld%s%lld), found rank %d (%llu, %llu)",
                 (long long)t->dims[0], t->rank == 2 ? ", " : "",
                 t->rank == 2 ? (long long)t->dims[1] : 0LL, r, (unsigned long long)dims[0],
                 (unsigned long long)dims[1]);
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->params + t->offset) < 0)
      recur_fail(where, "the file is truncated or damaged (checksum mismatch)",
                 "cannot read tensor");
    for (int64_t k = 0; k < t->n; k++)
      if (!isfinite(m->params[t->offset + k]))
        recur_fail(where, NULL, "tensor holds a non-finite value at %lld", (long long)k);
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(d);
  }
  H5Fclose(f);
  xfree(where);
  xfree(file);
  return m;
}

void model_vocab_free(model_vocab *v) {
  for (int64_t i = 0; i < v->vocab_size; i++) xfree(v->vocab[i]);
  xfree(v->vocab);
  v->vocab = NULL;
  xfree(v->glue);
  v->glue = NULL;
  xfree(v->spm_proto);
  v->spm_proto = NULL;
  xfree(v->src_spm_proto);
  v->src_spm_proto = NULL;
  for (int64_t i = 0; i < v->n_out_names; i++) xfree(v->out_names[i]);
  xfree(v->out_names);
  v->out_names = NULL;
  for (int64_t i = 0; i < v->n_cond_names; i++) xfree(v->cond_names[i]);
  xfree(v->cond_names);
  v->cond_names = NULL;
  v->n_cond_names = 0;
  for (int64_t i = 0; i < v->n_features; i++) xfree(v->feature_names[i]);
  xfree(v->feature_names);
  v->feature_names = NULL;
  v->n_features = 0;
  for (int64_t i = 0; i < v->src_vocab_size; i++) xfree(v->src_vocab[i]);
  xfree(v->src_vocab);
  v->src_vocab = NULL;
  v->src_vocab_size = 0;
}

void model_inspect(const char *path, json_writer *j, const char *key) {
  char *file = model_resolve(path);
  model_vocab v;
  int64_t step = 0;
  model *m = model_load(file, &v, &step);
  const model_config *c = &m->cfg;
  const char *writer = v.writer;
  if (j) {
    json_object_begin(j, key);
    json_str(j, "path", file);
    json_str(j, "format", MODEL_FORMAT);
    json_int(j, "version", MODEL_VERSION);
    json_str(j, "recur_version", writer);
    json_str(j, "cell", cell_names[c->cell]);
    json_int(j, "layers", c->layers);
    json_int(j, "hidden", c->hidden);
    json_int(j, "embed", c->embed);
    json_int(j, "vocab_size", c->vocab);
    json_bool(j, "bidirectional", c->bidirectional);
    json_str(j, "task", task_names[c->task]);
    json_int(j, "outputs", m->O);
    json_str(j, "softmax", softmax_names[c->softmax]);
    if (task_is(c->task)->source) json_str(j, "attention", attention_names[c->attention]);
    json_object_begin(j, "config"); /* every attribute of mconf.h that applies */
    for (int i = 0; i < mconf_n; i++) {
      const mconf_def *d = &mconf_defs[i];
      if (!mconf_applies(d, c)) continue;
      char val[512];
      mconf_format(d, c, val, sizeof val);
      if (d->type == MCONF_CHOICE || d->type == MCONF_INTS)
        json_str(j, d->attr, val);
      else
        json_num(j, d->attr, strtod(val, NULL));
    }
    json_object_end(j);
    json_str(j, "defaults_taken", v.missing);
    json_str(j, "level", ds_level_names[v.level]);
    json_int(j, "step", step);
    json_int(j, "parameters", m->n_params);
    json_array_begin(j, "tensors");
  } else {
    printf("%s: %s version %d (written by recur %s), step %lld, task %s\n  %s%s, %d layer(s) x %d "
           "hidden, embed %d, "
           "vocabulary %d (%s level), %d outputs, %lld parameters\n",
           file, MODEL_FORMAT, MODEL_VERSION, writer[0] ? writer : "before 0.2.0", (long long)step,
           task_names[c->task], c->bidirectional ? "bidirectional " : "", cell_names[c->cell],
           c->layers, c->hidden, c->embed, c->vocab, ds_level_names[v.level], m->O,
           (long long)m->n_params);
    printf("  configuration:");
    for (int i = 0, col = 16; i < mconf_n; i++) {
      const mconf_def *d = &mconf_defs[i];
      if (!mconf_applies(d, c)) continue;
      char val[512];
      mconf_format(d, c, val, sizeof val);
      int w = (int)(strlen(d->attr) + strlen(val) + 2);
      if (col + w > 100) printf("\n   "), col = 3;
      printf(" %s %s%s", d->attr, val, d->kind & MCONF_TRAIN ? "*" : "");
      col += w;
    }
    printf("\n  (* training only)%s%s\n",
           v.missing[0] ? "; not in this file, defaults taken: " : "", v.missing);
  }
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    double s = 0;
    for (int64_t k = 0; k < t->n; k++)
      s += (double)m->params[t->offset + k] * m->params[t->offset + k];
    if (j) {
      json_object_begin(j, NULL);
      json_str(j, "name", t->name);
      json_array_begin(j, "shape");
      for (int d = 0; d < t->rank; d++) json_int(j, NULL, t->dims[d]);
      json_array_end(j);
      json_num(j, "norm", sqrt(s));
      json_object_end(j);
    } else if (t->rank == 2) {
      printf("  %-22s (%lld, %lld)  norm %.4f\n", t->name, (long long)t->dims[0],
             (long long)t->dims[1], sqrt(s));
    } else {
      printf("  %-22s (%lld)  norm %.4f\n", t->name, (long long)t->dims[0], sqrt(s));
    }
  }
  if (j) {
    json_array_end(j);
    json_object_end(j);
  }
  model_vocab_free(&v);
  model_free(m);
  xfree(file);
}

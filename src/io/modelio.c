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

void model_save(const model *m, const model_vocab *v, int64_t step, const char *path) {
  char *tmp = core_path("%s.tmp-%d", path, (int)getpid());
  hid_t f = h5_create(tmp, "model file", "check that the run directory is writable");
  core_tempfile_add(tmp);
  const model_config *c = &m->cfg;
  h5_attr_set_str(f, "format", MODEL_FORMAT);
  h5_attr_set_str(f, "recur_version", recur_version()); /* the writer */
  h5_attr_set_i64(f, "version", MODEL_VERSION);
  h5_attr_set_str(f, "cell", cell_names[c->cell]);
  h5_attr_set_str(f, "torch_mode", cell_torch_mode(c->cell));
  h5_attr_set_i64(f, "layers", c->layers);
  h5_attr_set_i64(f, "hidden", c->hidden);
  h5_attr_set_i64(f, "embed", c->embed);
  h5_attr_set_i64(f, "vocab_size", c->vocab);
  h5_attr_set_i64(f, "bidirectional", c->bidirectional);
  h5_attr_set_str(f, "task", task_names[c->task]);
  h5_attr_set_str(f, "pool", c->pool == POOL_MEAN ? "mean" : "last");
  h5_attr_set_i64(f, "n_out", m->O);
  h5_attr_set_i64(f, "tie_weights", c->tie_weights);
  h5_attr_set_i64(f, "proj_size", c->proj);
  h5_attr_set_str(f, "softmax", softmax_names[c->softmax]);
  if (c->task == TASK_SEQ2SEQ) h5_attr_set_str(f, "attention", attention_names[c->attention]);
  if (c->readout_hidden > 0) h5_attr_set_i64(f, "readout_hidden", c->readout_hidden);
  if (c->n_in > 0) { /* forecast: the inputs' features and the statistics that normalise them */
    h5_attr_set_i64(f, "n_in", c->n_in);
    h5_attr_set_i64(f, "horizon", c->horizon);
    h5_attr_set_i64(f, "encoder_hidden", c->in_hidden);
    h5_attr_set_str(f, "loss", loss_names[c->loss]);
    save_stats(f, "input", "feature_names", v->feature_names, c->n_in, m->in_mean, m->in_std);
  }
  if (c->input_feed) h5_attr_set_i64(f, "input_feed", 1);
  if (c->src_vocab > 0) { /* --separate-vocab */
    h5_attr_set_i64(f, "src_vocab_size", c->src_vocab);
    h5_attr_set_i64(f, "src_unk_id", v->src_unk_id);
    h5_write_strings(f, "src_vocab", v->src_vocab, v->src_vocab_size);
  }
  if (c->softmax == SOFTMAX_ADAPTIVE) { /* AdaptiveLogSoftmaxWithLoss(D, V, cutoffs, div_value) */
    int64_t cut[MODEL_MAX_CUTOFFS];
    for (int k = 0; k < c->n_cutoffs; k++) cut[k] = c->cutoffs[k];
    h5_attr_set_i64s(f, "cutoffs", cut, c->n_cutoffs);
    h5_attr_set_f64(f, "div_value", c->div_value);
  }
  if (c->task == TASK_CONDLM) {
    h5_attr_set_i64(f, "n_cond", c->n_cond);
    h5_attr_set_i64(f, "cond_dim", c->cond_dim);
    h5_attr_set_i64(f, "cond_input", c->cond_input);
  }
  if (c->cond_in > 0) { /* conditioned on vectors (seq2seq: frames): features, statistics */
    h5_attr_set_i64(f, "cond_in", c->cond_in);
    save_stats(f, "cond", "cond_feature_names", v->cond_names, c->cond_in, m->cond_mean,
               m->cond_std);
  }
  h5_attr_set_f64(f, "dropout", c->dropout);
  h5_attr_set_i64(f, "step", step);
  h5_attr_set_str(f, "level", ds_level_names[v->level]);
  h5_attr_set_i64(f, "eos_id", v->eos_id);
  h5_attr_set_i64(f, "unk_id", v->unk_id);
  h5_attr_set_str(f, "split_on", v->split_on);
  h5_write_strings(f, "vocab", v->vocab, v->vocab_size);
  if (task_has_names(c->task) && c->cond_in == 0)
    h5_write_strings(f, task_has_labels(c->task) ? "label_names" : "tag_names", v->out_names,
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

char *model_resolve_best(const char *path, int best) {
  struct stat st;
  if (stat(path, &st) != 0)
    recur_fail(path, NULL, "no such model file or directory: %s", strerror(errno));
  if (!S_ISDIR(st.st_mode)) {
    if (best) recur_fail(path, NULL, "--best needs a run directory, not a file");
    return xstrdup(path);
  }
  char *p = core_path("%s/%s", path, best ? "model-best.h5" : "model.h5");
  if (is_file(p)) return p;
  xfree(p);
  char *metrics = core_path("%s/metrics.jsonl", path);
  int is_run = is_file(metrics);
  xfree(metrics);
  if (best)
    recur_fail(path, "train with a validation split (prepare --val F) and --eval-every N",
               is_run ? "the run has no model-best.h5 yet: it is written at a validation"
                      : "no model-best.h5 in this directory");
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

char *model_resolve(const char *path) { return model_resolve_best(path, 0); }

model *model_load(const char *path, model_vocab *v, int64_t *step) {
  char *file = model_resolve(path);
  hid_t f = h5_open(file, 0);
  char fmt[64] = "", cell[32] = "", level[16] = "";
  int64_t ver = 0, layers = 0, hidden = 0, embed = 0, vocab = 0, bidi = 0;
  double dropout = 0;
  char *where = core_path("%s:/", file);
  if (!h5_attr_get_str(f, "format", fmt, sizeof fmt) || strcmp(fmt, MODEL_FORMAT) != 0)
    recur_fail(where, "give a model.h5 written by recur train", "format is '%s', expected '%s'",
               fmt, MODEL_FORMAT);
  if (!h5_attr_get_i64(f, "version", &ver) || ver != MODEL_VERSION)
    recur_fail(where, NULL, "unsupported model version %lld", (long long)ver);
  if (!h5_attr_get_str(f, "cell", cell, sizeof cell) || cell_parse(cell) < 0)
    recur_fail(where, NULL, "attribute 'cell' missing or unknown ('%s')", cell);
  if (!h5_attr_get_i64(f, "layers", &layers) || !h5_attr_get_i64(f, "hidden", &hidden) ||
      !h5_attr_get_i64(f, "embed", &embed) || !h5_attr_get_i64(f, "vocab_size", &vocab))
    recur_fail(where, NULL, "missing one of the attributes layers, hidden, embed, vocab_size");
  h5_attr_get_i64(f, "bidirectional", &bidi);
  h5_attr_get_f64(f, "dropout", &dropout);
  char task[32] = "lm", pool[16] = "last";
  int64_t n_out = 0, n_cond = 0, cond_dim = 0, cond_input = 0, tie = 0, proj = 0;
  h5_attr_get_str(f, "task", task, sizeof task);
  h5_attr_get_i64(f, "n_cond", &n_cond);
  h5_attr_get_i64(f, "cond_dim", &cond_dim);
  h5_attr_get_i64(f, "cond_input", &cond_input);
  int64_t cond_in = 0;
  h5_attr_get_i64(f, "cond_in", &cond_in);
  if (task_parse(task) == TASK_SEQ2SEQ) cond_dim = cond_in;
  if (cond_in < 0 || cond_in > 65536 || (cond_in > 0 && cond_dim != cond_in))
    recur_fail(where, NULL, "cond_in %lld out of range or not cond_dim", (long long)cond_in);
  h5_attr_get_i64(f, "tie_weights", &tie);
  h5_attr_get_i64(f, "proj_size", &proj);
  if (proj < 0 || proj >= hidden)
    recur_fail(where, NULL, "proj_size %lld out of range", (long long)proj);
  char softmax[16] = "full", attention[16] = "none";
  h5_attr_get_str(f, "attention", attention, sizeof attention);
  int attn = names_parse(attention_names, attention);
  int64_t src_vocab = 0, readout_hidden = 0, input_feed = 0, n_in = 0, horizon = 1;
  char lossn[16] = "mse";
  h5_attr_get_i64(f, "n_in", &n_in);
  h5_attr_get_i64(f, "horizon", &horizon);
  int64_t in_hidden = 0;
  h5_attr_get_i64(f, "encoder_hidden", &in_hidden);
  if (in_hidden < 0 || in_hidden > 65536) recur_fail(where, NULL, "encoder_hidden out of range");
  h5_attr_get_str(f, "loss", lossn, sizeof lossn);
  if (n_in < 0 || n_in > 65536 || horizon < 1 || horizon > (1 << 20) ||
      names_parse(loss_names, lossn) < 0)
    recur_fail(where, NULL, "n_in, horizon or loss out of range");
  h5_attr_get_i64(f, "input_feed", &input_feed);
  h5_attr_get_i64(f, "readout_hidden", &readout_hidden);
  if (readout_hidden < 0 || readout_hidden > 65536)
    recur_fail(where, NULL, "readout_hidden %lld out of range", (long long)readout_hidden);
  h5_attr_get_i64(f, "src_vocab_size", &src_vocab);
  if (src_vocab < 0 || src_vocab > INT32_MAX || (src_vocab > 0 && task_parse(task) != TASK_SEQ2SEQ))
    recur_fail(where, NULL, "src_vocab_size %lld out of range or not for this task",
               (long long)src_vocab);
  if (attn < 0 || (attn != ATTN_NONE && task_parse(task) != TASK_SEQ2SEQ))
    recur_fail(where, NULL, "attention '%s' is unknown or not for this task", attention);
  int64_t cut[MODEL_MAX_CUTOFFS];
  int n_cut = 0;
  double div_value = 4;
  h5_attr_get_str(f, "softmax", softmax, sizeof softmax);
  int sm = names_parse(softmax_names, softmax);
  if (sm < 0) recur_fail(where, NULL, "unknown softmax '%s'", softmax);
  if (sm == SOFTMAX_ADAPTIVE) {
    n_cut = h5_attr_get_i64s(f, "cutoffs", cut, MODEL_MAX_CUTOFFS);
    if (n_cut < 1 || !h5_attr_get_f64(f, "div_value", &div_value))
      recur_fail(where, NULL, "adaptive softmax without valid 'cutoffs' and 'div_value'");
    for (int k = 0; k < n_cut; k++)
      if (cut[k] < 1 || cut[k] >= vocab || (k > 0 && cut[k] <= cut[k - 1]))
        recur_fail(where, NULL, "cutoff %lld out of range", (long long)cut[k]);
    const double D = (double)(bidi ? 2 : 1) * (double)(proj > 0 ? proj : hidden);
    if (!(div_value >= 1 && div_value <= 1024) || floor(D / pow(div_value, n_cut)) < 1)
      recur_fail(where, NULL, "div_value %g out of range for %d cutoffs", div_value, n_cut);
  }
  h5_attr_get_str(f, "pool", pool, sizeof pool);
  h5_attr_get_i64(f, "n_out", &n_out);
  if (task_parse(task) < 0) recur_fail(where, NULL, "unknown task '%s'", task);
  if (task_parse(task) != TASK_LM && (n_out < 1 || n_out > INT32_MAX))
    recur_fail(where, NULL, "n_out %lld out of range", (long long)n_out);
  if (task_parse(task) == TASK_CONDLM && cond_in == 0 &&
      (n_cond < 1 || n_cond > INT32_MAX || cond_dim < 1 || cond_dim > 65536))
    recur_fail(where, NULL, "condlm: n_cond %lld or cond_dim %lld out of range", (long long)n_cond,
               (long long)cond_dim);
  if (layers < 1 || layers > MODEL_MAX_LAYERS || hidden < 1 || hidden > 65536 || embed < 1 ||
      embed > 65536 || (vocab < 1 && n_in < 1) || vocab < 0 || vocab > INT32_MAX)
    recur_fail(where, NULL,
               "configuration out of range (layers %lld, hidden %lld, embed %lld, vocab %lld)",
               (long long)layers, (long long)hidden, (long long)embed, (long long)vocab);
  model_config c = {.cell = cell_parse(cell),
                    .layers = (int)layers,
                    .hidden = (int)hidden,
                    .embed = (int)embed,
                    .vocab = (int)vocab,
                    .dropout = (float)dropout,
                    .task = task_parse(task),
                    .bidirectional = bidi != 0,
                    .n_out = (int)n_out,
                    .pool = strcmp(pool, "mean") == 0 ? POOL_MEAN : POOL_LAST,
                    .n_cond = (int)n_cond,
                    .cond_dim = (int)cond_dim,
                    .cond_input = cond_input != 0,
                    .cond_in = (int)cond_in,
                    .tie_weights = tie != 0,
                    .proj = (int)proj,
                    .softmax = sm,
                    .n_cutoffs = n_cut,
                    .div_value = (float)div_value,
                    .attention = attn,
                    .src_vocab = (int)src_vocab,
                    .readout_hidden = (int)readout_hidden,
                    .input_feed = input_feed != 0,
                    .n_in = (int)n_in,
                    .horizon = (int)horizon,
                    .in_hidden = (int)in_hidden,
                    .loss = names_parse(loss_names, lossn)};
  for (int k = 0; k < n_cut; k++) c.cutoffs[k] = (int)cut[k];
  if (task_is_lm(c.task) && c.task != TASK_SEQ2SEQ && c.bidirectional)
    recur_fail(where, NULL, "a bidirectional language model is not valid");
  if (!(c.dropout >= 0 && c.dropout < 1)) c.dropout = 0;
  if (step && !h5_attr_get_i64(f, "step", step)) *step = 0;
  if (v) {
    memset(v, 0, sizeof *v);
    h5_attr_get_str(f, "recur_version", v->writer, sizeof v->writer);
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
    }
    if (task_has_names(c.task) && c.cond_in == 0) {
      v->out_names = h5_read_strings(f, task_has_labels(c.task) ? "label_names" : "tag_names",
                                     &v->n_out_names, file);
      if (v->n_out_names != (c.task == TASK_CONDLM ? n_cond : n_out))
        recur_fail(where, NULL, "%lld names for %lld outputs", (long long)v->n_out_names,
                   (long long)n_out);
    }
  }
  model *m = model_create(&c, 0);
  if (c.n_in > 0) /* real-valued inputs: the statistics they are normalised with, the features */
    load_stats(f, file, "input", "feature_names", c.n_in, &m->in_mean, &m->in_std,
               v ? &v->feature_names : NULL, v ? &v->n_features : NULL);
  if (c.cond_in > 0) /* conditioning vectors: the same */
  {
    load_stats(f, file, "cond", "cond_feature_names", c.cond_in, &m->cond_mean, &m->cond_std,
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
    if (c->task == TASK_SEQ2SEQ) json_str(j, "attention", attention_names[c->attention]);
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

/* dataset_real: the real-valued parts of a dataset: --level real's features, statistics and per
 * split values (with labels or tags), and the statistics of --cond-features. */
#include <math.h>
#include <string.h>

#include "dataset-impl.h"
#include "recur/core.h"
#include "recur/h5.h"

/* a vector's per-feature mean and standard deviation (D each, malloc'd), checked */
void ds_read_stats(hid_t f, const char *path, const char *mname, const char *sname, int64_t D,
                   double **mean, double **sd) {
  const char *stat[2] = {mname, sname};
  for (int k = 0; k < 2; k++) {
    char *where = core_path("%s:/%s", path, stat[k]);
    double *v = xmalloc((size_t)D * sizeof(double));
    hid_t d = H5Lexists(f, stat[k], H5P_DEFAULT) > 0 ? H5Dopen2(f, stat[k], H5P_DEFAULT) : -1;
    if (d < 0 || h5_len_1d(d) != D || h5_read_range(d, H5T_NATIVE_DOUBLE, 0, (uint64_t)D, v) < 0)
      recur_fail(where, "the dataset is damaged; prepare it again",
                 "missing, not %lld values, or unreadable", (long long)D);
    H5Dclose(d);
    for (int64_t i = 0; i < D; i++)
      if (!isfinite(v[i]) || (k == 1 && !(v[i] > 0)))
        recur_fail(where, "the dataset is damaged; prepare it again", "value %lld is %g",
                   (long long)i, v[i]);
    *(k == 0 ? mean : sd) = v;
    xfree(where);
  }
}

/* --level real: features, statistics, and per split (steps, features) float32 values + offsets */
void ds_open_real(dataset *ds, hid_t f, const char *path) {
  char *where = core_path("%s:/", path), task[32] = "";
  strcpy(ds->split_on, "line");
  ds->eos_id = ds->unk_id = ds->src_unk_id = -1;
  const int t = h5_attr_get_str(f, "task", task, sizeof task) ? task_parse(task) : -1;
  if (t < 0 || !task_is(t)->real_in)
    recur_fail(where, NULL, "a real-valued dataset's task must be forecast, classify or tag");
  ds->task = (enum model_task)t;
  ds->horizon = 1;
  if (!task_is(t)->frames) ds_read_out_names(ds, f, path);
  int64_t D = 0, nn = 0;
  if (!h5_attr_get_i64(f, "n_features", &D) || D < 1 || D > 65536)
    recur_fail(where, NULL, "attribute n_features missing or out of range");
  ds->n_features = (int)D;
  ds->feature_names = h5_read_strings(f, "feature_names", &nn, path);
  if (nn != D)
    recur_fail(where, NULL, "%lld feature names for %lld features", (long long)nn, (long long)D);
  ds_read_stats(f, path, "feature_mean", "feature_std", D, &ds->feature_mean, &ds->feature_std);
  for (int s = 0; s < SPLIT_COUNT; s++) {
    ds_split *sp = &ds->split[s];
    const char *name = ds_split_names[s];
    xfree(where), where = core_path("%s:/%s/values", path, name);
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) recur_fail(where, NULL, "missing split group");
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    hid_t vd = H5Lexists(g, "values", H5P_DEFAULT) > 0 ? H5Dopen2(g, "values", H5P_DEFAULT) : -1;
    if (vd < 0) recur_fail(where, NULL, "missing dataset");
    hid_t sps = H5Dget_space(vd), ty = H5Dget_type(vd);
    hsize_t dims[2] = {0, 0};
    const int rank = H5Sget_simple_extent_ndims(sps);
    if (rank == 2) H5Sget_simple_extent_dims(sps, dims, NULL);
    if (rank != 2 || (int64_t)dims[1] != D || H5Tget_class(ty) != H5T_FLOAT)
      recur_fail(where, NULL, "values must be floats of shape (steps, %lld)", (long long)D);
    H5Sclose(sps);
    H5Tclose(ty);
    xfree(where), where = core_path("%s:/%s/offsets", path, name);
    int64_t no = 0;
    hid_t od = ds_open_offsets(g, path, name, "offsets", &no);
    sp->index = ds_index_new();
    ds_index_add(sp->index, od, (uint64_t)no, 0, dims[0], where);
    sp->n_seq = (uint64_t)no - 1;
    sp->n_tok = dims[0];
    sp->values = vd;
    /* one part: the steps' tags (tag) */
    sp->part_tok = xcalloc(2, sizeof(uint64_t));
    sp->part_tok[1] = sp->n_tok;
    sp->part_file = xcalloc(1, sizeof(int));
    if (task_is(t)->tags) {
      sp->tags = xmalloc(sizeof(int64_t));
      sp->tags[0] = ds_open_tags(g, path, name, (int64_t)sp->n_tok);
      sp->n_parts = 1;
    }
    if (task_is(t)->pooled) sp->labels = ds_read_labels(ds, g, path, name, (int64_t)sp->n_seq);
    H5Gclose(g);
  }
  xfree(where);
}

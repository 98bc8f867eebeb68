/* ckpt: sharded checkpoints with a commit marker, atomic `latest`, integrity checks and
 * resharding on load. */
#define _POSIX_C_SOURCE 200809L
#include "recur/ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recur/core.h"
#include "recur/dist.h"
#include "recur/h5.h"
#include "recur/hooks.h"
#include "recur/json.h"

/* ---- files ---- */
/* FNV-1a 64 of a whole file, and its size; -1 if unreadable */
static int file_hash(const char *path, uint64_t *hash, int64_t *size) {
  FILE *f = xfopen(path, "rb");
  if (!f) return -1;
  unsigned char buf[1 << 16];
  uint64_t h = 1469598103934665603ULL;
  int64_t n = 0;
  size_t r;
  while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < r; i++) h = (h ^ buf[i]) * 1099511628211ULL;
    n += (int64_t)r;
  }
  int err = ferror(f);
  xfclose(f);
  *hash = h;
  *size = n;
  return err ? -1 : 0;
}

static void write_text_atomic(const char *path, const char *text) {
  char *tmp = core_path("%s.tmp-%d", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) recur_fail(tmp, "is the disk full or the run directory read-only?", "cannot create file");
  core_tempfile_add(tmp);
  if (fputs(text, f) < 0 || fflush(f) != 0)
    recur_fail(tmp, "is the disk full?", "cannot write file");
  fclose(f);
  core_commit(tmp, path);
  xfree(tmp);
}

static int has_file(const char *dir, const char *name) {
  struct stat st;
  char *p = core_path("%s/%s", dir, name);
  int yes = stat(p, &st) == 0 && S_ISREG(st.st_mode);
  xfree(p);
  return yes;
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *p = core_path("%s/%s", dir, e->d_name);
    unlink(p);
    xfree(p);
  }
  closedir(d);
  rmdir(dir);
}

/* step-NNNNNNNN directories under run/checkpoints, newest first; committed only if asked */
static int list_ckpts(const char *run, int committed, char ***out) {
  char *cdir = core_path("%s/checkpoints", run);
  DIR *d = opendir(cdir);
  *out = NULL;
  if (!d) return xfree(cdir), 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "step-", 5) != 0 || strlen(e->d_name) != 13) continue;
    char *p = core_path("%s/%s", cdir, e->d_name);
    if (has_file(p, "COMMIT") != committed) {
      xfree(p);
      continue;
    }
    *out = xrealloc(*out, (size_t)(n + 1) * sizeof(char *));
    (*out)[n++] = p;
  }
  closedir(d);
  xfree(cdir);
  for (int i = 0; i < n; i++) /* newest first: names sort by step */
    for (int j = i + 1; j < n; j++)
      if (strcmp((*out)[j], (*out)[i]) > 0) {
        char *t = (*out)[i];
        (*out)[i] = (*out)[j];
        (*out)[j] = t;
      }
  return n;
}

void ckpt_cleanup(const char *run) {
  char **l;
  int n = list_ckpts(run, 0, &l);
  for (int i = 0; i < n; i++) {
    fprintf(stderr, "recur: removing uncommitted checkpoint %s (left by an interrupted save)\n",
            l[i]);
    remove_tree(l[i]);
    xfree(l[i]);
  }
  xfree(l);
}

/* ---- save ---- */
static void write_floats(hid_t f, const char *name, int rank, hsize_t d0, hsize_t d1, hsize_t d2,
                         const float *x) {
  hsize_t dims[3] = {d0, d1, d2};
  h5_write_array(f, name, H5T_IEEE_F32LE, rank, dims, x);
}

static void test_pause(const char *where, int64_t step) {
  const test_hooks *h = hooks_get();
  if (h->pause_rank != core_rank() || h->pause_step != step || strcmp(h->pause_where, where) != 0)
    return;
  FILE *f = fopen(h->pause_file, "w");
  if (f) {
    fprintf(f, "%d %s\n", (int)getpid(), where);
    fclose(f);
  }
  for (;;) pause(); /* the test kills us here */
}

/* rank 0's word on whether this step's checkpoint exists already */
static void bcast_skip(int *skip) {
  dist_wait_begin("the checkpoint's start");
  MPI_Bcast(skip, 1, MPI_INT, 0, core_comm());
  dist_wait_end();
}

/* the carried states of the streams this rank owns: their ids, then (L, k, H) h and c */
static void write_streams(hid_t f, const ckpt_payload *p) {
  const int k = p->n_own;
  uint64_t *ids = xmalloc((size_t)(k ? k : 1) * sizeof(uint64_t));
  for (int i = 0; i < k; i++) ids[i] = (uint64_t)p->own[i];
  hsize_t nk = (hsize_t)k;
  h5_write_array(f, "stream_ids", H5T_STD_U64LE, 1, &nk, ids);
  write_floats(f, "carry_h", 3, (hsize_t)p->L, nk, (hsize_t)p->H, p->carry_h);
  write_floats(f, "carry_c", 3, (hsize_t)p->L, nk, (hsize_t)p->H, p->carry_c);
  h5_attr_set_i64(f, "streams", p->B);
  xfree(ids);
}

/* rank 0: COMMIT (the manifest: model and every shard with its size and hash), then `latest`,
 * then the committed checkpoints beyond the newest `keep` removed */
static void commit_manifest(const char *run, const char *cdir, const char *dir, const char *mp,
                            const ckpt_counters *st, const ckpt_payload *p, int64_t n, int W,
                            uint64_t *all, int keep) {
  size_t cap = 256 + (size_t)W * 160 + strlen(p->options);
  char *txt = xmalloc(cap), *q = txt;
  uint64_t mh;
  int64_t ms;
  if (file_hash(mp, &mh, &ms) != 0) recur_fail(mp, NULL, "cannot read back model");
  q += sprintf(
      q, "recur-checkpoint %d\nstep %lld\nworld %d\nn_params %lld\nmodel model.h5 %lld %016llx\n",
      CKPT_VERSION, (long long)st->step, W, (long long)n, (long long)ms, (unsigned long long)mh);
  for (int r = 0; r < W; r++)
    q += sprintf(q, "shard state-rank-%05d.h5 %llu %016llx %lld %llu\n", r,
                 (unsigned long long)all[3 * r], (unsigned long long)all[3 * r + 1],
                 (long long)(n * r / W), (unsigned long long)all[3 * r + 2]);
  char *cp = core_path("%s/COMMIT", dir), *lp = core_path("%s/latest", cdir);
  write_text_atomic(cp, txt);
  test_pause("commit", st->step); /* COMMIT written, latest not yet moved */
  snprintf(txt, cap, "step-%08lld\n", (long long)st->step);
  write_text_atomic(lp, txt);
  xfree(txt);
  xfree(cp);
  xfree(lp);
  xfree(all);
  if (keep > 0) { /* older committed checkpoints beyond the newest `keep` */
    char **l;
    int nl = list_ckpts(run, 1, &l);
    for (int i = 0; i < nl; i++) {
      if (i >= keep) remove_tree(l[i]);
      xfree(l[i]);
    }
    xfree(l);
  }
}

void ckpt_save(const char *run, const model *m, const model_vocab *v, const ckpt_counters *st,
               const ckpt_payload *p, int keep) {
  const int rank = core_rank(), W = core_world();
  const int64_t n = m->n_params;
  char *cdir = core_path("%s/checkpoints", run);
  char *dir = core_path("%s/step-%08lld", cdir, (long long)st->step);
  if (rank == 0) {
    mkdir(cdir, 0755);
    if (has_file(dir,
                 "COMMIT")) { /* already saved at this step (e.g. a signal right after a save) */
      int skip = 1;
      bcast_skip(&skip);
      xfree(cdir), xfree(dir);
      return;
    }
    remove_tree(dir);
    if (mkdir(dir, 0755) != 0)
      recur_fail(dir, "is the disk full or the run directory read-only?",
                 "cannot create checkpoint directory");
    core_fsync(cdir);
    int skip = 0;
    bcast_skip(&skip);
  } else {
    int skip = 0;
    bcast_skip(&skip);
    if (skip) return xfree(cdir), xfree(dir);
  }
  /* this rank's shard: its slice [lo, hi) of the optimizer moments and the streams it owns */
  int64_t lo = n * rank / W, hi = n * (rank + 1) / W;
  char *path = core_path("%s/state-rank-%05d.h5", dir, rank);
  char *tmp = core_path("%s.tmp", path);
  hid_t f = h5_create(tmp, "checkpoint shard", "is the disk full or the run directory read-only?");
  core_tempfile_add(tmp);
  h5_attr_set_str(f, "format", CKPT_STATE_FORMAT);
  h5_attr_set_str(f, "recur_version", recur_version()); /* the writer */
  h5_attr_set_i64(f, "version", CKPT_VERSION);
  h5_attr_set_i64(f, "step", st->step);
  h5_attr_set_i64(f, "rank", rank);
  h5_attr_set_i64(f, "world", W);
  h5_attr_set_i64(f, "n_params", n);
  h5_attr_set_i64(f, "lo", lo);
  h5_attr_set_i64(f, "hi", hi);
  h5_attr_set_i64(f, "optim_steps", p->opt->t);
  h5_attr_set_i64(f, "bad_total", st->bad_total);
  h5_attr_set_f64(f, "best_val", st->best_val);
  h5_attr_set_str(f, "options", p->options);
  write_floats(f, "exp_avg", 1, (hsize_t)(hi - lo), 0, 0, p->opt->state + lo);
  test_pause("shard", st->step);
  write_floats(f, "exp_avg_sq", 1, (hsize_t)(hi - lo), 0, 0, p->opt->state + n + lo);
  if (p->carry_h) write_streams(f, p);
  h5_close_file(f, tmp);
  core_commit(tmp, path);
  xfree(tmp);
  char *mp = core_path("%s/model.h5", dir);
  if (rank == 0) model_save(m, v, st->step, mp);
  /* report durable shards (core_commit synced each file and the directory) to rank 0: size and hash
   * of each */
  uint64_t mine[3] = {0, 0, 0};
  int64_t sz;
  if (file_hash(path, &mine[1], &sz) != 0)
    recur_fail(path, NULL, "cannot read back checkpoint shard");
  mine[0] = (uint64_t)sz;
  mine[2] = (uint64_t)hi;
  uint64_t *all = rank == 0 ? xmalloc((size_t)W * 3 * sizeof(uint64_t)) : NULL;
  dist_wait_begin("the checkpoint's shard list");
  MPI_Gather(mine, 3, MPI_UINT64_T, all, 3, MPI_UINT64_T, 0, core_comm());
  dist_wait_end();
  if (rank == 0) commit_manifest(run, cdir, dir, mp, st, p, n, W, all, keep);
  xfree(mp);
  xfree(path);
  xfree(dir);
  xfree(cdir);
  dist_barrier("the checkpoint's commit");
}

void ckpt_publish_model(const char *run, int64_t step, const model *m, const model_vocab *v) {
  char *src = core_path("%s/checkpoints/step-%08lld/model.h5", run, (long long)step);
  char *dst = core_path("%s/model.h5", run);
  char *tmp = core_path("%s.tmp-%d", dst, (int)getpid());
  unlink(tmp);
  if (link(src, tmp) == 0) { /* the checkpoint's bytes, without writing them again */
    core_tempfile_add(tmp);
    core_commit(tmp, dst);
  } else {
    model_save(m, v, step, dst);
  }
  xfree(src);
  xfree(dst);
  xfree(tmp);
}

/* ---- validation and loading ---- */
typedef struct {
  int64_t step, n_params;
  int world;
  char model_name[64];
  int64_t model_size;
  uint64_t model_hash;
  struct {
    char name[64];
    int64_t size;
    uint64_t hash;
    int64_t lo, hi;
  } * shard;
} manifest;

static int read_manifest(const char *dir, manifest *mf, char *err, int cap) {
  char line[512], *p = core_path("%s/COMMIT", dir);
  FILE *f = xfopen(p, "r");
  memset(mf, 0, sizeof *mf);
  if (!f) {
    snprintf(err, (size_t)cap, "missing commit marker (%s)", p);
    xfree(p);
    return -1;
  }
  int ver = 0, ok = fscanf(f, "recur-checkpoint %d\nstep %lld\nworld %d\nn_params %lld\n", &ver,
                           (long long *)&mf->step, &mf->world, (long long *)&mf->n_params) == 4;
  ok = ok && ver == CKPT_VERSION && mf->world > 0 && mf->world < (1 << 20);
  ok = ok && fscanf(f, "model %63s %lld %llx\n", mf->model_name, (long long *)&mf->model_size,
                    (unsigned long long *)&mf->model_hash) == 3;
  if (ok) mf->shard = xcalloc((size_t)mf->world, sizeof(*mf->shard));
  for (int r = 0; ok && r < mf->world; r++) {
    if (!fgets(line, sizeof line, f)) {
      ok = 0;
      break;
    }
    ok = sscanf(line, "shard %63s %lld %llx %lld %lld", mf->shard[r].name,
                (long long *)&mf->shard[r].size, (unsigned long long *)&mf->shard[r].hash,
                (long long *)&mf->shard[r].lo, (long long *)&mf->shard[r].hi) == 5;
  }
  xfclose(f);
  if (!ok) { /* found by fuzz_ckpt: the shard table leaked on a malformed manifest */
    snprintf(err, (size_t)cap, "commit marker is malformed (%s)", p);
    xfree(mf->shard);
    mf->shard = NULL;
  }
  xfree(p);
  return ok ? 0 : -1;
}

int ckpt_validate(const char *dir, char *err, int cap) {
  manifest mf;
  if (read_manifest(dir, &mf, err, cap) != 0) return -1;
  uint64_t h;
  int64_t sz;
  int rc = 0;
  for (int r = -1; r < mf.world && rc == 0; r++) {
    const char *name = r < 0 ? mf.model_name : mf.shard[r].name;
    int64_t want_size = r < 0 ? mf.model_size : mf.shard[r].size;
    uint64_t want_hash = r < 0 ? mf.model_hash : mf.shard[r].hash;
    char *p = core_path("%s/%s", dir, name);
    if (file_hash(p, &h, &sz) != 0) {
      snprintf(err, (size_t)cap, "missing file (%s)", p);
      rc = -1;
    } else if (sz != want_size) {
      snprintf(err, (size_t)cap, "size %lld, manifest says %lld: truncated (%s)", (long long)sz,
               (long long)want_size, p);
      rc = -1;
    } else if (h != want_hash) {
      snprintf(err, (size_t)cap, "content differs from the manifest's hash: damaged (%s)", p);
      rc = -1;
    } else if (r >= 0) {
      hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
      char fmt[64] = "";
      int64_t ver = 0, step = -1, lo = -1, hi = -1;
      if (f < 0 || !h5_attr_get_str(f, "format", fmt, sizeof fmt) ||
          strcmp(fmt, CKPT_STATE_FORMAT) != 0 || !h5_attr_get_i64(f, "version", &ver) ||
          ver != CKPT_VERSION || !h5_attr_get_i64(f, "step", &step) || step != mf.step ||
          !h5_attr_get_i64(f, "lo", &lo) || !h5_attr_get_i64(f, "hi", &hi) ||
          lo != mf.shard[r].lo || hi != mf.shard[r].hi) {
        snprintf(err, (size_t)cap, "format, version, step or range disagree with the manifest (%s)",
                 p);
        rc = -1;
      }
      if (f >= 0) H5Fclose(f);
    }
    xfree(p);
  }
  xfree(mf.shard);
  return rc;
}

char *ckpt_find_dir(const char *path) {
  int len = 0;
  char *dir = NULL;
  if (core_rank() == 0) {
    char err[1600];
    if (has_file(path, "COMMIT") ||
        (has_file(path, "model.h5") && !has_file(path, "metrics.jsonl"))) {
      if (ckpt_validate(path, err, sizeof err) != 0)
        recur_fail(path, "resume from the run directory to fall back to an older checkpoint",
                   "checkpoint is not usable: %s", err);
      dir = xstrdup(path);
    } else {
      char **l;
      int n = list_ckpts(path, 1, &l);
      if (n == 0)
        recur_fail(path, "give a run directory written by recur train (with --ckpt-every)",
                   "no committed checkpoint found");
      int found = -1;
      for (int i = 0; i < n && found < 0; i++) {
        if (ckpt_validate(l[i], err, sizeof err) == 0)
          found = i;
        else
          fprintf(stderr, "recur: warning: checkpoint %s is not usable: %s; trying an older one\n",
                  l[i], err);
      }
      if (found < 0) recur_fail(path, NULL, "no valid checkpoint left (all %d are damaged)", n);
      if (found > 0) fprintf(stderr, "recur: falling back to %s\n", l[found]);
      dir = xstrdup(l[found]);
      for (int i = 0; i < n; i++) xfree(l[i]);
      xfree(l);
    }
    len = (int)strlen(dir) + 1;
  }
  MPI_Bcast(&len, 1, MPI_INT, 0, core_comm());
  if (core_rank() != 0) dir = xmalloc((size_t)len);
  MPI_Bcast(dir, len, MPI_CHAR, 0, core_comm());
  return dir;
}

char *ckpt_saved_options(const char *dir) {
  char *shard = core_path("%s/state-rank-00000.h5", dir);
  hid_t f = h5_open(shard, 0);
  char *buf = xcalloc(65536, 1);
  if (!h5_attr_get_str(f, "options", buf, 65536))
    recur_fail(shard, NULL, "missing 'options' attribute");
  H5Fclose(f);
  xfree(shard);
  return buf;
}

static void read_floats(hid_t f, const char *name, float *out, int64_t n, const char *path) {
  char *where = core_path("%s:/%s", path, name);
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) recur_fail(where, NULL, "missing dataset");
  hid_t sp = H5Dget_space(d);
  if (H5Sget_simple_extent_npoints(sp) != n)
    recur_fail(where, NULL, "expected %lld values", (long long)n);
  if (n > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    recur_fail(where, "the shard is damaged (checksum mismatch)", "cannot read dataset");
  H5Sclose(sp);
  H5Dclose(d);
  xfree(where);
}

void ckpt_load_state(const char *dir, ckpt_payload *p, ckpt_counters *st) {
  manifest mf;
  char err[1600];
  if (read_manifest(dir, &mf, err, sizeof err) != 0) recur_fail(dir, NULL, "%s", err);
  const int64_t n = p->opt->n;
  if (mf.n_params != n)
    recur_fail(dir, NULL, "checkpoint has %lld parameters, the model %lld", (long long)mf.n_params,
               (long long)n);
  st->step = mf.step;
  st->world = mf.world;
  for (int r = 0; r < mf.world; r++) { /* every rank reads every shard: any world size can resume */
    char *path = core_path("%s/%s", dir, mf.shard[r].name);
    hid_t f = h5_open(path, 0);
    int64_t lo = mf.shard[r].lo, hi = mf.shard[r].hi, t = 0, step = -1;
    if (lo < 0 || hi > n || lo > hi)
      recur_fail(path, NULL, "parameter range [%lld, %lld) out of bounds", (long long)lo,
                 (long long)hi);
    if (!h5_attr_get_i64(f, "step", &step) || step != mf.step)
      recur_fail(path, NULL, "shard step %lld != manifest step %lld", (long long)step,
                 (long long)mf.step);
    read_floats(f, "exp_avg", p->opt->state + lo, hi - lo, path);
    read_floats(f, "exp_avg_sq", p->opt->state + n + lo, hi - lo, path);
    h5_attr_get_i64(f, "optim_steps", &t);
    p->opt->t = t;
    h5_attr_get_i64(f, "bad_total", &st->bad_total);
    h5_attr_get_f64(f, "best_val", &st->best_val);
    if (p->carry_h) {
      int64_t B = -1;
      if (!h5_attr_get_i64(f, "streams", &B) || B != p->B)
        recur_fail(path, "stream mode needs the same --batch",
                   "checkpoint has %lld streams, this run %d", (long long)B, p->B);
      hid_t d = H5Dopen2(f, "stream_ids", H5P_DEFAULT);
      if (d < 0) recur_fail(path, NULL, "missing stream_ids");
      int64_t k = h5_len_1d(d);
      uint64_t *ids = xmalloc((size_t)(k > 0 ? k : 1) * sizeof(uint64_t));
      if (k > 0 && H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) < 0)
        recur_fail(path, NULL, "cannot read stream_ids");
      H5Dclose(d);
      const int L = p->L, H = p->H;
      float *hh = xmalloc((size_t)L * (size_t)(k ? k : 1) * (size_t)H * sizeof(float));
      float *cc = xmalloc((size_t)L * (size_t)(k ? k : 1) * (size_t)H * sizeof(float));
      read_floats(f, "carry_h", hh, (int64_t)L * k * H, path);
      read_floats(f, "carry_c", cc, (int64_t)L * k * H, path);
      for (int64_t i = 0; i < k; i++) {
        if (ids[i] >= (uint64_t)p->B)
          recur_fail(path, NULL, "stream id %llu out of range", (unsigned long long)ids[i]);
        const int64_t j = p->slot[ids[i]], K = p->n_own;
        for (int l = 0; j >= 0 && l < L; l++) { /* another rank's stream: its shard is read there */
          memcpy(p->carry_h + ((int64_t)l * K + j) * H, hh + ((int64_t)l * k + i) * H,
                 (size_t)H * sizeof(float));
          memcpy(p->carry_c + ((int64_t)l * K + j) * H, cc + ((int64_t)l * k + i) * H,
                 (size_t)H * sizeof(float));
        }
      }
      xfree(ids);
      xfree(hh);
      xfree(cc);
    }
    H5Fclose(f);
    xfree(path);
  }
  xfree(mf.shard);
}

/* The saved options of checkpoint dir, those a resume may change (safe = 1) or not: JSON members
 * under j's open object, or text lines wrapped at 100 columns. */
static void print_options(const char *text, const opt_table *t, int safe, json_writer *j) {
  char *copy = xstrdup(text), *line = copy;
  int col = 100;
  while (line && *line) {
    char *nl = strchr(line, '\n'), *sp = strchr(line, ' ');
    if (nl) *nl = 0;
    int i = sp ? (*sp = 0, opts_find(t, line)) : -1;
    if (i >= 0 && !!(t->defs[i].flags & OPT_RESUME_SAFE) == safe) {
      if (j) {
        json_str(j, line, sp + 1);
      } else {
        int w = (int)(strlen(line) + strlen(sp + 1) + 2);
        if (col + w > 100) printf("\n   "), col = 3;
        printf(" %s %s", line, sp + 1);
        col += w;
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  if (!j) printf("\n");
  xfree(copy);
}

void ckpt_inspect(const char *dir, int json, const opt_table *options) {
  manifest mf;
  char err[1600];
  if (read_manifest(dir, &mf, err, sizeof err) != 0) recur_fail(dir, NULL, "%s", err);
  int ok = ckpt_validate(dir, err, sizeof err) == 0;
  char *mp = core_path("%s/model.h5", dir);
  if (json) {
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_object_begin(&j, "checkpoint");
    json_int(&j, "step", mf.step);
    json_int(&j, "world", mf.world);
    json_int(&j, "n_params", mf.n_params);
    json_bool(&j, "valid", ok);
    if (!ok) json_str(&j, "error", err);
    char *text = options && ok ? ckpt_saved_options(dir) : NULL;
    if (text) { /* the run's options: fixed for the run, and those a resume may change */
      json_object_begin(&j, "options");
      print_options(text, options, 0, &j);
      json_object_end(&j);
      json_object_begin(&j, "options_resume_may_change");
      print_options(text, options, 1, &j);
      json_object_end(&j);
      xfree(text);
    }
    json_object_end(&j);
    model_inspect(mp, &j, "model");
    json_object_end(&j);
  } else {
    printf("%s: checkpoint at step %lld, written by %d rank(s), %lld parameters, %s\n", dir,
           (long long)mf.step, mf.world, (long long)mf.n_params, ok ? "complete and valid" : err);
    char *text = options && ok ? ckpt_saved_options(dir) : NULL;
    if (text) {
      printf("  the run's options (fixed for the run):");
      print_options(text, options, 0, NULL);
      printf("  options a resume may change:");
      print_options(text, options, 1, NULL);
      xfree(text);
    }
    fflush(stdout);
    model_inspect(mp, NULL, NULL);
  }
  xfree(mp);
  xfree(mf.shard);
  if (!ok) {
    fflush(stdout);
    recur_fail(dir, "resume from the run directory to fall back to its newest valid checkpoint",
               "checkpoint is damaged: %s", err);
  }
}

/* h5: HDF5 helpers. */
#include "recur/h5.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"

/* Error-return mode (core.h): the HDF5 objects open when a catch begins; on a failure inside it,
 * every object opened since is closed. Plain malloc: these are not the library's allocations. */
typedef struct {
  hid_t *ids;
  ssize_t n;
} h5_snapshot;

static ssize_t open_ids(hid_t **ids) {
  ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof(hid_t));
  if (!*ids || n <= 0) return 0;
  return H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_ALL, (size_t)n, *ids);
}

static void *h5_catch_begin(void) {
  h5_snapshot *s = malloc(sizeof *s);
  if (s) s->n = open_ids(&s->ids);
  return s;
}

static void h5_catch_release(void *snapshot, int close) {
  h5_snapshot *s = snapshot;
  if (close) {
    hid_t *now;
    ssize_t n = open_ids(&now);
    for (int files = 0; files < 2; files++) /* objects first, then their files */
      for (ssize_t i = 0; i < n; i++) {
        int old = 0;
        for (ssize_t k = 0; s && k < s->n && !old; k++) old = s->ids[k] == now[i];
        H5I_type_t t = H5Iget_type(now[i]);
        if (old || (t == H5I_FILE) != files) continue;
        if (t == H5I_FILE)
          H5Fclose(now[i]);
        else if (t == H5I_DATASET)
          H5Dclose(now[i]);
        else if (t == H5I_GROUP)
          H5Gclose(now[i]);
        else if (t == H5I_DATATYPE)
          H5Tclose(now[i]);
        else if (t == H5I_ATTR)
          H5Aclose(now[i]);
      }
    free(now);
  }
  if (s) free(s->ids);
  free(s);
}

void h5_init(void) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  core_catch_hooks(h5_catch_begin, h5_catch_release);
}

hid_t h5_open(const char *path, int writable) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    recur_fail(path, "give the .h5 file inside it", "is a directory, not an HDF5 file");
  FILE *fp = fopen(path, "rb");
  if (!fp) recur_fail(path, NULL, "cannot open file: %s", strerror(errno));
  fclose(fp);
  if (H5Fis_hdf5(path) <= 0)
    recur_fail(path, "is this a file written by recur?", "not an HDF5 file (or truncated)");
  hid_t f = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) recur_fail(path, "the file may be truncated or damaged", "cannot open HDF5 file");
  return f;
}

/* Files are written in the 1.10 file format (superblock v3, object headers v2, fixed/extensible
 * array chunk indexes): every metadata object carries a checksum, so a damaged byte is an error
 * from HDF5 instead of a pointer it follows. h5py and PyTorch built on HDF5 >= 1.10 read them. */
hid_t h5_create(const char *path, const char *what, const char *hint) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0)
    recur_fail(path, hint ? hint : "check that the directory exists and is writable",
               "cannot create %s", what);
  return f;
}

void h5_close_file(hid_t f, const char *path) {
  if (H5Fflush(f, H5F_SCOPE_LOCAL) < 0 || H5Fclose(f) < 0)
    recur_fail(path, "is the disk full?", "cannot write file");
}

static hid_t fixed_utf8(size_t size, H5T_str_t pad) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, size);
  H5Tset_strpad(t, pad);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

/* a write that HDF5 refused (most often a full disk): named by file and object */
static _Noreturn void write_failed(hid_t loc, const char *what, const char *name) {
  char file[1024] = "?";
  H5Fget_name(loc, file, sizeof file);
  recur_fail(file, "is the disk full?", "cannot write %s %s", what, name);
}

static void attr_write(hid_t loc, const char *name, hid_t type, const void *val) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0 || H5Awrite(a, type, val) < 0) write_failed(loc, "attribute", name);
  H5Aclose(a);
  H5Sclose(sp);
}

/* Fixed-length UTF-8 (h5py reads bytes: .decode()). Not variable-length: those live in a global
 * heap that carries no checksum, and HDF5 follows a damaged heap's lengths out of bounds. A
 * fixed-length attribute lives in the object header, covered by its checksum. */
void h5_attr_set_str(hid_t loc, const char *name, const char *val) {
  hid_t t = fixed_utf8(strlen(val) + 1, H5T_STR_NULLTERM);
  attr_write(loc, name, t, val);
  H5Tclose(t);
}

void h5_attr_set_i64(hid_t loc, const char *name, int64_t val) {
  attr_write(loc, name, H5T_NATIVE_INT64, &val);
}
void h5_attr_set_f64(hid_t loc, const char *name, double val) {
  attr_write(loc, name, H5T_NATIVE_DOUBLE, &val);
}

int h5_attr_get_str(hid_t loc, const char *name, char *buf, size_t n) {
  if (H5Aexists(loc, name) <= 0) return 0;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  hid_t ft = H5Aget_type(a);
  int ok = 0;
  if (H5Tget_class(ft) == H5T_STRING) {
    if (H5Tis_variable_str(ft) > 0) {
      char *s = NULL;
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(ft));
      if (H5Aread(a, mt, &s) >= 0 && s) {
        snprintf(buf, n, "%s", s);
        H5free_memory(s);
        ok = 1;
      }
      H5Tclose(mt);
    } else {
      size_t sz = H5Tget_size(ft);
      char *tmp = xcalloc(sz + 1, 1);
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, sz + 1);
      H5Tset_cset(mt, H5Tget_cset(ft));
      if (H5Aread(a, mt, tmp) >= 0) {
        snprintf(buf, n, "%s", tmp);
        ok = 1;
      }
      H5Tclose(mt);
      xfree(tmp);
    }
  }
  H5Tclose(ft);
  H5Aclose(a);
  return ok;
}

static int attr_read_num(hid_t loc, const char *name, hid_t mt, void *out) {
  if (H5Aexists(loc, name) <= 0) return 0;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  hid_t ft = H5Aget_type(a);
  hid_t sp = H5Aget_space(a);
  H5T_class_t c = H5Tget_class(ft);
  int ok = (c == H5T_INTEGER || c == H5T_FLOAT) && H5Sget_simple_extent_npoints(sp) == 1 &&
           H5Aread(a, mt, out) >= 0;
  H5Sclose(sp);
  H5Tclose(ft);
  H5Aclose(a);
  return ok;
}

int h5_attr_get_i64(hid_t loc, const char *name, int64_t *out) {
  return attr_read_num(loc, name, H5T_NATIVE_INT64, out);
}
int h5_attr_get_f64(hid_t loc, const char *name, double *out) {
  return attr_read_num(loc, name, H5T_NATIVE_DOUBLE, out);
}

void h5_attr_set_i64s(hid_t loc, const char *name, const int64_t *val, int n) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hsize_t dims[1] = {(hsize_t)n};
  hid_t sp = H5Screate_simple(1, dims, NULL);
  hid_t a = H5Acreate2(loc, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0 || H5Awrite(a, H5T_NATIVE_INT64, val) < 0) write_failed(loc, "attribute", name);
  H5Aclose(a);
  H5Sclose(sp);
}

int h5_attr_get_i64s(hid_t loc, const char *name, int64_t *out, int cap) {
  if (H5Aexists(loc, name) <= 0) return -1;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  int ok = H5Tget_class(ft) == H5T_INTEGER && n >= 0 && n <= cap &&
           H5Sget_simple_extent_ndims(sp) <= 1 && H5Aread(a, H5T_NATIVE_INT64, out) >= 0;
  H5Sclose(sp);
  H5Tclose(ft);
  H5Aclose(a);
  return ok ? (int)n : -1;
}

static hid_t vlen_utf8(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

/* (n) fixed-length NUL-padded UTF-8 strings of the longest one's size, chunked with Fletcher32 */
void h5_write_strings(hid_t loc, const char *name, char *const *s, int64_t n) {
  size_t w = 1;
  for (int64_t i = 0; i < n; i++)
    if (strlen(s[i]) > w) w = strlen(s[i]);
  char *flat = xcalloc((size_t)(n > 0 ? n : 1), w);
  for (int64_t i = 0; i < n; i++) memcpy(flat + (size_t)i * w, s[i], strlen(s[i]));
  hid_t t = fixed_utf8(w, H5T_STR_NULLPAD);
  hsize_t d = (hsize_t)n;
  hid_t sp = H5Screate_simple(1, &d, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (n > 0) {
    hsize_t chunk = (1 << 20) / w; /* ~1 MiB a chunk */
    if (chunk > d) chunk = d;
    if (chunk < 1) chunk = 1;
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_fletcher32(dcpl);
  }
  hid_t ds = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (ds < 0 || (n > 0 && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat) < 0))
    write_failed(loc, "string array", name);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Tclose(t);
  xfree(flat);
}

/* Fixed-length (what recur writes) or variable-length (files of recur before the checksummed
 * format; a damaged global heap there is beyond what HDF5 checks). */
char **h5_read_strings(hid_t loc, const char *name, int64_t *n, const char *path) {
  char *where = core_path("%s:/%s", path, name);
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) recur_fail(where, NULL, "missing string array");
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
  if (ds < 0) recur_fail(where, "the file may be damaged", "cannot open string array");
  hid_t ft = H5Dget_type(ds);
  int64_t len = h5_len_1d(ds);
  int vlen = H5Tis_variable_str(ft) > 0;
  size_t w = vlen ? 0 : H5Tget_size(ft);
  if (H5Tget_class(ft) != H5T_STRING || len < 0 || (!vlen && (w == 0 || w > (1 << 20))))
    recur_fail(where, NULL, "expected a 1-D array of strings");
  char **out = xcalloc((size_t)len + 1, sizeof(char *));
  if (vlen) {
    char **raw = xcalloc((size_t)len + 1, sizeof(char *));
    hid_t t = vlen_utf8();
    if (len > 0 && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0)
      recur_fail(where, "the file may be damaged", "cannot read string array");
    for (int64_t i = 0; i < len; i++) {
      out[i] = xstrdup(raw[i] ? raw[i] : "");
      if (raw[i]) H5free_memory(raw[i]);
    }
    xfree(raw);
    H5Tclose(t);
  } else {
    char *flat = xcalloc((size_t)(len > 0 ? len : 1), w);
    hid_t t = fixed_utf8(w, H5T_STR_NULLPAD);
    if (len > 0 && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat) < 0)
      recur_fail(where, "the file may be damaged", "cannot read string array");
    for (int64_t i = 0; i < len; i++) {
      out[i] = xcalloc(w + 1, 1);
      memcpy(out[i], flat + (size_t)i * w, w);
    }
    xfree(flat);
    H5Tclose(t);
  }
  H5Tclose(ft);
  H5Dclose(ds);
  xfree(where);
  *n = len;
  return out;
}

void h5_write_bytes(hid_t loc, const char *name, const void *data, int64_t n) {
  const hsize_t len = (hsize_t)n;
  h5_write_array(loc, name, H5T_STD_U8LE, 1, &len, data);
}

void h5_write_array(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                    const void *data) {
  hsize_t total = 1;
  for (int i = 0; i < rank; i++) total *= dims[i];
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (total > 0) {
    hsize_t chunk[8];
    hsize_t budget = 1 << 18; /* ~256K elements a chunk */
    for (int i = rank - 1; i >= 0; i--) {
      chunk[i] = dims[i] < budget ? dims[i] : budget;
      if (chunk[i] == 0) chunk[i] = 1;
      budget = budget / chunk[i] ? budget / chunk[i] : 1;
    }
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_fletcher32(dcpl);
  }
  hid_t ds = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (ds < 0 || (total > 0 && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
    write_failed(loc, "array", name);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(sp);
}

/* a growing chunked, Fletcher32 dataset: 1-D (width 0) or 2-D (rows, width); the buffer counts
 * elements (1-D) or rows */
static void appender_create(h5_appender *a, hid_t loc, const char *name, hid_t filetype,
                            hid_t memtype, size_t elsize, uint64_t width, uint64_t chunk,
                            const char *path) {
  const int rank = width ? 2 : 1;
  hsize_t zero[2] = {0, width}, unlim[2] = {H5S_UNLIMITED, width}, ch[2] = {chunk, width};
  hid_t sp = H5Screate_simple(rank, zero, unlim);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, rank, ch);
  H5Pset_fletcher32(dcpl);
  a->dset = H5Dcreate2(loc, name, filetype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (a->dset < 0) recur_fail(path, "is the disk full?", "cannot create dataset %s", name);
  H5Pclose(dcpl);
  H5Sclose(sp);
  a->memtype = memtype;
  a->elsize = elsize * (width ? width : 1);
  a->n = a->nbuf = 0;
  a->cap = chunk * 4;
  a->buf = xmalloc(a->cap * a->elsize);
  a->path = path;
  a->width = width;
}

void h5_appender_open(h5_appender *a, hid_t loc, const char *name, hid_t filetype, hid_t memtype,
                      size_t elsize, uint64_t chunk, const char *path) {
  appender_create(a, loc, name, filetype, memtype, elsize, 0, chunk, path);
}

void h5_appender_open_rows(h5_appender *a, hid_t loc, const char *name, hid_t filetype,
                           hid_t memtype, size_t elsize, uint64_t width, uint64_t chunk_rows,
                           const char *path) {
  appender_create(a, loc, name, filetype, memtype, elsize, width, chunk_rows, path);
}

static void appender_flush(h5_appender *a) {
  if (a->nbuf == 0) return;
  const int rank = a->width ? 2 : 1;
  hsize_t newsize[2] = {a->n + a->nbuf, a->width}, start[2] = {a->n, 0},
          count[2] = {a->nbuf, a->width};
  if (H5Dset_extent(a->dset, newsize) < 0)
    recur_fail(a->path, "is the disk full?", "cannot extend dataset");
  hid_t fs = H5Dget_space(a->dset);
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t ms = H5Screate_simple(rank, count, NULL);
  if (H5Dwrite(a->dset, a->memtype, ms, fs, H5P_DEFAULT, a->buf) < 0)
    recur_fail(a->path, "is the disk full?", "cannot write dataset");
  H5Sclose(ms);
  H5Sclose(fs);
  a->n += a->nbuf;
  a->nbuf = 0;
}

void h5_appender_push(h5_appender *a, const void *data, uint64_t n) {
  const char *p = data;
  while (n > 0) {
    uint64_t k = a->cap - a->nbuf < n ? a->cap - a->nbuf : n;
    memcpy(a->buf + a->nbuf * a->elsize, p, k * a->elsize);
    a->nbuf += k;
    p += k * a->elsize;
    n -= k;
    if (a->nbuf == a->cap) appender_flush(a);
  }
}

void h5_appender_close(h5_appender *a) {
  appender_flush(a);
  H5Dclose(a->dset);
  xfree(a->buf);
  a->buf = NULL;
}

int h5_read_range(hid_t dset, hid_t memtype, uint64_t start, uint64_t count, void *out) {
  if (count == 0) return 0;
  hsize_t s = start, c = count;
  hid_t fs = H5Dget_space(dset);
  if (fs < 0) return -1;
  herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &s, NULL, &c, NULL);
  hid_t ms = H5Screate_simple(1, &c, NULL);
  if (e >= 0) e = H5Dread(dset, memtype, ms, fs, H5P_DEFAULT, out);
  H5Sclose(ms);
  H5Sclose(fs);
  return e < 0 ? -1 : 0;
}

int h5_read_rows(hid_t dset, hid_t memtype, uint64_t start, uint64_t count, uint64_t width,
                 void *out) {
  if (count == 0) return 0;
  hsize_t s[2] = {start, 0}, c[2] = {count, width};
  hid_t fs = H5Dget_space(dset);
  if (fs < 0) return -1;
  herr_t e = H5Sget_simple_extent_ndims(fs) == 2 ? 0 : -1;
  if (e >= 0) e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, s, NULL, c, NULL);
  hid_t ms = H5Screate_simple(2, c, NULL);
  if (e >= 0) e = H5Dread(dset, memtype, ms, fs, H5P_DEFAULT, out);
  H5Sclose(ms);
  H5Sclose(fs);
  return e < 0 ? -1 : 0;
}

int64_t h5_len_1d(hid_t dset) {
  hid_t sp = H5Dget_space(dset);
  if (sp < 0) return -1;
  int r = H5Sget_simple_extent_ndims(sp);
  hsize_t d = 0;
  if (r == 1) H5Sget_simple_extent_dims(sp, &d, NULL);
  H5Sclose(sp);
  return r == 1 ? (int64_t)d : -1;
}

int64_t h5_bytes_len(hid_t loc, const char *name) {
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return -1;
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0) return -1;
  int64_t len = h5_len_1d(d);
  H5Dclose(d);
  return len;
}

unsigned char *h5_read_bytes_opt(hid_t loc, const char *name, int64_t n, const char *path) {
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return NULL;
  char *where = core_path("%s:/%s", path, name);
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0) recur_fail(where, NULL, "cannot open the dataset");
  int64_t len = h5_len_1d(d);
  if (n < 0) n = len; /* any length */
  if (len != n || len < 0)
    recur_fail(where, NULL, "%lld entries, expected %lld", (long long)len, (long long)n);
  unsigned char *out = xmalloc((size_t)(n > 0 ? n : 1));
  if (n > 0 && h5_read_range(d, H5T_NATIVE_UCHAR, 0, (uint64_t)n, out) != 0)
    recur_fail(where, NULL, "cannot read it");
  H5Dclose(d);
  xfree(where);
  return out;
}

/* h5: small HDF5 helpers (attributes, strings, chunked+checksummed arrays, appenders). Every
 * helper that fails calls recur_fail naming the file and object. */
#ifndef RECUR_H5_H
#define RECUR_H5_H

#include <hdf5.h>
#include <stdint.h>

void h5_init(void);                            /* silence HDF5's own error stack printing */
hid_t h5_open(const char *path, int writable); /* error names path if missing / not HDF5 */
/* Truncate-create in the checksummed 1.10 format; a failure names path and what ("model file"),
 * with hint (or a default one). */
hid_t h5_create(const char *path, const char *what, const char *hint);
void h5_close_file(hid_t f, const char *path); /* close; flush errors (full disk) are fatal */

void h5_attr_set_str(hid_t loc, const char *name, const char *val);
void h5_attr_set_i64(hid_t loc, const char *name, int64_t val);
void h5_attr_set_f64(hid_t loc, const char *name, double val);
/* Getters return 1 if present and of the right class, 0 if missing. */
int h5_attr_get_str(hid_t loc, const char *name, char *buf, size_t n);
int h5_attr_get_i64(hid_t loc, const char *name, int64_t *out);
int h5_attr_get_f64(hid_t loc, const char *name, double *out);
/* (n) integers as a 1-D attribute (h5py: a numpy array); get returns how many (at most cap), or -1
 * when it is missing or not such an array */
void h5_attr_set_i64s(hid_t loc, const char *name, const int64_t *val, int n);
int h5_attr_get_i64s(hid_t loc, const char *name, int64_t *out, int cap);

/* UTF-8 string array (written fixed-length, chunked, Fletcher32; variable-length read too). read
 * returns a malloc'd array of malloc'd strings or fails naming path:name. */
void h5_write_strings(hid_t loc, const char *name, char *const *s, int64_t n);
char **h5_read_strings(hid_t loc, const char *name, int64_t *n, const char *path);

/* A dense array written in one go, chunked with Fletcher32 when it is not empty. */
void h5_write_array(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                    const void *data);

/* A growing 1-D chunked, Fletcher32-checksummed dataset fed through a buffer. */
typedef struct {
  hid_t dset;
  hid_t memtype;
  size_t elsize;
  uint64_t n;    /* elements written to the file so far */
  uint64_t nbuf; /* elements waiting in buf */
  uint64_t cap;  /* buffer capacity in elements */
  char *buf;
  const char *path;
  uint64_t
      width; /* h5_appender_open_rows: elements per row of a 2-D (rows, width) dataset; 0: 1-D */
} h5_appender;
void h5_appender_open(h5_appender *a, hid_t loc, const char *name, hid_t filetype, hid_t memtype,
                      size_t elsize, uint64_t chunk, const char *path);
/* The same for a growing 2-D (rows, width) dataset: push and the counts are in rows. */
void h5_appender_open_rows(h5_appender *a, hid_t loc, const char *name, hid_t filetype,
                           hid_t memtype, size_t elsize, uint64_t width, uint64_t chunk_rows,
                           const char *path);
void h5_appender_push(h5_appender *a, const void *data, uint64_t n);
void h5_appender_close(h5_appender *a); /* flushes */

/* Read count elements from start of a 1-D dataset, converted to memtype. Returns 0 or -1. */
int h5_read_range(hid_t dset, hid_t memtype, uint64_t start, uint64_t count, void *out);
/* Read rows [start, start+count) of a 2-D (rows, width) dataset. Returns 0 or -1. */
int h5_read_rows(hid_t dset, hid_t memtype, uint64_t start, uint64_t count, uint64_t width,
                 void *out);
/* n bytes as a 1-D uint8 dataset (h5_write_array's layout); h5_read_bytes_opt reads it back */
void h5_write_bytes(hid_t loc, const char *name, const void *data, int64_t n);

/* Number of elements of a 1-D dataset, -1 if not 1-D. */
int64_t h5_len_1d(hid_t dset);
/* An optional 1-D dataset of n bytes (n < 0: of any length, h5_bytes_len tells it): malloc'd, or
 * NULL when loc has no `name`; another length or a read error fails naming path:/name. */
unsigned char *h5_read_bytes_opt(hid_t loc, const char *name, int64_t n, const char *path);
int64_t h5_bytes_len(hid_t loc, const char *name); /* -1 when absent */

#endif

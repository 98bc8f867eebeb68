/* h5tool: test helper that damages recur files on purpose and compares models.
 *   h5tool set-token FILE SPLIT INDEX VALUE     write one token id
 *   h5tool set-attr FILE NAME VALUE             set a string attribute on /
 *   h5tool swap-offsets FILE SPLIT I            make offsets[I] > offsets[I+1]
 *   h5tool delete FILE OBJECT                   unlink an object
 *   h5tool compare A.h5 B.h5 TOL                max |a-b| over float datasets; exit 1 if > TOL */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/h5.h"

static hid_t open_rw(const char *p) {
  hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) {
    fprintf(stderr, "h5tool: cannot open %s\n", p);
    exit(2);
  }
  return f;
}

static void write_u64_at(hid_t d, hid_t mt, hsize_t i, const void *v) {
  hid_t fs = H5Dget_space(d);
  hsize_t one = 1;
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &i, NULL, &one, NULL);
  hid_t ms = H5Screate_simple(1, &one, NULL);
  if (H5Dwrite(d, mt, ms, fs, H5P_DEFAULT, v) < 0) {
    fprintf(stderr, "h5tool: write failed\n");
    exit(2);
  }
  H5Sclose(ms);
  H5Sclose(fs);
}

static double max_diff;
static hid_t g_other;
static herr_t cmp_cb(hid_t loc, const char *name, const H5O_info_t *info, void *op) {
  (void)op;
  if (info->type != H5O_TYPE_DATASET) return 0;
  hid_t a = H5Dopen2(loc, name, H5P_DEFAULT), t = H5Dget_type(a);
  if (H5Tget_class(t) == H5T_FLOAT) {
    hid_t b = H5Dopen2(g_other, name, H5P_DEFAULT);
    if (b < 0) {
      fprintf(stderr, "h5tool: %s missing in second file\n", name);
      exit(1);
    }
    hssize_t n = H5Sget_simple_extent_npoints(H5Dget_space(a));
    if (n != H5Sget_simple_extent_npoints(H5Dget_space(b))) {
      fprintf(stderr, "h5tool: %s sizes differ\n", name);
      exit(1);
    }
    double *x = malloc((size_t)n * sizeof(double)), *y = malloc((size_t)n * sizeof(double));
    H5Dread(a, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    H5Dread(b, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, y);
    for (hssize_t i = 0; i < n; i++) max_diff = fmax(max_diff, fabs(x[i] - y[i]));
    free(x);
    free(y);
    H5Dclose(b);
  }
  H5Tclose(t);
  H5Dclose(a);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: see the source\n");
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "set-token") && argc == 6) {
    hid_t f = open_rw(argv[2]);
    char p[256];
    snprintf(p, sizeof p, "/%s/tokens", argv[3]);
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    unsigned long long v = strtoull(argv[5], NULL, 10);
    write_u64_at(d, H5T_NATIVE_ULLONG, strtoull(argv[4], NULL, 10), &v);
    H5Dclose(d);
    H5Fclose(f);
  } else if (!strcmp(cmd, "set-attr") && argc == 5) {
    hid_t f = open_rw(argv[2]);
    h5_attr_set_str(f, argv[3], argv[4]);
    H5Fclose(f);
  } else if (!strcmp(cmd, "swap-offsets") && argc == 5) {
    hid_t f = open_rw(argv[2]);
    char p[256];
    snprintf(p, sizeof p, "/%s/offsets", argv[3]);
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    unsigned long long i = strtoull(argv[4], NULL, 10), big = 1ull << 40;
    write_u64_at(d, H5T_NATIVE_ULLONG, i, &big);
    H5Dclose(d);
    H5Fclose(f);
  } else if (!strcmp(cmd, "delete") && argc == 4) {
    hid_t f = open_rw(argv[2]);
    if (H5Ldelete(f, argv[3], H5P_DEFAULT) < 0) {
      fprintf(stderr, "h5tool: cannot delete %s\n", argv[3]);
      return 2;
    }
    H5Fclose(f);
  } else if (!strcmp(cmd, "compare") && argc == 5) {
    hid_t a = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    g_other = H5Fopen(argv[3], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (a < 0 || g_other < 0) {
      fprintf(stderr, "h5tool: cannot open inputs\n");
      return 2;
    }
    H5Ovisit(a, H5_INDEX_NAME, H5_ITER_NATIVE, cmp_cb, NULL);
    double tol = atof(argv[4]);
    printf("max abs difference %.3g (tolerance %.3g)\n", max_diff, tol);
    return max_diff <= tol ? 0 : 1;
  } else {
    fprintf(stderr, "h5tool: bad command\n");
    return 2;
  }
  return 0;
}

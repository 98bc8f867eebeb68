/* fuzz: shared by the libFuzzer harnesses. Each takes bytes, writes them to a file where the
 * reader needs one, and calls librecur in its error-return mode (core.h RECUR_CATCH): a named
 * error is a fine outcome; a crash, a sanitizer report, a hang, a leak or an allocation beyond
 * libFuzzer's -malloc_limit_mb is a finding. */
#ifndef RECUR_FUZZ_H
#define RECUR_FUZZ_H
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recur/core.h"
#include "recur/h5.h"

/* a per-process scratch file for the input */
static inline const char *fuzz_path(const char *suffix) {
  static char path[256];
  snprintf(path, sizeof path, "/tmp/recur-fuzz-%d%s", (int)getpid(), suffix);
  return path;
}

static inline void fuzz_write(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
}

/* the library's messages go to a catch, not stderr; HDF5's own error printing is off */
static inline void fuzz_init(void) {
  static int done;
  if (!done) h5_init();
  done = 1;
}
#endif

/* the checkpoint reader: a committed checkpoint (RECUR_FUZZ_CKPT, one rank, made by the seed
 * script) is copied; the first byte picks what the rest replaces: the COMMIT manifest (mode 0),
 * or rank 0's state shard with a COMMIT that matches it (mode 1), so the shard's contents are
 * read past the hash check. Then validation, the saved options, and their parse. */
#include <sys/stat.h>

#include "fuzz.h"
#include "recur/ckpt.h"
#include "recur/train.h"

static char dir[256];
static char
    *commit_head; /* the template's COMMIT up to its shard line (model.h5 is copied as is) */
static long long shard_lo, shard_hi;

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz_ckpt: cannot read %s (set RECUR_FUZZ_CKPT to a checkpoint)\n", path);
    abort();
  }
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n + 1);
  if (fread(b, 1, *n, f) != *n) abort();
  b[*n] = 0;
  fclose(f);
  return b;
}

static uint64_t fnv(const uint8_t *b, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  const char *src = getenv("RECUR_FUZZ_CKPT");
  char p[512];
  size_t n;
  snprintf(p, sizeof p, "%s/model.h5", src ? src : ".");
  uint8_t *model = slurp(p, &n);
  snprintf(dir, sizeof dir, "/tmp/recur-fuzz-ckpt-%d", (int)getpid());
  mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/model.h5", dir);
  fuzz_write(p, model, n);
  free(model);
  snprintf(p, sizeof p, "%s/COMMIT", src ? src : ".");
  commit_head = (char *)slurp(p, &n);
  char *sh = strstr(commit_head, "\nshard ");
  if (!sh || sscanf(sh, "\nshard %*s %*s %*s %lld %lld", &shard_lo, &shard_hi) != 2) abort();
  sh[1] = 0; /* keep the lines before the shard line */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char cp[512], sp[512];
  snprintf(cp, sizeof cp, "%s/COMMIT", dir);
  snprintf(sp, sizeof sp, "%s/state-rank-00000.h5", dir);
  if (data[0] % 2 == 0) {
    fuzz_write(cp, data + 1, size - 1);
  } else {
    fuzz_write(sp, data + 1, size - 1);
    FILE *f = fopen(cp, "w"); /* the template's manifest with this shard's size and hash */
    fprintf(f, "%sshard state-rank-00000.h5 %zu %016llx %lld %lld\n", commit_head, size - 1,
            (unsigned long long)fnv(data + 1, size - 1), shard_lo, shard_hi);
    fclose(f);
  }
  char err[512];
  recur_catch c;
  if (RECUR_CATCH(&c) == 0) {
    if (ckpt_validate(dir, err, sizeof err) == 0) {
      char *text = ckpt_saved_options(dir);
      train_opts o;
      train_opts_default(&o);
      opts_load_text(train_options(), &o, text, dir);
      train_opts_free(&o);
      xfree(text);
    }
    recur_catch_end(&c);
  }
  return 0;
}

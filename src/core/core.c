/* core: errors, allocation, rank info, timing. */
#define _POSIX_C_SOURCE 200809L
#include "recur/core.h"

#include <mpi.h>
#ifdef RECUR_SMPI
#include <smpi/smpi.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static char *g_temp[64];
static int g_ntemp;

/* ---- error-return mode: what the library acquires while a catch is active ---- */
typedef struct {
  void *p;
  size_t seq; /* 0: empty slot */
} tracked;
static recur_catch *g_catch;
static tracked *g_mem; /* open-addressing hash set of live allocations */
static size_t g_mem_cap, g_mem_n, g_seq;
static FILE *g_files[64];
static size_t g_files_seq[64];
static int g_nfiles;
static void *(*g_hook_begin)(void);
static void (*g_hook_release)(void *, int);

static size_t slot_of(const void *p, size_t cap) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
  return (size_t)(h >> 17) & (cap - 1);
}

static void mem_insert(tracked *t, size_t cap, void *p, size_t seq) {
  size_t i = slot_of(p, cap);
  while (t[i].seq) i = (i + 1) & (cap - 1);
  t[i].p = p;
  t[i].seq = seq;
}

static void mem_track(void *p) {
  if (!g_catch || !p) return;
  if (2 * (g_mem_n + 1) > g_mem_cap) { /* grow (plain calloc/free: not tracked themselves) */
    size_t cap = g_mem_cap ? 2 * g_mem_cap : 1024;
    tracked *t = calloc(cap, sizeof(tracked));
    if (!t) return; /* tracking is best effort under memory exhaustion */
    for (size_t i = 0; i < g_mem_cap; i++)
      if (g_mem[i].seq) mem_insert(t, cap, g_mem[i].p, g_mem[i].seq);
    free(g_mem);
    g_mem = t;
    g_mem_cap = cap;
  }
  mem_insert(g_mem, g_mem_cap, p, ++g_seq);
  g_mem_n++;
}

static void mem_forget(void *p) {
  if (!g_mem_n || !p) return;
  size_t i = slot_of(p, g_mem_cap);
  while (g_mem[i].seq && g_mem[i].p != p) i = (i + 1) & (g_mem_cap - 1);
  if (!g_mem[i].seq) return;
  g_mem[i].seq = 0;
  g_mem_n--;
  /* re-insert the rest of the cluster so lookups stay correct */
  for (size_t j = (i + 1) & (g_mem_cap - 1); g_mem[j].seq; j = (j + 1) & (g_mem_cap - 1)) {
    tracked e = g_mem[j];
    g_mem[j].seq = 0;
    mem_insert(g_mem, g_mem_cap, e.p, e.seq);
  }
}

void xfree(void *p) {
  mem_forget(p);
  free(p);
}

FILE *xfopen(const char *path, const char *mode) { return xfadopt(fopen(path, mode)); }

FILE *xfadopt(FILE *f) {
  if (f && g_catch && g_nfiles < 64) {
    g_files[g_nfiles] = f;
    g_files_seq[g_nfiles++] = ++g_seq;
  }
  return f;
}

int xfclose(FILE *f) {
  for (int i = 0; i < g_nfiles; i++)
    if (g_files[i] == f) {
      g_files[i] = g_files[--g_nfiles];
      g_files_seq[i] = g_files_seq[g_nfiles];
      break;
    }
  return fclose(f);
}

void core_catch_hooks(void *(*begin)(void), void (*release)(void *, int)) {
  g_hook_begin = begin;
  g_hook_release = release;
}

void recur_catch_begin(recur_catch *c) {
  c->prev = g_catch;
  c->code = 0;
  c->msg[0] = 0;
  c->mark = g_seq;
  c->h5_open = g_hook_begin ? g_hook_begin() : NULL;
  g_catch = c;
}

static void catch_pop(recur_catch *c) {
  g_catch = c->prev;
  if (g_hook_release) g_hook_release(c->h5_open, 0); /* the snapshot only */
  c->h5_open = NULL;
  if (!g_catch) { /* outermost: nothing is tracked any more */
    free(g_mem);
    g_mem = NULL;
    g_mem_cap = g_mem_n = 0;
    g_nfiles = 0;
  }
}

void recur_catch_end(recur_catch *c) {
  RECUR_ASSERT(g_catch == c);
  catch_pop(c);
}

/* a failure inside a catch: release what was acquired since it began, then return to it */
static _Noreturn void catch_fail(int code, const char *text) {
  recur_catch *c = g_catch;
  for (int i = 0; i < g_ntemp; i++) unlink(g_temp[i]);
  while (g_ntemp > 0) core_tempfile_forget(g_temp[0]);
  if (g_hook_release) g_hook_release(c->h5_open, 1);
  c->h5_open = NULL;
  for (int i = g_nfiles - 1; i >= 0; i--)
    if (g_files_seq[i] > c->mark) {
      fclose(g_files[i]);
      g_files[i] = g_files[--g_nfiles];
      g_files_seq[i] = g_files_seq[g_nfiles];
    }
  for (size_t i = 0; i < g_mem_cap; i++) /* walk by value: freeing does not move entries */
    if (g_mem[i].seq > c->mark) {
      free(g_mem[i].p);
      g_mem[i].seq = 0;
      g_mem_n--;
    }
  if (g_mem_n) { /* rebuild the table of what outer catches still track */
    tracked *old = g_mem;
    size_t cap = g_mem_cap;
    g_mem = calloc(cap, sizeof(tracked));
    if (!g_mem) g_mem_cap = g_mem_n = 0; /* tracking is best effort under memory exhaustion */
    for (size_t i = 0; g_mem && i < cap; i++)
      if (old[i].seq) mem_insert(g_mem, cap, old[i].p, old[i].seq);
    free(old);
  }
  c->code = code;
  snprintf(c->msg, sizeof c->msg, "%s", text);
  catch_pop(c);
  longjmp(c->jb, code);
}

void core_tempfile_add(const char *path) {
  RECUR_ASSERT(g_ntemp < 64);
  g_temp[g_ntemp++] = xstrdup(path);
}

void core_tempfile_forget(const char *path) {
  for (int i = 0; i < g_ntemp; i++)
    if (strcmp(g_temp[i], path) == 0) {
      xfree(g_temp[i]);
      g_temp[i] = g_temp[--g_ntemp];
      return;
    }
}

const char *recur_version(void) { return RECUR_VERSION; }

static MPI_Comm g_comm = MPI_COMM_NULL; /* NULL: MPI_COMM_WORLD */

MPI_Comm core_comm(void) { return g_comm == MPI_COMM_NULL ? MPI_COMM_WORLD : g_comm; }

int core_rank(void) {
  int init = 0, fin = 0, r = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Comm_rank(core_comm(), &r);
  return r;
}

int core_world(void) {
  int init = 0, fin = 0, n = 1;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Comm_size(core_comm(), &n);
  return n;
}

/* Errors every rank meets alike (flags, the dataset, a resume's agreement: the setup phase) are
 * printed once, by rank 0, and the job ends through MPI_Finalize with the error's exit code: no
 * MPI_Abort and its banner. The ranks agree that they all failed on a communicator of their own
 * (an MPI_Ibarrier that matches nothing else); a rank whose error the others did not meet within
 * AGREE_WAIT_S seconds prints it itself and calls MPI_Abort, so no rank hangs either way. */
#define AGREE_WAIT_S 5.0
static MPI_Comm g_agree_comm = MPI_COMM_NULL;
static void (*g_on_exit)(void);
void core_on_exit(void (*fn)(void)) { g_on_exit = fn; }
static int g_agreed;

void core_init(void) {
  if (g_agree_comm != MPI_COMM_NULL) MPI_Comm_free(&g_agree_comm);
  if (core_world() > 1) MPI_Comm_dup(core_comm(), &g_agree_comm);
}

void core_set_comm(MPI_Comm comm) {
  if (comm == core_comm()) return;
  g_comm = comm == MPI_COMM_WORLD ? MPI_COMM_NULL : comm;
  core_init(); /* the errors' agreement on the new ranks */
}

void core_errors_agreed(int on) { g_agreed = on; }

static void print_error(const char *prefix, const char *where, const char *hint, const char *msg) {
  if (where)
    fprintf(stderr, "%srecur: error: %s (%s)\n", prefix, msg, where);
  else
    fprintf(stderr, "%srecur: error: %s\n", prefix, msg);
  if (hint) fprintf(stderr, "hint: %s\n", hint);
}

static _Noreturn void end_process(int code, const char *where, const char *hint, const char *msg) {
  if (g_catch) {
    char text[1536];
    int n = snprintf(text, sizeof text, where ? "recur: error: %s (%s)\n" : "recur: error: %s\n",
                     msg, where);
    if (hint && n > 0 && (size_t)n < sizeof text)
      snprintf(text + n, sizeof text - (size_t)n, "hint: %s\n", hint);
    catch_fail(code, text);
  }
  const int world = core_world(), rank = core_rank();
  char prefix[32] = "";
  if (world > 1) snprintf(prefix, sizeof prefix, "[rank %d] ", rank);
  int agreed = g_agreed && world > 1 && g_agree_comm != MPI_COMM_NULL;
  if (!agreed || rank == 0) print_error(agreed ? "" : prefix, where, hint, msg);
  for (int i = 0; i < g_ntemp; i++) unlink(g_temp[i]);
  fflush(stdout);
  fflush(stderr);
  if (agreed) {
    MPI_Request rq;
    int done = 0;
    MPI_Ibarrier(g_agree_comm, &rq);
    for (double t0 = core_now(); !done && core_now() - t0 < AGREE_WAIT_S;) {
      MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
      const struct timespec tick = {0, 2000000}; /* a variable: SMPI's nanosleep is a macro */
      if (!done) nanosleep(&tick, NULL);
    }
    if (done) { /* every rank met it: one message, a clean end */
      MPI_Finalize();
      if (g_on_exit) g_on_exit();
      _exit(code);
    }
    if (rank != 0) print_error(prefix, where, hint, msg); /* this rank alone met it */
    fflush(stderr);
  }
  if (world > 1) MPI_Abort(core_comm(), code);
  if (g_on_exit) g_on_exit();
  /* _exit, not exit: library exit handlers (HDF5 closing files on a full disk) must not turn a
   * clear error into a crash */
  _exit(code);
}

static _Noreturn void vfail(int code, const char *where, const char *hint, const char *fmt,
                            va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  end_process(code, where, hint, msg);
}

void recur_fail(const char *where, const char *hint, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(RECUR_EXIT_ERROR, where, hint, fmt, ap);
}

void recur_usage_fail(const char *hint, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(RECUR_EXIT_USAGE, NULL, hint, fmt, ap);
}

void recur_assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "recur: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
  fflush(stderr);
  if (core_world() > 1) MPI_Abort(core_comm(), 2);
  abort();
}

void core_fsync(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) recur_fail(path, NULL, "cannot open for sync: %s", strerror(errno));
  if (fsync(fd) != 0) recur_fail(path, "is the disk full?", "cannot sync: %s", strerror(errno));
  close(fd);
}

void core_commit(const char *tmp, const char *final) {
  core_fsync(tmp);
  if (rename(tmp, final) != 0)
    recur_fail(final, NULL, "cannot rename %s into place: %s", tmp, strerror(errno));
  core_tempfile_forget(tmp);
  const char *slash = strrchr(final, '/');
  char *dir = slash ? core_path("%.*s", (int)(slash - final), final) : xstrdup(".");
  core_fsync(dir[0] ? dir : "/");
  xfree(dir);
}

/* what memory is being taken for, and the flag that bounds it (core_oom_context) */
static const char *g_oom_what, *g_oom_hint;

void core_oom_context(const char *what, const char *hint, const char **prev_what,
                      const char **prev_hint) {
  if (prev_what) *prev_what = g_oom_what;
  if (prev_hint) *prev_hint = g_oom_hint;
  g_oom_what = what;
  g_oom_hint = hint;
}

/* out of memory: the error names what the memory was for and the flag that bounds it; the source
 * line only when no context was set (a bug to report rather than a flag to change) */
static _Noreturn void oom(size_t n, size_t s, const char *file, int line, const char *more) {
  char where[256];
  snprintf(where, sizeof where, "%s:%d", file, line);
  if (g_oom_what)
    recur_fail(NULL, g_oom_hint, "out of memory: %zu bytes for %s%s", n * (s ? s : 1), g_oom_what,
               more);
  recur_fail(where, "check the input file", "out of memory allocating %zu bytes%s", n * (s ? s : 1),
             more);
}

/* more than the machine's memory (a damaged header's length, an overflowed product) is refused
 * before malloc is asked: a named error instead of an allocator abort or a swap storm */
static void too_big(size_t n, size_t s, const char *file, int line) {
  static size_t phys;
  if (!phys) {
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    phys = pages > 0 && psz > 0 ? (size_t)pages * (size_t)psz : (size_t)1 << 40;
  }
  if (s && n > phys / s) {
    char more[96];
    snprintf(more, sizeof more, " (more than this machine's %zu)", phys);
    if (n <= SIZE_MAX / s) oom(n, s, file, line, more);
    oom(SIZE_MAX, 1, file, line, more);
  }
}

void *core_malloc(size_t n, const char *file, int line) {
  too_big(n, 1, file, line);
  void *p = malloc(n ? n : 1);
  mem_track(p);
  if (!p) oom(n, 1, file, line, "");
  return p;
}

void *core_calloc(size_t n, size_t s, const char *file, int line) {
  too_big(n, s, file, line);
  void *p = calloc(n ? n : 1, s ? s : 1);
  mem_track(p);
  if (!p) oom(n, s, file, line, "");
  return p;
}

void *core_realloc(void *p, size_t n, const char *file, int line) {
  too_big(n, 1, file, line);
  mem_forget(p);
  void *q = realloc(p, n ? n : 1);
  mem_track(q ? q : p); /* on failure p is still live (and still ours) */
  if (!q) oom(n, 1, file, line, "");
  return q;
}

static int g_fold; /* core_fold_on: a replay's parameter-sized buffers shared by all ranks */

void core_fold_on(void) { g_fold = 1; }
int core_folded(void) { return g_fold; }

void *core_calloc_fold(size_t n, size_t s, const char *file, int line) {
#ifdef RECUR_SMPI
  if (g_fold) { /* not zeroed: the file SMPI maps is new (zeros), and nothing reads the values */
    too_big(n, s, file, line);
    void *p = smpi_shared_malloc((n ? n : 1) * (s ? s : 1), file, line);
    mem_track(p);
    if (!p) oom(n, s, file, line, "");
    return p;
  }
#endif
  return core_calloc(n, s, file, line);
}

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = xmalloc(n);
  memcpy(p, s, n);
  return p;
}

static void merge_sort(char *a, char *tmp, size_t n, size_t size,
                       int (*cmp)(const void *, const void *, void *), void *ctx) {
  if (n < 2) return;
  size_t h = n / 2, i = 0, j = h, k = 0;
  merge_sort(a, tmp, h, size, cmp, ctx);
  merge_sort(a + h * size, tmp, n - h, size, cmp, ctx);
  while (i < h && j < n) {
    size_t from = cmp(a + j * size, a + i * size, ctx) < 0 ? j++ : i++;
    memcpy(tmp + k++ * size, a + from * size, size);
  }
  memcpy(tmp + k * size, a + i * size, (h - i) * size);
  k += h - i;
  memcpy(tmp + k * size, a + j * size, (n - j) * size);
  memcpy(a, tmp, n * size);
}

uint64_t rng_permute(uint64_t key, uint64_t n, uint64_t i) {
  RECUR_ASSERT(i < n);
  int bits = 2;
  while (bits < 64 && (1ULL << bits) < n) bits++;
  bits += bits & 1;
  const int h = bits / 2;
  const uint64_t mask = h == 64 ? ~0ULL : (1ULL << h) - 1;
  uint64_t x = i;
  do { /* one pass of the network: a bijection of [0, 2^bits); repeated until back in [0, n) */
    uint64_t l = x >> h, r = x & mask;
    for (uint64_t round = 0; round < 4; round++) {
      const uint64_t f = rng_mix(key ^ rng_mix(r + (round << 56))) & mask;
      const uint64_t t = r;
      r = l ^ f;
      l = t;
    }
    x = l << h | r;
  } while (x >= n);
  return x;
}

void core_sort(void *base, size_t n, size_t size,
               int (*cmp)(const void *a, const void *b, void *ctx), void *ctx) {
  if (n < 2) return;
  char *tmp = xmalloc(n * size);
  merge_sort(base, tmp, n, size, cmp, ctx);
  xfree(tmp);
}

int names_parse(const char *const *names, const char *s) {
  for (int i = 0; names[i]; i++)
    if (!strcmp(names[i], s)) return i;
  return -1;
}

char *core_path(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  RECUR_ASSERT(n >= 0);
  char *s = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

double core_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double core_peak_rss_mb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_maxrss / 1024.0;
}

RECUR_HOT void core_to_bf16(uint16_t *dst, const float *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = bf16_round(src[i]);
}

void core_from_bf16(float *dst, const uint16_t *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = bf16_float(src[i]);
}

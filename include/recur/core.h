/* core: errors and logging, checked allocation, counter-based RNG, timing. */
#ifndef RECUR_CORE_H
#define RECUR_CORE_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mpi.h>

/* Print "recur: error: <msg> (<where>)" and, if hint is non-NULL, "hint: <hint>", remove any
 * registered temporary files, then end the process (MPI_Abort when more than one rank runs, so no
 * rank hangs). where may be NULL. Never returns. */
_Noreturn void recur_fail(const char *where, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for a wrong command line (unknown command or flag, bad value, missing argument): exit
 * status RECUR_EXIT_USAGE instead of RECUR_EXIT_ERROR. */
_Noreturn void recur_usage_fail(const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Exit statuses: 0 done, 1 an error, 2 a wrong command line (as bare `recur`), 130 a second
 * SIGINT. */
enum { RECUR_EXIT_ERROR = 1, RECUR_EXIT_USAGE = 2 };

/* Under MPI: core_init (after MPI_Init) prepares the ranks' agreement on errors. Between
 * core_errors_agreed(1) and (0) (the setup phase: flags, dataset, a resume's checks), an error
 * every rank meets is printed once by rank 0 and the job ends without MPI_Abort; an error that
 * one rank meets alone still ends the job (after a few seconds) with that rank's message. */
void core_init(void);
/* fn runs when an error ends the process (recur_fail and its kin end with _exit, which runs no
 * atexit handler): the CLI removes its singleton's session directory there. NULL: none. */
void core_on_exit(void (*fn)(void));
void core_errors_agreed(int on);

/* Error-return mode, for fuzz harnesses and programs that embed librecur. Between
 * RECUR_CATCH(&c) and recur_catch_end(&c), a failure that would end the process (recur_fail,
 * recur_usage_fail, out of memory) instead returns to the RECUR_CATCH with c.code (1 or 2) and
 * c.msg (the message and hint as the CLI prints them), after releasing what the library acquired
 * since the catch began: memory from xmalloc/xcalloc/xrealloc/xstrdup not yet given back with
 * xfree, HDF5 objects, files opened with xfopen, and temporary files. Objects the library
 * returned before the failure stay valid. One thread; catches nest.
 *   recur_catch c;
 *   if (RECUR_CATCH(&c) == 0) { dataset *d = dataset_open(path); ...; recur_catch_end(&c); }
 *   else fprintf(stderr, "%s", c.msg);
 * Under MPI a failure returns only on the rank that met it: use it where ranks do not wait on
 * each other (readers, parsers). */
typedef struct recur_catch {
  jmp_buf jb;
  int code;       /* RECUR_EXIT_ERROR or RECUR_EXIT_USAGE */
  char msg[1536]; /* "recur: error: ... (where)\nhint: ...\n" */
  struct recur_catch *prev;
  size_t mark;   /* allocations registered before this catch (for nesting) */
  void *h5_open; /* HDF5 objects open at the start (h5.c) */
} recur_catch;
#define RECUR_CATCH(c) (recur_catch_begin(c), setjmp((c)->jb))
void recur_catch_begin(recur_catch *c);
void recur_catch_end(recur_catch *c);
/* Release hooks of other modules (h5.c: HDF5 objects opened since a catch began). */
void core_catch_hooks(void *(*begin)(void), void (*release)(void *snapshot, int close));

/* Always-on internal invariant check: prints file:line and aborts. */
#define RECUR_ASSERT(cond)                                                                         \
  do {                                                                                             \
    if (!(cond)) recur_assert_fail(#cond, __FILE__, __LINE__);                                     \
  } while (0)
_Noreturn void recur_assert_fail(const char *expr, const char *file, int line);

/* Files removed by recur_fail (and by core_tempfile_drop on success paths). At most 64. */
void core_tempfile_add(const char *path);
void core_tempfile_forget(const char *path);

/* Durability: fsync a file or directory (errors end the process, naming the path). commit makes
 * a finished temporary file visible: fsync it, rename it to final, fsync the directory, and
 * stop tracking it as a temporary file. */
void core_fsync(const char *path);
void core_commit(const char *tmp, const char *final);

/* Checked allocation: on failure recur_fail names the size and call site. */
#define xmalloc(n)     core_malloc((n), __FILE__, __LINE__)
#define xcalloc(n, s)  core_calloc((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) core_realloc((p), (n), __FILE__, __LINE__)
void *core_malloc(size_t n, const char *file, int line);
void *core_calloc(size_t n, size_t s, const char *file, int line);
void *core_realloc(void *p, size_t n, const char *file, int line);
char *xstrdup(const char *s);
/* Memory whose values a sampled simulation never reads (parameters, gradients, optimizer state,
 * the sums' buffers and the union's gathered rows): zeroed like xcalloc, but in a RECUR_SMPI build
 * after core_fold_on() (a replay with launch/simulate --shared) every simulated rank's allocation
 * is folded onto one buffer they all share (SMPI_SHARED_MALLOC), its values meaningless, so N ranks
 * take about one rank's memory. Only these: what must stay each rank's (offsets, the batch
 * schedule) never folds. Freed with xfree. */
#define xcalloc_fold(n, s) core_calloc_fold((n), (s), __FILE__, __LINE__)
void *core_calloc_fold(size_t n, size_t s, const char *file, int line);
void core_fold_on(void);
/* core_fold_on was called: the folded buffers' values mean nothing, so the copies and sums between
 * them are skipped (two views of the same pages copy at a small fraction of memory speed) */
int core_folded(void);
/* What allocations from now on are for ("a training step's activations") and the flag that bounds
 * them ("reduce --batch or --seq-len"): an out-of-memory error names them instead of a source
 * line. NULL, NULL clears it; the previous pair is returned through prev_* (may be NULL). */
void core_oom_context(const char *what, const char *hint, const char **prev_what,
                      const char **prev_hint);
/* free for memory from the x-allocators (and anything else free takes): it also forgets the
 * allocation in an active catch. fopen/fclose that a catch closes on a failure. */
void xfree(void *p);
FILE *xfopen(const char *path, const char *mode);
FILE *xfadopt(FILE *f); /* a stream opened otherwise, closed by a failing catch like xfopen's */
int xfclose(FILE *f);
/* A path (or any string) of any length from a format, malloc'd: no fixed buffer to cut it. */
char *core_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "0.2.0": the version of recur that wrote a file (attribute recur_version) or runs. */
const char *recur_version(void);

/* Rank of this process and the number of ranks in recur's communicator (0 and 1 before MPI is
 * initialised). The communicator is MPI_COMM_WORLD unless a program that embeds librecur set its
 * own (core_set_comm, which train_open calls): every collective of recur runs on it. */
int core_rank(void);
int core_world(void);
MPI_Comm core_comm(void);
void core_set_comm(MPI_Comm comm);

/* Counter-based randomness: every random number is a pure function of a key built from
 * (seed, purpose, counters...). No generator state exists anywhere. */
enum rng_purpose {
  RNG_SPLIT = 1,
  RNG_INIT,
  RNG_SHUFFLE,
  RNG_DROPOUT,
  RNG_SAMPLE,
  RNG_SCHED_SAMPLING,
  RNG_TEST,
  RNG_EMBED_DROPOUT,
  RNG_WEIGHT_DROP,
  RNG_SPM_SAMPLE
};
static inline uint64_t rng_mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
static inline uint64_t rng_key(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b,
                               uint64_t c) {
  uint64_t h = rng_mix(seed ^ 0x9e3779b97f4a7c15ULL);
  h = rng_mix(h ^ (purpose * 0xbf58476d1ce4e5b9ULL));
  h = rng_mix(h ^ (a + 0x94d049bb133111ebULL));
  h = rng_mix(h ^ (b + 0x2545f4914f6cdd1dULL));
  return rng_mix(h ^ (c + 0x9e3779b97f4a7c15ULL));
}
/* Uniform in [0,1) from a key (24 bits), and the i-th sub-draw of a key. */
static inline float rng_uniform(uint64_t key) { return (float)(key >> 40) * (1.0f / 16777216.0f); }
static inline uint64_t rng_sub(uint64_t key, uint64_t i) { return rng_mix(key ^ rng_mix(i + 1)); }

/* A keyed permutation of [0, n): the image of i < n, a bijection of [0, n) for each key, with O(1)
 * memory (a 4-round Feistel network on the fewest even bits covering n, walking cycles back into
 * [0, n)), so a corpus of any size is shuffled without an array of its sequences. */
uint64_t rng_permute(uint64_t key, uint64_t n, uint64_t i);

/* Sort n elements of size bytes by cmp(a, b, ctx) (< 0: a first): a merge sort that carries its
 * context, so no comparator needs a global (qsort has no context argument in C11). Stable. */
void core_sort(void *base, size_t n, size_t size,
               int (*cmp)(const void *a, const void *b, void *ctx), void *ctx);

/* The index of s in a NULL-terminated table of names (an enum's values), -1 if absent. */
int names_parse(const char *const *names, const char *s);

/* The hot elementwise loops (the gate rows, exp, softmax, Adam, the bf16 conversion) compiled
 * twice, for AVX-512 and for the baseline, the CPU picking at load time. Elementwise math (sums in
 * fixed lanes) and no FMA contraction in ISO C mode, so both give the same bits. GCC only: clang
 * 14 leaves an extern clone unresolved. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(RECUR_NO_CLONES)
#define RECUR_HOT __attribute__((target_clones("avx512f", "default")))
#else
#define RECUR_HOT
#endif

/* bf16: a float's top half, rounded to nearest even (a NaN stays a NaN), and back. */
static inline uint16_t bf16_round(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}
static inline float bf16_float(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
/* n values to bf16 and back */
void core_to_bf16(uint16_t *dst, const float *src, int64_t n);
void core_from_bf16(float *dst, const uint16_t *src, int64_t n);

/* Monotonic wall clock in seconds. */
double core_now(void);
/* Peak resident set size of this process in MiB. */
double core_peak_rss_mb(void);

#endif

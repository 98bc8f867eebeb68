/* The epoch order and the index it reads: rng_permute is a bijection of [0, n) for every n and
 * key; a split's offsets, read in blocks with more blocks than the cache holds, give every
 * sequence's start in any order of access; sequences mode's schedule (pools and global) visits
 * every sequence once an epoch, in full batches sorted longest first (the partial one last), in
 * another order each epoch, and gives a step the same batch whether reached in order or directly
 * (a resume). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/prepare.h"
#include "recur/schedule.h"

static void permutations(void) {
  const uint64_t sizes[] = {1, 2, 3, 5, 17, 64, 1000, 4097, 100003};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    const uint64_t n = sizes[s];
    for (uint64_t key = 1; key <= 3; key++) {
      unsigned char *seen = calloc(n, 1);
      uint64_t fixed = 0;
      for (uint64_t i = 0; i < n; i++) {
        const uint64_t j = rng_permute(key * 0x9e3779b97f4a7c15ULL, n, i);
        CHECK(j < n && !seen[j], "n %llu: %llu -> %llu twice or out of range",
              (unsigned long long)n, (unsigned long long)i, (unsigned long long)j);
        if (j < n) seen[j] = 1;
        fixed += j == i;
      }
      CHECK(n < 1000 || fixed < n / 100, "n %llu: %llu fixed points", (unsigned long long)n,
            (unsigned long long)fixed);
      free(seen);
    }
  }
}

static uint64_t line_len(uint64_t i) { return 1 + (i * 7919) % 23; }

/* n lines of line_len(i) letters, prepared at char level, one sequence a line, all in train */
static dataset *lines_dataset(uint64_t n, const char *name) {
  char in[64], out[64];
  snprintf(in, sizeof in, "%s.txt", name);
  snprintf(out, sizeof out, "%s.h5", name);
  FILE *f = fopen(in, "wb");
  for (uint64_t i = 0; i < n; i++) {
    for (uint64_t k = 0; k < line_len(i); k++) fputc('a' + (int)((i + k) % 26), f);
    fputc('\n', f);
  }
  fclose(f);
  char *inputs[1] = {in};
  prepare_opts o = {0};
  o.inputs = inputs;
  o.n_inputs = 1;
  o.out = out;
  o.level = LEVEL_CHAR;
  o.split_on = SEG_LINE;
  o.val_given = 1;
  o.min_count = 1;
  o.seed = 1;
  o.quiet = 1;
  prepare_run(&o);
  return dataset_open(out);
}

static void index_blocks(void) {
  const uint64_t n = 600000; /* 73 blocks of offsets: more than the 64 cached */
  dataset *ds = lines_dataset(n, "index");
  CHECK(ds->split[SPLIT_TRAIN].n_seq == n, "%llu sequences",
        (unsigned long long)ds->split[0].n_seq);
  const uint64_t extra = dataset_seq_len(ds, SPLIT_TRAIN, 0) - line_len(0);
  uint64_t start = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) { /* in order */
    bad += dataset_seq_start(ds, SPLIT_TRAIN, i) != start;
    start += line_len(i) + extra;
  }
  CHECK(bad == 0 && dataset_seq_start(ds, SPLIT_TRAIN, n) == ds->split[SPLIT_TRAIN].n_tok,
        "%llu starts differ from the lines' lengths", (unsigned long long)bad);
  for (uint64_t r = 0; r < 20000; r++) { /* in a scattered order, evicting blocks */
    const uint64_t i = rng_key(7, 0, r, 0, 0) % n;
    bad += dataset_seq_len(ds, SPLIT_TRAIN, i) != line_len(i) + extra;
  }
  CHECK(bad == 0, "%llu lengths differ when read out of order", (unsigned long long)bad);
  dataset_close(ds);
}

static void one_schedule(dataset *ds, enum shuffle_kind kind, int B) {
  const uint64_t n = ds->split[SPLIT_TRAIN].n_seq;
  schedule sc, again;
  schedule_init(&sc, ds, SPLIT_TRAIN, MODE_SEQUENCES, kind, B, 0, 0, 11);
  schedule_init(&again, ds, SPLIT_TRAIN, MODE_SEQUENCES, kind, B, 0, 0, 11);
  const int64_t S = schedule_steps_per_epoch(&sc);
  CHECK(S == (int64_t)((n + (uint64_t)B - 1) / (uint64_t)B), "%lld steps an epoch", (long long)S);
  uint64_t *ids = malloc((size_t)B * sizeof(uint64_t)),
           *ids2 = malloc((size_t)B * sizeof(uint64_t));
  uint64_t *first = malloc((size_t)B * sizeof(uint64_t));
  unsigned char *seen = malloc(n);
  for (int64_t epoch = 0; epoch < 2; epoch++) {
    memset(seen, 0, n);
    uint64_t twice = 0, unsorted = 0, partial = 0, same_place = 0;
    for (int64_t k = 0; k < S; k++) {
      const int64_t g = epoch * S + k;
      const int c = schedule_items(&sc, g, ids);
      if (c != B) partial += k != S - 1;
      for (int i = 0; i < c; i++) {
        twice += seen[ids[i]]++;
        if (i) unsorted += dataset_seq_len(ds, 0, ids[i]) > dataset_seq_len(ds, 0, ids[i - 1]);
      }
      if (k == 0 && epoch == 0) memcpy(first, ids, (size_t)c * sizeof(uint64_t));
      if (k == 0 && epoch == 1) same_place += memcmp(first, ids, (size_t)c * sizeof(uint64_t)) == 0;
    }
    uint64_t missed = 0;
    for (uint64_t i = 0; i < n; i++) missed += !seen[i];
    CHECK(!twice && !missed && !unsorted && !partial && !same_place,
          "%s, epoch %lld: %llu twice, %llu missed, %llu unsorted, %llu partial batches before "
          "the last, epoch 1 starts as epoch 0: %llu",
          shuffle_names[kind], (long long)epoch, (unsigned long long)twice,
          (unsigned long long)missed, (unsigned long long)unsorted, (unsigned long long)partial,
          (unsigned long long)same_place);
  }
  uint64_t differ = 0, low = 0;
  for (int r = 0; r < 40; r++) { /* a step reached directly, as a resume reaches it */
    const int64_t g = (int64_t)(rng_key(3, 0, (uint64_t)r, 0, 0) % (uint64_t)(2 * S));
    const int c = schedule_items(&sc, g, ids), c2 = schedule_items(&again, g, ids2);
    differ += c != c2 || memcmp(ids, ids2, (size_t)c * sizeof(uint64_t)) != 0;
    for (int i = 0; i < c; i++) low += ids[i] < n / 2;
  }
  CHECK(differ == 0, "%s: %llu steps differ when reached directly", shuffle_names[kind],
        (unsigned long long)differ);
  printf("%s: %llu sequences, B %d: every epoch each once, sorted, full; ids below n/2: %llu of "
         "%d\n",
         shuffle_names[kind], (unsigned long long)n, B, (unsigned long long)low, 40 * B);
  CHECK(low > (uint64_t)(40 * B) / 4 && low < (uint64_t)(40 * B) * 3 / 4,
        "%s: the batches are not drawn from the whole split", shuffle_names[kind]);
  schedule_free(&sc);
  schedule_free(&again);
  free(ids), free(ids2), free(first), free(seen);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  permutations();
  index_blocks();
  dataset *ds = lines_dataset(12345, "sched");
  one_schedule(ds, SHUFFLE_POOLS, 32);
  one_schedule(ds, SHUFFLE_POOLS, 7);
  one_schedule(ds, SHUFFLE_GLOBAL, 32);
  dataset_close(ds);
  MPI_Finalize();
  return check_done("test_schedule");
}

/* One tokenizer: the ids prepare writes for a text and the ids sample --prime / predict get for
 * the same text (tokenize_encode with the dataset's vocabulary) are the same, at byte, char and
 * word level, on text with punctuation, UTF-8, tabs, CR, control characters and a word longer
 * than TOKEN_WORD_MAX. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/prepare.h"
#include "recur/tokenize.h"

static void one_level(enum ds_level level, const char *text) {
  char in[64], out[64];
  snprintf(in, sizeof in, "tok-%s.txt", ds_level_names[level]);
  snprintf(out, sizeof out, "tok-%s.h5", ds_level_names[level]);
  FILE *f = fopen(in, "wb");
  fputs(text, f);
  fclose(f);
  char *inputs[1] = {in};
  prepare_opts o = {0};
  o.inputs = inputs;
  o.n_inputs = 1;
  o.out = out;
  o.level = level;
  o.split_on = SEG_NONE;
  o.min_count = 1;
  o.seed = 1;
  o.quiet = 1;
  prepare_run(&o);
  dataset *ds = dataset_open(out);
  const ds_split *tr = &ds->split[SPLIT_TRAIN];
  int32_t *want = xmalloc((tr->n_tok + 1) * sizeof(int32_t));
  dataset_read(ds, SPLIT_TRAIN, 0, tr->n_tok, want);
  vocab_index vi;
  vocab_index_init(&vi, ds->level, ds->vocab, ds->vocab_size, ds->eos_id, ds->unk_id);
  int64_t n = 0;
  int32_t *got = tokenize_encode(&vi, text, &n, 0, 0, "test");
  CHECK(n == (int64_t)tr->n_tok, "%s level: %lld ids encoded, prepare wrote %llu",
        ds_level_names[level], (long long)n, (unsigned long long)tr->n_tok);
  int64_t first = -1;
  for (int64_t i = 0; i < n && i < (int64_t)tr->n_tok && first < 0; i++)
    if (got[i] != want[i]) first = i;
  CHECK(first < 0, "%s level: id %lld differs: %d vs %d", ds_level_names[level], (long long)first,
        first >= 0 ? got[first] : 0, first >= 0 ? want[first] : 0);
  printf("%s level: %lld tokens agree\n", ds_level_names[level], (long long)n);
  free(got);
  free(want);
  vocab_index_free(&vi);
  dataset_close(ds);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  char text[4096];
  char longword[400];
  memset(longword, 'x', 300);
  memcpy(longword + 300, "\xc3\xa9", 2); /* é straddling the cut */
  longword[302] = 0;
  snprintf(text, sizeof text,
           "Hello, w\xc3\xb6rld! na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 123_abc\tTab\r\nline two: "
           "don't  stop\x01here.\n"
           "emoji \xf0\x9f\x98\x80 end %s more (words) [and] {marks}~\n",
           longword);
  one_level(LEVEL_BYTE, text);
  one_level(LEVEL_CHAR, text);
  one_level(LEVEL_WORD, text);
  MPI_Finalize();
  return check_done("test_tokenize");
}

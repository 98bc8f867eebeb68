/* the streaming tokenizer of prepare (and of --prime, predict): the first byte picks the level
 * and where the input is cut into blocks; the rest is text */
#include "fuzz.h"
#include "recur/tokenize.h"

typedef struct {
  uint64_t runs, chars, words, errors;
} counts;
static void on_run(void *c, const unsigned char *b, size_t n, uint64_t off) {
  (void)b, (void)off;
  ((counts *)c)->runs += n;
}
static void on_char(void *c, uint32_t cp, uint64_t off) {
  (void)cp, (void)off;
  ((counts *)c)->chars++;
}
static void on_word(void *c, const char *w, int n) {
  (void)w;
  if (n <= 0) abort(); /* a word has bytes */
  ((counts *)c)->words++;
}
static void on_error(void *c, enum token_error e, uint64_t off) {
  (void)e, (void)off;
  ((counts *)c)->errors++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  counts n = {0};
  tokenizer t = {0};
  t.level = (enum ds_level)(data[0] % 3);
  t.ctx = &n;
  t.on_run = on_run;
  t.on_char = on_char;
  t.on_word = on_word;
  t.on_error = on_error;
  size_t block = 1 + (data[0] >> 2), at = 1;
  while (at < size) {
    size_t k = size - at < block ? size - at : block;
    tokenizer_feed(&t, data + at, k, at - 1);
    at += k;
  }
  tokenizer_end(&t);
  return 0;
}

/* the option parser of `recur train` (every flag of the table, --flag=value, positionals) and
 * the saved-options reader of a checkpoint: lines of the input are arguments */
#include "fuzz.h"
#include "recur/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  char *argv[33] = {"train"};
  int argc = 1;
  for (char *p = text; argc < 32 && p < text + size;) {
    char *nl = memchr(p, '\n', (size_t)(text + size - p));
    if (nl) *nl = 0;
    argv[argc++] = p;
    if (!nl) break;
    p = nl + 1;
  }
  const char *pos[4];
  int np = 0;
  recur_catch c;
  train_opts o;
  train_opts_default(&o);
  if (RECUR_CATCH(&c) == 0) { /* on a failure the catch released what it set in o */
    opts_parse(train_options(), &o, o.given, argc, argv, pos, 4, &np);
    recur_catch_end(&c);
    train_opts_free(&o);
  }
  for (int i = 1; i < argc; i++) /* the same lines as a checkpoint's saved options */
    if (argv[i] + strlen(argv[i]) < text + size) argv[i][strlen(argv[i])] = '\n';
  train_opts_default(&o);
  if (RECUR_CATCH(&c) == 0) {
    opts_load_text(train_options(), &o, text, "fuzz");
    char *back = opts_text(train_options(), &o);
    xfree(back);
    recur_catch_end(&c);
    train_opts_free(&o);
  }
  free(text);
  return 0;
}

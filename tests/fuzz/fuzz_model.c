/* the model reader: the input is a model.h5 */
#include "fuzz.h"
#include "recur/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  const char *path = fuzz_path("-model.h5");
  fuzz_write(path, data, size);
  recur_catch c;
  if (RECUR_CATCH(&c) == 0) {
    model_vocab v;
    model *m = model_load(path, &v, NULL);
    model_vocab_free(&v);
    model_free(m);
    recur_catch_end(&c);
  }
  unlink(path);
  return 0;
}

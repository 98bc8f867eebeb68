/* the JSON reader (recur report reads metrics.jsonl with it) */
#include "fuzz.h"
#include "recur/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_value v;
  char err[128];
  if (json_parse((const char *)data, size, &v, err, sizeof err) == 0) {
    (void)json_get_num(&v, "step", 0);
    json_value_free(&v);
  }
  return 0;
}

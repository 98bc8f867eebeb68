/* tasks: the table of task descriptors (see tasks.h). */
#include "recur/tasks.h"

extern const task_desc task_lm, task_condlm, task_classify, task_tag, task_seq2seq, task_forecast;

const task_desc *task_desc_of(enum model_task task) {
  static const task_desc *const table[TASK_COUNT] = {
      [TASK_LM] = &task_lm,           [TASK_CLASSIFY] = &task_classify,
      [TASK_TAG] = &task_tag,         [TASK_CONDLM] = &task_condlm,
      [TASK_SEQ2SEQ] = &task_seq2seq, [TASK_FORECAST] = &task_forecast};
  return table[task];
}

void task_json_num(json_writer *j, const char *prefix, const char *key, double v) {
  char k[64];
  snprintf(k, sizeof k, "%s%s", prefix, key);
  json_num(j, k, v);
}

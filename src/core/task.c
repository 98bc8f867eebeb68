/* task: names of the tasks and levels (see task.h). */
#include "recur/task.h"

#include "recur/core.h"

const char *const task_names[TASK_COUNT + 1] = {"lm",      "classify", "tag", "condlm",
                                                "seq2seq", "forecast", NULL};
int task_parse(const char *s) { return names_parse(task_names, s); }

const char *const ds_level_names[LEVEL_COUNT + 1] = {"byte", "char", "word", "real", "spm", NULL};
int ds_level_parse(const char *s) { return names_parse(ds_level_names, s); }

/* task: names of the tasks and levels (see task.h). */
#include "recur/task.h"

#include "recur/core.h"

const char *const task_names[TASK_COUNT + 1] = {"lm",      "classify", "tag", "condlm",
                                                "seq2seq", "forecast", NULL};
int task_parse(const char *s) { return names_parse(task_names, s); }

const task_traits task_traits_table[TASK_COUNT] = {
    [TASK_LM] = {.next_token = 1, .causal = 1, .stream = 1, .self_fed = 1},
    [TASK_CLASSIFY] = {.pooled = 1, .labels = 1, .real_in = 1},
    [TASK_TAG] = {.tags = 1, .real_in = 1},
    [TASK_CONDLM] = {.next_token = 1, .causal = 1, .labels = 1, .label_cond = 1},
    [TASK_SEQ2SEQ] = {.next_token = 1, .self_fed = 1, .source = 1},
    [TASK_FORECAST] = {.self_fed = 1, .frames = 1, .real_in = 1},
};

const char *const ds_level_names[LEVEL_COUNT + 1] = {"byte", "char", "word", "real", "spm", NULL};
int ds_level_parse(const char *s) { return names_parse(ds_level_names, s); }

/* hooks: the test hooks of hooks.h, as the program set them. */
#include "recur/hooks.h"

static int g_set;
static test_hooks g_hooks;

test_hooks hooks_default(void) {
  return (test_hooks){.fail_rank = -1,
                      .fail_step = -1,
                      .fail_setup_rank = -1,
                      .nan_from = -1,
                      .nan_to = INT64_MAX,
                      .nan_rank = -1,
                      .pause_rank = -1,
                      .pause_step = -1,
                      .pause_file = "paused",
                      .pause_where = "shard",
                      .bucket_bytes = 4 << 20,
                      .hold_rank = -1};
}

void hooks_set(const test_hooks *h) {
  g_hooks = *h;
  g_set = 1;
}

const test_hooks *hooks_get(void) {
  if (!g_set) {
    g_hooks = hooks_default();
    g_set = 1;
  }
  return &g_hooks;
}

/* hooks: the test hooks of hooks.h, read from the environment once. */
#include "recur/hooks.h"

#include <stdlib.h>

static int64_t env_i64(const char *name, int64_t unset) {
  const char *v = getenv(name);
  return v && *v ? atoll(v) : unset;
}

const test_hooks *hooks_get(void) {
  static test_hooks h;
  static int done;
  if (!done) {
    h.fail_rank = (int)env_i64("RECUR_TEST_FAIL_RANK", -1);
    h.fail_step = env_i64("RECUR_TEST_FAIL_STEP", -1);
    h.fail_setup_rank = (int)env_i64("RECUR_TEST_FAIL_SETUP_RANK", -1);
    h.nan_from = env_i64("RECUR_TEST_NAN_FROM", -1);
    h.nan_rank = (int)env_i64("RECUR_TEST_NAN_RANK", -1);
    h.nan_to = env_i64("RECUR_TEST_NAN_TO", INT64_MAX);
    h.bucket_bytes = env_i64("RECUR_TEST_BUCKET_BYTES", 4 << 20);
    h.pause_rank = (int)env_i64("RECUR_TEST_PAUSE_SAVE_RANK", -1);
    h.pause_step = env_i64("RECUR_TEST_PAUSE_SAVE_STEP", -1);
    h.pause_file = getenv("RECUR_TEST_PAUSE_FILE") ? getenv("RECUR_TEST_PAUSE_FILE") : "paused";
    h.pause_where =
        getenv("RECUR_TEST_PAUSE_SAVE_WHERE") ? getenv("RECUR_TEST_PAUSE_SAVE_WHERE") : "shard";
    h.fsize_limit = env_i64("RECUR_TEST_FSIZE_LIMIT", 0);
    h.eval_floats = env_i64("RECUR_TEST_EVAL_FLOATS", 0);
    h.step_ms = env_i64("RECUR_TEST_STEP_MS", 0);
    h.hold_rank = (int)env_i64("RECUR_TEST_HOLD_RANK", -1);
    h.hold_ms = env_i64("RECUR_TEST_HOLD_MS", 0);
    done = 1;
  }
  return &h;
}

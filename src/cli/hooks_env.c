/* hooks_env: the test hooks of hooks.h and a simulation's sampling (src/train/sim.h), read from
 * the environment by the program, once, for the library (hooks_set). */
#include <stdlib.h>

#include "cli.h"
#include "recur/hooks.h"

static int64_t env_i64(const char *name, int64_t unset) {
  const char *v = getenv(name);
  return v && *v ? atoll(v) : unset;
}

static const char *env_str(const char *name, const char *unset) {
  const char *v = getenv(name);
  return v && *v ? v : unset;
}

void cli_hooks_from_env(void) {
  test_hooks h = hooks_default();
  h.fail_rank = (int)env_i64("RECUR_TEST_FAIL_RANK", h.fail_rank);
  h.fail_step = env_i64("RECUR_TEST_FAIL_STEP", h.fail_step);
  h.fail_setup_rank = (int)env_i64("RECUR_TEST_FAIL_SETUP_RANK", h.fail_setup_rank);
  h.nan_from = env_i64("RECUR_TEST_NAN_FROM", h.nan_from);
  h.nan_rank = (int)env_i64("RECUR_TEST_NAN_RANK", h.nan_rank);
  h.nan_to = env_i64("RECUR_TEST_NAN_TO", h.nan_to);
  h.bucket_bytes = env_i64("RECUR_TEST_BUCKET_BYTES", h.bucket_bytes);
  h.pause_rank = (int)env_i64("RECUR_TEST_PAUSE_SAVE_RANK", h.pause_rank);
  h.pause_step = env_i64("RECUR_TEST_PAUSE_SAVE_STEP", h.pause_step);
  h.pause_file = env_str("RECUR_TEST_PAUSE_FILE", h.pause_file);
  h.pause_where = env_str("RECUR_TEST_PAUSE_SAVE_WHERE", h.pause_where);
  h.fsize_limit = env_i64("RECUR_TEST_FSIZE_LIMIT", h.fsize_limit);
  h.eval_floats = env_i64("RECUR_TEST_EVAL_FLOATS", h.eval_floats);
  h.eval_piece = env_i64("RECUR_TEST_EVAL_PIECE", h.eval_piece);
  h.step_ms = env_i64("RECUR_TEST_STEP_MS", h.step_ms);
  h.hold_rank = (int)env_i64("RECUR_TEST_HOLD_RANK", h.hold_rank);
  h.hold_ms = env_i64("RECUR_TEST_HOLD_MS", h.hold_ms);
  h.sim_record = env_str("RECUR_SIM_RECORD", NULL);
  h.sim_replay = env_str("RECUR_SIM_REPLAY", NULL);
  h.sim_shared = (int)env_i64("RECUR_SIM_SHARED", 0);
  hooks_set(&h);
}

/* hooks: every test hook. The library only holds them (hooks_set; all off by default): the recur
 * program reads them from the environment in one place (src/cli/hooks_env.c), so a C program
 * that links the library meets none unless it sets them. Each makes happen, on purpose and at a
 * chosen moment, what tests must show recur survives. Unset means off.
 *   RECUR_TEST_FAIL_RANK=R RECUR_TEST_FAIL_STEP=S  rank R fails with a named error at step S
 *                                                  (0-based) of training: the job must end
 *   RECUR_TEST_FAIL_SETUP_RANK=R                   rank R alone fails at the end of training's
 *                                                  setup, where errors are otherwise met by every
 *                                                  rank alike (core.h): the job must still end
 *   RECUR_TEST_NAN_FROM=A RECUR_TEST_NAN_TO=B      steps A..B (1-based) get a non-finite gradient
 *   [RECUR_TEST_NAN_RANK=R]                        (on rank R alone, before the reduction)
 *   RECUR_TEST_PAUSE_SAVE_RANK=R RECUR_TEST_PAUSE_SAVE_STEP=S [RECUR_TEST_PAUSE_FILE=F]
 *   [RECUR_TEST_PAUSE_SAVE_WHERE=shard|commit]     rank R stops in the middle of writing its shard
 *                                                  of checkpoint S (shard, the default), or rank 0
 *                                                  after writing COMMIT and before moving latest
 *                                                  (commit), and writes "PID where" to F (default
 *                                                  ./paused), for a test to kill it there
 *   RECUR_TEST_FSIZE_LIMIT=BYTES                   a file-size limit: a disk that fills up
 *   RECUR_TEST_STEP_MS=N                           every step takes N ms longer, asleep: a large
 *                                                  model's pace without its CPU, for the scheduler
 *                                                  tests' jobs of a minute
 *   RECUR_TEST_HOLD_RANK=R RECUR_TEST_HOLD_MS=N    rank R sleeps N ms before its first wait on the
 *                                                  others (dist.h), any command: the others wait
 *                                                  in a collective, for a test to cut a host then
 *   RECUR_TEST_EVAL_FLOATS=N                       evaluation's budget of floats a forward (train.h
 *                                                  EVAL_FLOATS): small, short sequences are
 *                                                  evaluated in windows too (as whole, exactly)
 *   RECUR_TEST_EVAL_PIECE=N                        an undelimited split's pieces are N targets
 *                                                  (train.h eval_piece_len); more than the split:
 *                                                  one piece, the whole stream's exact loss */
#ifndef RECUR_HOOKS_H
#define RECUR_HOOKS_H

#include <stdint.h>

typedef struct {
  int fail_rank; /* -1: off */
  int64_t fail_step;
  int fail_setup_rank; /* -1: off */
  int64_t nan_from;    /* -1: off */
  int64_t nan_to;
  int nan_rank;   /* -1: every rank, after the reduction */
  int pause_rank; /* -1: off */
  int64_t pause_step;
  const char *pause_file;
  const char *pause_where; /* "shard" or "commit" */
  int64_t fsize_limit;     /* 0: off */
  /* RECUR_TEST_BUCKET_BYTES: the gradient reducer's bucket size (tiny buckets start sums early:
   * a tensor reported ready too soon shows as a difference from --accum) */
  int64_t bucket_bytes;
  int64_t eval_floats; /* 0: EVAL_FLOATS */
  int64_t eval_piece;  /* 0: eval_piece_len() */
  int64_t step_ms;     /* 0: off */
  int hold_rank;       /* -1: off */
  int64_t hold_ms;
  /* RECUR_SIM_RECORD=FILE, RECUR_SIM_REPLAY=FILE: a simulation's sampled computation
   * (src/train/sim.h; launch/simulate --sample sets them). NULL: off */
  const char *sim_record, *sim_replay;
  /* RECUR_SIM_SHARED=1 (launch/simulate --shared): a replay folds its parameter-sized buffers
   * onto one all ranks share (xcalloc_fold) */
  int sim_shared;
} test_hooks;

/* The hooks of this process: those set last, else hooks_default()'s (every hook off). */
const test_hooks *hooks_get(void);
void hooks_set(const test_hooks *h);
test_hooks hooks_default(void);

#endif

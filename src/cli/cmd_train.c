/* recur train: flags (the table in train/options.c) -> train_opts -> train_run. */
#include "cli.h"
#include "recur/core.h"
#include "recur/train.h"

int cmd_train(int argc, char **argv) {
  train_opts o;
  train_opts_default(&o);
  if (opts_parse(train_options(), &o, o.given, argc, argv, NULL, 0, NULL)) return 0;
  if (o.options_json) {
    train_options_json(stdout);
    train_opts_free(&o);
    return 0;
  }
  if (!o.data && !o.resume)
    recur_usage_fail("recur train --data D.h5 --out RUN", "--data is required");
  if (!o.out && !o.resume)
    recur_usage_fail("recur train --data D.h5 --out RUN", "--out is required");
  const int gs = TRAIN_GIVEN(&o, steps), ge = TRAIN_GIVEN(&o, epochs);
  if (gs && ge)
    recur_usage_fail("--steps N trains N optimizer steps, --epochs N that many passes",
                     "give --steps or --epochs, not both");
  if (gs && o.steps == 0)
    recur_usage_fail("leave --steps out to train --epochs N (1 by default)",
                     "--steps must be at least 1");
  int rc = train_run(&o);
  train_opts_free(&o);
  return rc;
}

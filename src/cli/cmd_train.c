/* recur train: flags (the table in train/options.c) -> train_opts -> train_run. */
#include "cli.h"
#include "recur/core.h"
#include "recur/train.h"

int cmd_train(int argc, char **argv) {
  train_opts o;
  train_opts_default(&o);
  if (opts_parse(train_options(), &o, o.given, argc, argv, NULL, 0, NULL)) return 0;
  if (!o.data && !o.resume)
    recur_fail(NULL, "recur train --data D.h5 --out RUN", "--data is required");
  if (!o.out && !o.resume)
    recur_fail(NULL, "recur train --data D.h5 --out RUN", "--out is required");
  int rc = train_run(&o);
  train_opts_free(&o);
  return rc;
}

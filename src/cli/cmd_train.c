/* recur train: flags -> train_opts -> train_run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/batch.h"
#include "recur/core.h"
#include "recur/train.h"

static const char *const HELP =
    "usage: recur train --data D.h5 --out RUN [flags]    (mpirun -np N recur train ... for N ranks)\n"
    "model:    --cell lstm|gru|rnn_tanh|rnn_relu (lstm) --layers L (2) --hidden H (256) --embed E (64)\n"
    "          --dropout P (0, between layers) --task lm\n"
    "data:     --mode stream|sequences (stream) --seq-len T (100) --max-len N (0 = no cut)\n"
    "          --batch B (32, global) --accum K (1)\n"
    "length:   --steps N | --epochs N (1)\n"
    "optimizer: --optim adam|adamw|sgd (adam) --lr X (2e-3) --weight-decay X --momentum X --nesterov\n"
    "          --beta1 X --beta2 X --eps X --clip C (5, 0 = off)\n"
    "          --schedule constant|step|cosine --warmup N --decay-every N --gamma G --min-lr X\n"
    "run:      --seed S --eval-every N --log-every N (10) --ckpt-every N (1000) --max-bad-steps N (10) --quiet\n";

int cmd_train(int argc, char **argv) {
  static const char *const cells[] = {"rnn_tanh", "rnn_relu", "lstm", "gru", NULL};
  static const char *const modes[] = {"stream", "sequences", NULL};
  static const char *const optims[] = {"sgd", "adam", "adamw", NULL};
  static const char *const scheds[] = {"constant", "step", "cosine", NULL};
  static const char *const tasks[] = {"lm", "classify", "tag", NULL};
  train_opts o;
  train_opts_default(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
#define V cli_value(argc, argv, &i)
    if (!strcmp(a, "--help")) { fputs(HELP, stdout); return 0; }
    else if (!strcmp(a, "--data")) o.data = V;
    else if (!strcmp(a, "--out")) o.out = V;
    else if (!strcmp(a, "--cell")) o.mc.cell = cell_parse(cli_choice(a, V, cells));
    else if (!strcmp(a, "--layers")) o.mc.layers = (int)cli_int(a, V, 1, 16);
    else if (!strcmp(a, "--hidden")) o.mc.hidden = (int)cli_int(a, V, 1, 65536);
    else if (!strcmp(a, "--embed")) o.mc.embed = (int)cli_int(a, V, 1, 65536);
    else if (!strcmp(a, "--dropout")) o.mc.dropout = (float)cli_double(a, V, 0, 0.99);
    else if (!strcmp(a, "--task")) {
      if (strcmp(cli_choice(a, V, tasks), "lm") != 0)
        recur_fail(NULL, "this version trains language models (--task lm)", "--task classify and --task tag are not supported yet");
    } else if (!strcmp(a, "--bidirectional"))
      recur_fail(NULL, "a language model must not see the future it predicts", "--bidirectional cannot be used with --task lm");
    else if (!strcmp(a, "--mode")) o.mode = !strcmp(cli_choice(a, V, modes), "stream") ? MODE_STREAM : MODE_SEQUENCES;
    else if (!strcmp(a, "--seq-len")) o.T = (int)cli_int(a, V, 1, 1 << 20);
    else if (!strcmp(a, "--max-len")) o.max_len = (int)cli_int(a, V, 0, 1 << 24);
    else if (!strcmp(a, "--batch")) o.B = (int)cli_int(a, V, 1, 1 << 20);
    else if (!strcmp(a, "--accum")) o.accum = (int)cli_int(a, V, 1, 1 << 16);
    else if (!strcmp(a, "--steps")) o.steps = cli_int(a, V, 1, INT64_MAX / 2);
    else if (!strcmp(a, "--epochs")) o.epochs = cli_int(a, V, 1, 1 << 30);
    else if (!strcmp(a, "--optim")) o.optim = optim_parse(cli_choice(a, V, optims));
    else if (!strcmp(a, "--lr")) o.lr.lr = (float)cli_double(a, V, 0, 1e3);
    else if (!strcmp(a, "--weight-decay")) o.weight_decay = (float)cli_double(a, V, 0, 10);
    else if (!strcmp(a, "--momentum")) o.momentum = (float)cli_double(a, V, 0, 0.9999);
    else if (!strcmp(a, "--nesterov")) o.nesterov = 1;
    else if (!strcmp(a, "--beta1")) o.beta1 = (float)cli_double(a, V, 0, 0.9999999);
    else if (!strcmp(a, "--beta2")) o.beta2 = (float)cli_double(a, V, 0, 0.9999999);
    else if (!strcmp(a, "--eps")) o.eps = (float)cli_double(a, V, 0, 1);
    else if (!strcmp(a, "--clip")) o.clip = (float)cli_double(a, V, 0, 1e9);
    else if (!strcmp(a, "--schedule")) o.lr.kind = lr_parse(cli_choice(a, V, scheds));
    else if (!strcmp(a, "--warmup")) o.lr.warmup = cli_int(a, V, 0, INT64_MAX / 2);
    else if (!strcmp(a, "--decay-every")) o.lr.decay_every = cli_int(a, V, 1, INT64_MAX / 2);
    else if (!strcmp(a, "--gamma")) o.lr.gamma = (float)cli_double(a, V, 0, 1);
    else if (!strcmp(a, "--min-lr")) o.lr.min_lr = (float)cli_double(a, V, 0, 1e3);
    else if (!strcmp(a, "--seed")) o.seed = (uint64_t)cli_int(a, V, 0, INT64_MAX);
    else if (!strcmp(a, "--eval-every")) o.eval_every = cli_int(a, V, 0, INT64_MAX / 2);
    else if (!strcmp(a, "--log-every")) o.log_every = cli_int(a, V, 1, INT64_MAX / 2);
    else if (!strcmp(a, "--ckpt-every")) o.save_every = cli_int(a, V, 0, INT64_MAX / 2);
    else if (!strcmp(a, "--max-bad-steps")) o.max_bad_steps = (int)cli_int(a, V, 1, 1 << 30);
    else if (!strcmp(a, "--quiet")) o.quiet = 1;
    else if (!strcmp(a, "--resume"))
      recur_fail(NULL, "checkpoints and resume are not implemented in this version", "--resume is not supported yet");
    else cli_unknown("train", a);
#undef V
  }
  if (!o.data) recur_fail(NULL, "recur train --data D.h5 --out RUN", "--data is required");
  if (!o.out) recur_fail(NULL, "recur train --data D.h5 --out RUN", "--out is required");
  return train_run(&o);
}

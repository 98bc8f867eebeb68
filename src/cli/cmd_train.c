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
    "          --dropout P (0, between layers) --task lm|classify|tag --bidirectional --pool last|mean (classify)\n"
    "data:     --mode stream|sequences (stream) --seq-len T (100) --max-len N (0 = no cut)\n"
    "          --batch B (32, global) --accum K (1)\n"
    "length:   --steps N | --epochs N (1)\n"
    "optimizer: --optim adam|adamw|sgd (adam) --lr X (2e-3) --weight-decay X --momentum X --nesterov\n"
    "          --beta1 X --beta2 X --eps X --clip C (5, 0 = off)\n"
    "          --schedule constant|step|cosine --warmup N --decay-every N --gamma G --min-lr X\n"
    "scheduled sampling (Bengio et al. 2015; eps_i = probability of the ground truth at step i):\n"
    "          --scheduled-sampling none|linear|exp|invsigmoid --ss-k K --ss-c C --ss-min E\n"
    "          linear max(E, K - C i), exp max(E, K^i), invsigmoid max(E, K / (K + exp(i / K)))\n"
    "run:      --seed S --eval-every N --log-every N (10) --ckpt-every N (1000) --ckpt-minutes M (0 = off)\n"
    "          --keep N (0 = all)\n"
    "          --max-bad-steps N (10) --quiet\n"
    "resume:   --resume RUN|CKPT continues a run from its newest valid checkpoint; flags given again must agree\n"
    "          with it, except --steps/--epochs, --accum, --data, logging and checkpoint frequency, --keep\n"
    "signals:  SIGINT/SIGTERM/SIGUSR2 finish the step, commit a checkpoint and exit 0; SIGUSR1 commits one and goes on\n";

int cmd_train(int argc, char **argv) {
  train_opts o;
  train_opts_default(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help")) { fputs(HELP, stdout); return 0; }
    int kind = train_flag_takes_value(a);
    if (kind < 0) cli_unknown("train", a);
    const char *v = kind ? cli_value(argc, argv, &i) : NULL;
    train_opts_set(&o, a, v);
    o.given[train_flag_index(a)] = 1;
  }
  if (!o.data && !o.resume) recur_fail(NULL, "recur train --data D.h5 --out RUN", "--data is required");
  if (!o.out && !o.resume) recur_fail(NULL, "recur train --data D.h5 --out RUN", "--out is required");
  return train_run(&o);
}

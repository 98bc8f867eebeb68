/* cli: shared helpers for the subcommands (flag parsing with clear errors). */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

#include <stdint.h>

int cmd_prepare(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);

/* The value after argv[*i], or an error if missing. Advances *i. */
const char *cli_value(int argc, char **argv, int *i);
_Noreturn void cli_unknown(const char *cmd, const char *flag);

#endif

/* cli: the subcommands (each parses its flags with an opts table, calls the library, prints). */
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
int cmd_report(int argc, char **argv);

#endif

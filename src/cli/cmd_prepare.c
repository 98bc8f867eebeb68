/* recur prepare: text -> HDF5 dataset. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/dataset.h"
#include "recur/prepare.h"

static const char *const HELP =
    "usage: recur prepare INPUT... -o OUT.h5 [--level byte|char|word]\n"
    "         [--split-on none|line|paragraph|file|separator] [--separator STR] [--task lm|classify|tag]\n"
    "         [--val F] [--test F] [--seed S] [--min-count N] [--max-vocab N] [--vocab FROM.h5]\n"
    "         [--shard-tokens N] [--quiet]\n"
    "INPUT is a file, a directory (read recursively in sorted order) or - for standard input.\n"
    "--task classify: lines label<TAB>text. --task tag: char level text<TAB>tags (a tag character per\n"
    "character), word level word/TAG tokens. One sequence per line, no <eos>.\n";

int cmd_prepare(int argc, char **argv) {
  static const char *const levels[] = {"byte", "char", "word", NULL};
  static const char *const splits[] = {"none", "line", "paragraph", "file", "separator", NULL};
  static const char *const tasks[] = {"lm", "classify", "tag", NULL};
  prepare_opts o = {0};
  o.inputs = xcalloc((size_t)argc, sizeof(char *));
  o.level = LEVEL_CHAR;
  o.split_on = "none";
  o.min_count = 1;
  o.seed = 1234;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) { fputs(HELP, stdout); return 0; }
    else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) o.out = cli_value(argc, argv, &i);
    else if (strcmp(a, "--level") == 0) o.level = ds_level_parse(arg_choice(a, cli_value(argc, argv, &i), levels));
    else if (strcmp(a, "--split-on") == 0) o.split_on = arg_choice(a, cli_value(argc, argv, &i), splits);
    else if (strcmp(a, "--separator") == 0) o.separator = cli_value(argc, argv, &i);
    else if (strcmp(a, "--task") == 0) {
      const char *t = arg_choice(a, cli_value(argc, argv, &i), tasks);
      o.task = !strcmp(t, "classify") ? 1 : !strcmp(t, "tag") ? 2 : 0;
    }
    else if (strcmp(a, "--val") == 0) o.val = arg_double(a, cli_value(argc, argv, &i), 0, 0.99);
    else if (strcmp(a, "--test") == 0) o.test = arg_double(a, cli_value(argc, argv, &i), 0, 0.99);
    else if (strcmp(a, "--seed") == 0) o.seed = (uint64_t)arg_int(a, cli_value(argc, argv, &i), 0, INT64_MAX);
    else if (strcmp(a, "--min-count") == 0) o.min_count = arg_int(a, cli_value(argc, argv, &i), 1, INT64_MAX);
    else if (strcmp(a, "--max-vocab") == 0) o.max_vocab = arg_int(a, cli_value(argc, argv, &i), 3, INT32_MAX);
    else if (strcmp(a, "--vocab") == 0) o.vocab_from = cli_value(argc, argv, &i);
    else if (strcmp(a, "--shard-tokens") == 0) o.shard_tokens = (uint64_t)arg_int(a, cli_value(argc, argv, &i), 1, INT64_MAX);
    else if (strcmp(a, "--quiet") == 0) o.quiet = 1;
    else if (a[0] == '-' && a[1]) cli_unknown("prepare", a);
    else o.inputs[o.n_inputs++] = argv[i];
  }
  if (o.n_inputs == 0) recur_fail(NULL, "recur prepare INPUT... -o OUT.h5", "no input given");
  if (!o.out) recur_fail(NULL, "recur prepare INPUT... -o OUT.h5", "no output given (-o)");
  if (o.val + o.test >= 1.0) recur_fail(NULL, NULL, "--val + --test must be below 1, got %g", o.val + o.test);
  if (strcmp(o.split_on, "separator") == 0) {
    if (!o.separator || !*o.separator) recur_fail(NULL, "e.g. --separator %", "--split-on separator needs --separator STR");
    if (strlen(o.separator) > 255 || strchr(o.separator, '\n')) recur_fail(NULL, NULL, "--separator must be one line under 256 bytes");
  }
  prepare_run(&o); /* every rank: they share the input files */
  MPI_Barrier(MPI_COMM_WORLD);
  free(o.inputs);
  return 0;
}

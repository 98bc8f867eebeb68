/* A C program that trains through the installed librecur (train.h), as the library's users do:
 * it splits MPI_COMM_WORLD into groups of two ranks, and each group trains the same small model
 * on its own communicator, its lines and metrics records delivered to a sink; then one group
 * stops its run with a request and resumes it; then a bad dataset gives an error back (not an
 * exit). usage: train_api D.h5 DIR   (under mpirun with 4 ranks) */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "recur/train.h"

typedef struct {
  int records, lines;
} counts;

static void on_text(void *arg, const char *lines) {
  counts *c = arg;
  for (const char *p = lines; *p; p++) c->lines += *p == '\n';
}
static void on_record(void *arg, const char *json) {
  counts *c = arg;
  if (json[0] == '{' && strstr(json, "\"step\":")) c->records++;
}

/* options as the command line would give them; returns 0 or prints why not */
static int set_all(train_opts *o, const char *const *kv) {
  char err[256];
  for (int i = 0; kv[i]; i += 2)
    if (train_opts_set(o, kv[i], kv[i + 1], err, sizeof err) != 0) {
      fprintf(stderr, "train_api: %s\n", err);
      return -1;
    }
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int world_rank = 0, bad = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  if (argc != 3) return 2;
  MPI_Comm group;
  const int color = world_rank / 2;
  MPI_Comm_split(MPI_COMM_WORLD, color, world_rank, &group);
  int grank = 0;
  MPI_Comm_rank(group, &grank);
  char out[512], err[2048];
  snprintf(out, sizeof out, "%s/group%d", argv[2], color);
  const char *const kv[] = {
      "--data",   argv[1], "--out",        out, "--cell",      "gru", "--layers",     "1",
      "--hidden", "16",    "--embed",      "8", "--batch",     "4",   "--seq-len",    "10",
      "--steps",  "12",    "--ckpt-every", "6", "--log-every", "2",   "--eval-every", "6",
      NULL};
  /* 1. a whole run on this group's two ranks */
  train_opts o;
  train_opts_default(&o);
  if (set_all(&o, kv)) return 1;
  counts c = {0, 0};
  const train_sink sink = {on_text, on_record, &c};
  trainer *t = train_open(&o, group, &sink, err, sizeof err);
  if (!t) {
    fprintf(stderr, "train_api: the run did not open: %s", err);
    return 1;
  }
  while (train_step(t)) {}
  if (train_steps_done(t) != 12) bad = 1;
  train_close(t);
  train_opts_free(&o);
  if (grank == 0) printf("group %d: 12 steps, %d lines, %d records\n", color, c.lines, c.records);
  if (grank == 0 && (c.records < 8 || c.lines < 8)) bad = 1;
  /* 2. group 1 stops its run by request after step 3, then resumes it to the end */
  if (color == 1) {
    char out2[600];
    snprintf(out2, sizeof out2, "%s-stopped", out);
    train_opts_default(&o);
    if (set_all(&o, kv) || set_all(&o, (const char *const[]){"--out", out2, NULL})) return 1;
    t = train_open(&o, group, NULL, err, sizeof err);
    if (!t) return fprintf(stderr, "train_api: %s", err), 1;
    for (int k = 0; k < 3; k++) train_step(t);
    train_request(TRAIN_STOP, 0);
    while (train_step(t)) {}
    if (grank == 0)
      printf("group 1: stopped by request at step %lld\n", (long long)train_steps_done(t));
    if (train_steps_done(t) != 4) bad = 1;
    train_close(t);
    train_opts_free(&o);
    train_opts_default(&o);
    if (set_all(&o, (const char *const[]){"--resume", out2, NULL})) return 1;
    t = train_open(&o, group, NULL, err, sizeof err);
    if (!t) return fprintf(stderr, "train_api: resume: %s", err), 1;
    while (train_step(t)) {}
    if (train_steps_done(t) != 12) bad = 1;
    train_close(t);
    train_opts_free(&o);
  }
  /* 3. a dataset that is not one: an error returned on every rank of the group, the program goes on
   */
  train_opts_default(&o);
  snprintf(out, sizeof out, "%s/bad%d", argv[2], color);
  if (set_all(&o, (const char *const[]){"--data", argv[0], "--out", out, NULL})) return 1;
  t = train_open(&o, group, NULL, err, sizeof err);
  if (t || !strstr(err, argv[0])) {
    fprintf(stderr, "train_api: a bad dataset did not give an error naming it: %s\n", err);
    bad = 1;
  } else if (grank == 0) {
    printf("group %d: error returned: %s", color, err);
  }
  train_opts_free(&o);
  MPI_Comm_free(&group);
  MPI_Finalize();
  return bad;
}

/* recur inspect: describe a dataset, a model.h5, a checkpoint or a run directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "recur/opts.h"
#include "recur/ckpt.h"
#include "recur/train.h"
#include "recur/core.h"
#include "recur/tokenize.h"
#include "recur/dataset.h"
#include "recur/h5.h"
#include "recur/json.h"
#include "recur/model.h"

#define NBUCKET 24

static void length_histogram(const dataset *ds, int s, uint64_t *h) {
  memset(h, 0, NBUCKET * sizeof(uint64_t));
  for (uint64_t i = 0; i < ds->split[s].n_seq; i++) {
    uint64_t n = dataset_seq_len(ds, s, i);
    int b = 0;
    while (b < NBUCKET - 1 && (2ull << b) <= n) b++;
    h[b]++;
  }
}

static void inspect_model(const char *path, int json) {
  json_writer j;
  json_init(&j, stdout);
  model_inspect(path, json ? &j : NULL, NULL);
}

static void inspect_dataset(const char *path, int json, const char *writer) {
  dataset *ds = dataset_open(path);
  uint64_t h[SPLIT_COUNT][NBUCKET];
  for (int s = 0; s < SPLIT_COUNT; s++) length_histogram(ds, s, h[s]);
  int nshow = ds->vocab_size < 20 ? (int)ds->vocab_size : 20;
  int first = ds->level == LEVEL_BYTE ? 32 : 0;
  if (json) {
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_str(&j, "path", path);
    json_str(&j, "format", DATASET_FORMAT);
    json_int(&j, "version", DATASET_VERSION);
    json_str(&j, "recur_version", writer);
    json_str(&j, "level", ds_level_names[ds->level]);
    json_str(&j, "split_on", ds->split_on);
    json_int(&j, "vocab_size", ds->vocab_size);
    json_int(&j, "eos_id", ds->eos_id);
    json_int(&j, "unk_id", ds->unk_id);
    json_int(&j, "files", ds->n_files);
    json_array_begin(&j, "vocab_head");
    for (int i = 0; i < nshow && first + i < ds->vocab_size; i++)
      json_str(&j, NULL, ds->vocab[first + i]);
    json_array_end(&j);
    json_str(&j, "task", task_names[ds->task]);
    if (ds->level == LEVEL_REAL) { /* the features and the training split's statistics */
      json_array_begin(&j, "features");
      for (int i = 0; i < ds->n_features; i++) {
        json_object_begin(&j, NULL);
        json_str(&j, "name", ds->feature_names[i]);
        json_num(&j, "mean", ds->feature_mean[i]);
        json_num(&j, "std", ds->feature_std[i]);
        json_object_end(&j);
      }
      json_array_end(&j);
    }
    json_array_begin(&j, "outputs");
    for (int64_t i = 0; i < ds->n_out; i++) json_str(&j, NULL, ds->out_names[i]);
    json_array_end(&j);
    json_object_begin(&j, "splits");
    for (int s = 0; s < SPLIT_COUNT; s++) {
      json_object_begin(&j, ds_split_names[s]);
      json_int(&j, "sequences", (int64_t)ds->split[s].n_seq);
      json_int(&j, "tokens", (int64_t)ds->split[s].n_tok);
      json_array_begin(&j, "length_histogram");
      for (int b = 0; b < NBUCKET; b++)
        if (h[s][b]) {
          json_object_begin(&j, NULL);
          json_int(&j, "min", (int64_t)(1ull << b));
          json_int(&j, "max", (int64_t)((2ull << b) - 1));
          json_int(&j, "count", (int64_t)h[s][b]);
          json_object_end(&j);
        }
      json_array_end(&j);
      json_object_end(&j);
    }
    json_object_end(&j);
    json_object_end(&j);
  } else {
    printf("%s: %s version %d (written by recur %s), %s level, split on %s%s\n", path,
           DATASET_FORMAT, DATASET_VERSION, writer[0] ? writer : "before 0.2.0",
           ds_level_names[ds->level], ds->split_on, ds->n_files > 1 ? " (sharded)" : "");
    if (ds->n_files > 1) printf("  files: index + %d shards\n", ds->n_files - 1);
    if (ds->level == LEVEL_REAL) {
      printf("  %d features (train mean, std):", ds->n_features);
      for (int i = 0; i < ds->n_features && i < 20; i++)
        printf(" %s (%.4g, %.4g)", ds->feature_names[i], ds->feature_mean[i], ds->feature_std[i]);
      printf("%s\n", ds->n_features > 20 ? " ..." : "");
    }
    if (ds->level != LEVEL_REAL) {
      printf("  vocabulary: %lld entries", (long long)ds->vocab_size);
      if (ds->eos_id >= 0) printf(", <eos> = %lld", (long long)ds->eos_id);
      if (ds->unk_id >= 0) printf(", <unk> = %lld", (long long)ds->unk_id);
      if (ds->separate_vocab)
        printf("; sources: a vocabulary of their own, %lld entries", (long long)ds->src_vocab_size);
      printf("\n  first entries:");
      for (int i = 0; i < nshow && first + i < ds->vocab_size; i++) {
        putchar(' ');
        json_write_string(stdout, ds->vocab[first + i]);
      }
    }
    printf("\n");
    if (ds->n_cond_features > 0) { /* condlm --cond-features */
      printf("  task %s on %s of %d features (train mean, std):", task_names[ds->task],
             task_is(ds->task)->source ? "sources of frames" : "vectors", ds->n_cond_features);
      for (int i = 0; i < ds->n_cond_features && i < 20; i++)
        printf(" %s (%.4g, %.4g)", ds->cond_names[i], ds->cond_mean[i], ds->cond_std[i]);
      printf("%s\n", ds->n_cond_features > 20 ? " ..." : "");
    } else if (task_has_names(ds->task)) {
      printf("  task %s: %lld %s:", task_names[ds->task], (long long)ds->n_out,
             task_is(ds->task)->labels ? "labels" : "tags");
      for (int64_t i = 0; i < ds->n_out && i < 20; i++) {
        putchar(' ');
        json_write_string(stdout, ds->out_names[i]);
      }
      printf("%s\n", ds->n_out > 20 ? " ..." : "");
    }
    for (int s = 0; s < SPLIT_COUNT; s++) {
      printf("  %-5s %10llu sequences %12llu %s\n", ds_split_names[s],
             (unsigned long long)ds->split[s].n_seq, (unsigned long long)ds->split[s].n_tok,
             ds->level == LEVEL_REAL ? "steps" : "tokens");
      uint64_t mx = 1;
      for (int b = 0; b < NBUCKET; b++) mx = h[s][b] > mx ? h[s][b] : mx;
      for (int b = 0; b < NBUCKET; b++)
        if (h[s][b]) {
          char range[64];
          snprintf(range, sizeof range, "%llu-%llu", 1ull << b, (2ull << b) - 1);
          printf("        len %-14s %10llu ", range, (unsigned long long)h[s][b]);
          int bar = (int)(40.0 * (double)h[s][b] / (double)mx + 0.5);
          for (int k = 0; k < bar; k++) putchar('#');
          putchar('\n');
        }
    }
  }
  dataset_close(ds);
}

typedef struct {
  int json;
} inspect_flags;
static const opt_def INSPECT_DEFS[] = {
    {"--json", NULL, OPT_SWITCH, OPT_FIELD(inspect_flags, json), 0, 1, NULL, "0", NULL,
     "one JSON object", 0},
};
static const opt_table INSPECT = {
    "inspect", "usage: recur inspect PATH [--json]   (a dataset, model.h5 or checkpoint directory)",
    NULL, INSPECT_DEFS, 1};

int cmd_inspect(int argc, char **argv) {
  const char *path = NULL;
  inspect_flags fl;
  int np = 0;
  opts_default(&INSPECT, &fl);
  if (opts_parse(&INSPECT, &fl, NULL, argc, argv, &path, 1, &np)) return 0;
  const int json = fl.json;
  if (!path) recur_usage_fail("recur inspect PATH [--json]", "no path given");
  core_errors_agreed(0); /* rank 0 alone reads */
  if (core_rank() != 0) return 0;
  struct stat st;
  if (stat(path, &st) != 0) recur_fail(path, NULL, "no such file or directory");
  if (S_ISDIR(st.st_mode)) {
    char *commit = core_path("%s/COMMIT", path);
    int is_ckpt = stat(commit, &st) == 0;
    xfree(commit);
    if (is_ckpt)
      ckpt_inspect(path, json, train_options());
    else
      inspect_model(path, json);
    return 0;
  }
  hid_t f = h5_open(path, 0);
  char fmt[64] = "", writer[32] = "";
  h5_attr_get_str(f, "format", fmt, sizeof fmt);
  h5_attr_get_str(f, "recur_version", writer, sizeof writer);
  H5Fclose(f);
  if (strcmp(fmt, MODEL_FORMAT) == 0)
    inspect_model(path, json);
  else
    inspect_dataset(path, json, writer);
  return 0;
}

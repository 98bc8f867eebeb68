/* train: the training loop. Every rank derives the same global batches; rank r computes slots
 * r*K .. r*K+K-1 of the W*K slots (K = --accum), so W ranks with accum K compute exactly what one
 * rank computes with accum W*K. Loss is summed over targets and divided by the global target
 * count, which every rank knows from the schedule without communication. */
#define _POSIX_C_SOURCE 200809L
#include "recur/train.h"

#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recur/batch.h"
#include "recur/ckpt.h"
#include "recur/core.h"
#include "recur/dist.h"
#include "recur/h5.h"
#include "train-impl.h"

/* ---- options: one table gives each flag its default, whether it takes a value, and whether
 * it may change when a run is resumed ---- */
typedef struct {
  const char *flag, *def;
  int value, safe;
} flag_def;

static const flag_def FLAGS[] = {
    {"--cell", "lstm", 1, 0}, {"--layers", "2", 1, 0}, {"--hidden", "256", 1, 0}, {"--embed", "64", 1, 0},
    {"--dropout", "0", 1, 0}, {"--task", "lm", 1, 0}, {"--bidirectional", "0", 0, 0}, {"--pool", "last", 1, 0}, {"--mode", "stream", 1, 0}, {"--seq-len", "100", 1, 0},
    {"--max-len", "0", 1, 0}, {"--batch", "32", 1, 0}, {"--optim", "adam", 1, 0}, {"--lr", "0.002", 1, 0},
    {"--weight-decay", "0", 1, 0}, {"--momentum", "0", 1, 0}, {"--nesterov", "0", 0, 0}, {"--beta1", "0.9", 1, 0},
    {"--beta2", "0.999", 1, 0}, {"--eps", "1e-8", 1, 0}, {"--clip", "5", 1, 0}, {"--schedule", "constant", 1, 0},
    {"--warmup", "0", 1, 0}, {"--decay-every", "0", 1, 0}, {"--gamma", "0.1", 1, 0}, {"--min-lr", "0", 1, 0},
    {"--seed", "1234", 1, 0}, {"--scheduled-sampling", "none", 1, 0}, {"--ss-k", "1", 1, 0}, {"--ss-c", "0.0001", 1, 0},
    {"--ss-min", "0", 1, 0},
    /* safe to change on resume */
    {"--accum", "1", 1, 1}, {"--steps", "0", 1, 1}, {"--epochs", "1", 1, 1}, {"--eval-every", "0", 1, 1},
    {"--log-every", "10", 1, 1}, {"--ckpt-every", "1000", 1, 1}, {"--ckpt-minutes", "0", 1, 1}, {"--keep", "0", 1, 1}, {"--max-bad-steps", "10", 1, 1},
    {"--quiet", "0", 0, 1}, {"--data", "", 1, 1}, {"--out", "", 1, 1}, {"--resume", "", 1, 1},
};
enum { NFLAGS = sizeof FLAGS / sizeof FLAGS[0] };
_Static_assert(NFLAGS <= TRAIN_MAX_FLAGS, "raise TRAIN_MAX_FLAGS");

int train_flag_index(const char *flag) {
  for (int i = 0; i < NFLAGS; i++)
    if (!strcmp(FLAGS[i].flag, flag)) return i;
  return -1;
}

int train_flag_takes_value(const char *flag) {
  int i = train_flag_index(flag);
  return i < 0 ? -1 : FLAGS[i].value;
}

int train_opts_set(train_opts *o, const char *a, const char *v) {
  static const char *const cells[] = {"rnn_tanh", "rnn_relu", "lstm", "gru", NULL};
  static const char *const modes[] = {"stream", "sequences", NULL};
  static const char *const optims[] = {"sgd", "adam", "adamw", NULL};
  static const char *const scheds[] = {"constant", "step", "cosine", NULL};
  static const char *const tasks[] = {"lm", "classify", "tag", NULL};
  static const char *const pools[] = {"last", "mean", NULL};
  static const char *const sss[] = {"none", "linear", "exp", "invsigmoid", NULL};
  int i = train_flag_index(a);
  if (i < 0) return 0;
  char *c = o->canon[i];
  const size_t cn = sizeof o->canon[i];
#define INT(field, lo, hi) snprintf(c, cn, "%lld", (long long)(field = arg_int(a, v, lo, hi)))
#define DBL(field, lo, hi) snprintf(c, cn, "%.9g", (double)(field = (float)arg_double(a, v, lo, hi)))
  if (!strcmp(a, "--cell")) snprintf(c, cn, "%s", cell_names[o->mc.cell = cell_parse(arg_choice(a, v, cells))]);
  else if (!strcmp(a, "--layers")) INT(o->mc.layers, 1, MODEL_MAX_LAYERS);
  else if (!strcmp(a, "--hidden")) INT(o->mc.hidden, 1, 65536);
  else if (!strcmp(a, "--embed")) INT(o->mc.embed, 1, 65536);
  else if (!strcmp(a, "--dropout")) DBL(o->mc.dropout, 0, 0.99);
  else if (!strcmp(a, "--task")) snprintf(c, cn, "%s", task_names[o->mc.task = task_parse(arg_choice(a, v, tasks))]);
  else if (!strcmp(a, "--bidirectional")) snprintf(c, cn, "%d", o->mc.bidirectional = v ? (int)arg_int(a, v, 0, 1) : 1);
  else if (!strcmp(a, "--pool")) snprintf(c, cn, "%s", (o->mc.pool = !strcmp(arg_choice(a, v, pools), "mean")) ? "mean" : "last"); else if (!strcmp(a, "--mode")) snprintf(c, cn, "%s", modes[o->mode = !strcmp(arg_choice(a, v, modes), "stream") ? MODE_STREAM : MODE_SEQUENCES]);
  else if (!strcmp(a, "--seq-len")) INT(o->T, 1, 1 << 20);
  else if (!strcmp(a, "--max-len")) INT(o->max_len, 0, 1 << 24);
  else if (!strcmp(a, "--batch")) INT(o->B, 1, 1 << 20);
  else if (!strcmp(a, "--optim")) snprintf(c, cn, "%s", optims[o->optim = optim_parse(arg_choice(a, v, optims))]);
  else if (!strcmp(a, "--lr")) DBL(o->lr.lr, 0, 1e3);
  else if (!strcmp(a, "--weight-decay")) DBL(o->weight_decay, 0, 10);
  else if (!strcmp(a, "--momentum")) DBL(o->momentum, 0, 0.9999);
  else if (!strcmp(a, "--nesterov")) snprintf(c, cn, "%d", o->nesterov = v ? (int)arg_int(a, v, 0, 1) : 1);
  else if (!strcmp(a, "--beta1")) DBL(o->beta1, 0, 0.9999999);
  else if (!strcmp(a, "--beta2")) DBL(o->beta2, 0, 0.9999999);
  else if (!strcmp(a, "--eps")) DBL(o->eps, 0, 1);
  else if (!strcmp(a, "--clip")) DBL(o->clip, 0, 1e9);
  else if (!strcmp(a, "--schedule")) snprintf(c, cn, "%s", scheds[o->lr.kind = lr_parse(arg_choice(a, v, scheds))]);
  else if (!strcmp(a, "--warmup")) INT(o->lr.warmup, 0, INT64_MAX / 2);
  else if (!strcmp(a, "--decay-every")) INT(o->lr.decay_every, 0, INT64_MAX / 2);
  else if (!strcmp(a, "--gamma")) DBL(o->lr.gamma, 0, 1);
  else if (!strcmp(a, "--min-lr")) DBL(o->lr.min_lr, 0, 1e3);
  else if (!strcmp(a, "--seed")) INT(o->seed, 0, INT64_MAX);
  else if (!strcmp(a, "--scheduled-sampling")) {
    const char *ch = arg_choice(a, v, sss);
    for (int k = 0; sss[k]; k++)
      if (!strcmp(ch, sss[k])) o->ss_kind = k;
    snprintf(c, cn, "%s", ch);
  }
  else if (!strcmp(a, "--ss-k")) DBL(o->ss_k, 0, 1e12);
  else if (!strcmp(a, "--ss-c")) DBL(o->ss_c, 0, 1e3);
  else if (!strcmp(a, "--ss-min")) DBL(o->ss_min, 0, 1);
  else if (!strcmp(a, "--accum")) INT(o->accum, 1, 1 << 16);
  else if (!strcmp(a, "--steps")) INT(o->steps, 0, INT64_MAX / 2);
  else if (!strcmp(a, "--epochs")) INT(o->epochs, 1, 1 << 30);
  else if (!strcmp(a, "--eval-every")) INT(o->eval_every, 0, INT64_MAX / 2);
  else if (!strcmp(a, "--log-every")) INT(o->log_every, 1, INT64_MAX / 2);
  else if (!strcmp(a, "--ckpt-every")) INT(o->save_every, 0, INT64_MAX / 2);
  else if (!strcmp(a, "--ckpt-minutes")) DBL(o->ckpt_minutes, 0, 1e6);
  else if (!strcmp(a, "--keep")) INT(o->keep, 0, 1 << 30);
  else if (!strcmp(a, "--max-bad-steps")) INT(o->max_bad_steps, 1, 1 << 30);
  else if (!strcmp(a, "--quiet")) snprintf(c, cn, "%d", o->quiet = v ? (int)arg_int(a, v, 0, 1) : 1);
  else if (!strcmp(a, "--data")) snprintf(c, cn, "%s", v), o->data = c; /* paths live in canon: stable */
  else if (!strcmp(a, "--out")) snprintf(c, cn, "%s", v), o->out = c;
  else if (!strcmp(a, "--resume")) snprintf(c, cn, "%s", v), o->resume = c;
#undef INT
#undef DBL
  return FLAGS[i].value ? 2 : 1;
}

void train_opts_default(train_opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = 0; i < NFLAGS; i++)
    if (FLAGS[i].def[0]) train_opts_set(o, FLAGS[i].flag, FLAGS[i].def);
  o->data = o->out = o->resume = NULL;
}

/* the options a checkpoint must agree with, as "--flag value" lines */
static void opts_text(const train_opts *o, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < NFLAGS && n < cap; i++)
    if (o->canon[i][0] && strcmp(FLAGS[i].flag, "--resume") && strcmp(FLAGS[i].flag, "--out") && strcmp(FLAGS[i].flag, "--quiet"))
      n += (size_t)snprintf(buf + n, cap - n, "%s %s\n", FLAGS[i].flag, o->canon[i]);
}

/* Resume: the saved options, with the flags given again checked and the safe ones applied. */
static void opts_merge(train_opts *saved, const train_opts *given, const char *text, const char *dir) {
  train_opts_default(saved);
  char *copy = xstrdup(text), *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *sp = strchr(line, ' ');
    if (!sp) continue;
    *sp = 0;
    if (train_flag_index(line) < 0) recur_fail(dir, NULL, "checkpoint names an unknown option '%s'", line);
    train_opts_set(saved, line, sp + 1);
  }
  free(copy);
  saved->quiet = given->quiet;
  char bad[2048] = "";
  for (int i = 0; i < NFLAGS; i++) {
    if (!given->given[i]) continue;
    if (FLAGS[i].safe) {
      train_opts_set(saved, FLAGS[i].flag, given->canon[i]);
    } else if (strcmp(saved->canon[i], given->canon[i]) != 0) {
      size_t n = strlen(bad);
      snprintf(bad + n, sizeof bad - n, "%s%s %s (checkpoint: %s)", n ? ", " : "", FLAGS[i].flag, given->canon[i], saved->canon[i]);
    }
  }
  if (bad[0])
    recur_fail(dir, "drop these flags to continue the run as it was, or start a new run",
               "flags disagree with the checkpoint: %s", bad);
}

/* ---- states carried across windows: (L, B_total, H) for every stream ---- */
static void gather_state(float *dst, const float *all, const batch *b, int L, int Btot, int H) {
  for (int l = 0; l < L; l++)
    for (int r = 0; r < b->s.B; r++)
      memcpy(dst + ((int64_t)l * b->s.B + r) * H, all + ((int64_t)l * Btot + (int64_t)b->seq_id[r]) * H,
             (size_t)H * sizeof(float));
}
static void scatter_state(float *all, const float *src, const batch *b, int L, int Btot, int H) {
  for (int l = 0; l < L; l++)
    for (int r = 0; r < b->s.B; r++)
      memcpy(all + ((int64_t)l * Btot + (int64_t)b->seq_id[r]) * H, src + ((int64_t)l * b->s.B + r) * H,
             (size_t)H * sizeof(float));
}

/* ---- signals ----
 * SIGINT, SIGTERM, SIGUSR2: stop. The step in progress finishes, every rank learns of the stop
 * in that step's reduction of the loss (so all stop after the same step whichever rank was
 * signalled), validation is skipped, the checkpoint of that step is committed, and the process
 * exits 0. A second SIGINT ends the process at once (the newest committed checkpoint stays).
 * SIGUSR1: commit a checkpoint after the step in progress and go on.
 * Under Open MPI, mpirun turns its own SIGINT/SIGTERM into SIGTERM to the ranks followed by
 * SIGKILL after odls_base_sigkill_timeout seconds (1 by default), and forwards SIGUSR1/SIGUSR2
 * untouched; see README "Stopping a run". */
static volatile sig_atomic_t g_stop, g_ckpt_now;
static void on_signal(int sig) {
  if (sig == SIGUSR1) {
    g_ckpt_now = 1;
    return;
  }
  if (sig == SIGINT && g_stop == SIGINT) _exit(130);
  g_stop = sig;
}
static void signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}
static const char *signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGUSR2 ? "SIGUSR2" : "a signal";
}

static void grad_ready_cb(void *arg, int64_t upto) { dist_reducer_ready(arg, upto); }
static void poke_cb(void *arg) { dist_reducer_poke(arg); }

static void fmt_eta(char *buf, size_t n, double s) {
  if (s < 0 || !isfinite(s)) s = 0;
  long t = (long)s;
  if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static void mkdir_p(const char *dir) {
  char p[1024];
  snprintf(p, sizeof p, "%s", dir);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0755);
      *s = '/';
    }
  if (mkdir(p, 0755) != 0 && errno != EEXIST) recur_fail(dir, "check the path and its permissions", "cannot create run directory");
}

/* a JSON number, or null when not finite (a skipped step) */
static const char *json_num(double x, char *buf) {
  if (isfinite(x)) snprintf(buf, 32, "%.9g", x);
  else snprintf(buf, 32, "null");
  return buf;
}

static double metric_of(const dataset *ds, double nats) {
  return ds->level == LEVEL_WORD ? exp(nats) : nats / log(2.0);
}

/* metrics.jsonl of a resumed run: keep the lines up to the checkpoint's step, then append */
static FILE *open_metrics(const char *out, int64_t keep_upto) {
  char path[1200];
  snprintf(path, sizeof path, "%s/metrics.jsonl", out);
  if (keep_upto > 0) {
    FILE *in = fopen(path, "r");
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    if (!o) recur_fail(tmp, "check that the run directory is writable", "cannot create metrics file");
    char line[4096];
    while (in && fgets(line, sizeof line, in)) {
      const char *p = strstr(line, "\"step\":");
      if (p && atoll(p + 7) <= keep_upto) fputs(line, o);
    }
    if (in) fclose(in);
    fclose(o);
    if (rename(tmp, path) != 0) recur_fail(path, NULL, "cannot replace metrics file");
  }
  FILE *f = fopen(path, keep_upto > 0 ? "a" : "w");
  if (!f) recur_fail(path, "check that the run directory is writable", "cannot create metrics file");
  return f;
}

static char *read_saved_options(const char *dir) {
  char p[1500];
  snprintf(p, sizeof p, "%s/state-rank-00000.h5", dir);
  hid_t f = h5_open(p, 0);
  char *buf = xcalloc(65536, 1);
  if (!h5_attr_get_str(f, "options", buf, 65536)) recur_fail(p, NULL, "missing 'options' attribute");
  H5Fclose(f);
  return buf;
}

int train_run(const train_opts *given) {
  const int rank = core_rank(), W = core_world();
  dist_blas_threads_default();
  const train_opts *o = given;
  train_opts merged;
  char ckdir[1400] = "", outdir[1400];
  if (given->resume) {
    ckpt_find(given->resume, ckdir, sizeof ckdir);
    char *text = read_saved_options(ckdir);
    opts_merge(&merged, given, text, ckdir);
    free(text);
    if (!given->out) { /* the run directory: RUN, or RUN/checkpoints/step-N -> RUN */
      snprintf(outdir, sizeof outdir, "%s", ckdir);
      for (int up = 0; up < 2; up++) {
        char *sl = strrchr(outdir, '/');
        if (sl) *sl = 0;
      }
      merged.out = outdir;
    }
    o = &merged;
    if (rank == 0 && !o->quiet) printf("recur: resuming from %s\n", ckdir);
  }
  dataset *ds = dataset_open(o->data);
  const ds_split *tr = &ds->split[SPLIT_TRAIN];
  if (tr->n_tok == 0) recur_fail(o->data, "prepare it with some training text", "the train split is empty");
  if (o->mode == MODE_SEQUENCES && !ds->task && ds->eos_id < 0 && !strcmp(ds->split_on, "none"))
    if (!o->quiet && rank == 0)
      fprintf(stderr, "recur: warning: --mode sequences on an undelimited dataset: each file is one sequence\n");
  model_config mc = o->mc;
  mc.vocab = (int)ds->vocab_size;
  mc.n_out = ds->task ? (int)ds->n_out : 0;
  if (mc.task != TASK_LM && o->ss_kind != SS_NONE)
    recur_fail(NULL, "scheduled sampling feeds a language model its own predictions", "--scheduled-sampling needs --task lm");
  if (mc.task != ds->task)
    recur_fail(o->data, "give the --task the dataset was prepared for", "the dataset is for --task %s, not --task %s",
               task_names[ds->task], task_names[mc.task]);
  if (mc.task != TASK_LM && o->mode == MODE_STREAM)
    recur_fail(NULL, "classification and tagging train on whole sequences", "--task %s needs --mode sequences", task_names[mc.task]);
  model_config_check(&mc);
  model *m;
  if (ckdir[0]) {
    char mp[1500];
    model_vocab cv;
    snprintf(mp, sizeof mp, "%s/model.h5", ckdir);
    m = model_load(mp, &cv, NULL);
    if (m->cfg.vocab != mc.vocab || m->cfg.cell != mc.cell || m->cfg.layers != mc.layers || m->cfg.hidden != mc.hidden ||
        m->cfg.embed != mc.embed)
      recur_fail(mp, "resume with the dataset the run was trained on", "model configuration or vocabulary size differs from the dataset's");
    for (int64_t i = 0; i < cv.vocab_size; i++)
      if (strcmp(cv.vocab[i], ds->vocab[i]) != 0)
        recur_fail(o->data, "resume with the dataset the run was trained on", "vocabulary entry %lld differs from the checkpoint's", (long long)i);
    model_vocab_free(&cv);
    m->cfg.dropout = mc.dropout;
    m->seed = o->seed;
  } else {
    m = model_create(&mc, o->seed);
  }
  const int L = mc.layers, H = mc.hidden;

  schedule sc;
  schedule_init(&sc, ds, SPLIT_TRAIN, o->mode, o->B, o->T, o->max_len, o->seed);
  int64_t spe = schedule_steps_per_epoch(&sc);
  if (spe < 1)
    recur_fail(o->data, "lower --batch or --seq-len, or give more text",
               "train split (%llu tokens) is too small for --batch %d x --seq-len %d",
               (unsigned long long)tr->n_tok, o->B, o->T);
  int64_t total = o->steps > 0 ? o->steps : o->epochs * spe;
  lr_schedule lr = o->lr;
  lr.total = total;

  optim opt;
  optim_init(&opt, o->optim, m->n_params);
  opt.weight_decay = o->weight_decay;
  opt.momentum = o->momentum;
  opt.nesterov = o->nesterov;
  opt.beta1 = o->beta1;
  opt.beta2 = o->beta2;
  opt.eps = o->eps;

  dist_reducer red;
  dist_reducer_init(&red, m->grads, m->n_params, 4 << 20);
  m->grad_ready = grad_ready_cb;
  m->grad_arg = &red;
  m->scratch.poke = poke_cb;
  m->scratch.poke_arg = &red;

  char path[1500];
  FILE *metrics = NULL;
  ckpt_counters cnt = {0, 0, INFINITY, W};
  int64_t start = 0;
  const int S = W * o->accum;
  const int stream = o->mode == MODE_STREAM;
  float *carry_h = stream ? xcalloc((size_t)L * (size_t)o->B * (size_t)H, sizeof(float)) : NULL;
  float *carry_c = stream ? xcalloc((size_t)L * (size_t)o->B * (size_t)H, sizeof(float)) : NULL;
  int *own = xmalloc((size_t)o->B * sizeof(int)), n_own = 0;
  for (int i = 0; i < o->B; i++)
    if ((i % S) / o->accum == rank) own[n_own++] = i;
  char options[8192];
  opts_text(o, options, sizeof options);
  ckpt_payload pay = {&opt, carry_h, carry_c, L, o->B, H, own, n_own, options};
  double load_s = 0;
  if (ckdir[0]) {
    char *saved;
    double t0 = core_now();
    ckpt_load_state(ckdir, &pay, &cnt, &saved);
    MPI_Barrier(MPI_COMM_WORLD);
    load_s = core_now() - t0;
    free(saved);
    start = cnt.step;
  }
  if (rank == 0) {
    mkdir_p(o->out);
    if (!ckdir[0]) {
      char cp[1300];
      snprintf(cp, sizeof cp, "%s/checkpoints/latest", o->out);
      if (access(cp, F_OK) == 0)
        recur_fail(o->out, "continue it with --resume, or give another --out", "the run directory already holds checkpoints");
    }
    ckpt_cleanup(o->out);
    metrics = open_metrics(o->out, start);
    if (ckdir[0]) {
      fprintf(metrics, "{\"step\":%lld,\"resume_load_s\":%.3f}\n", (long long)start, load_s);
      if (!o->quiet) printf("recur: loaded step %lld (optimizer state, carried states) in %.2fs\n", (long long)start, load_s);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  model_vocab mv = {ds->level, ds->eos_id, ds->unk_id, "", ds->vocab, ds->vocab_size, ds->out_names, ds->n_out};
  snprintf(mv.split_on, sizeof mv.split_on, "%s", ds->split_on);

  signals_install();

  uint64_t *ids = xmalloc((size_t)o->B * sizeof(uint64_t)), *mine = xmalloc((size_t)o->B * sizeof(uint64_t));
  int *idx = xmalloc((size_t)o->B * sizeof(int));
  float *h0 = stream ? xmalloc((size_t)L * (size_t)o->B * (size_t)H * sizeof(float)) : NULL;
  float *c0 = stream ? xmalloc((size_t)L * (size_t)o->B * (size_t)H * sizeof(float)) : NULL;
  items it = {0};
  batch b = {0};
  const int fail_rank = getenv("RECUR_TEST_FAIL_RANK") ? atoi(getenv("RECUR_TEST_FAIL_RANK")) : -1;
  const int64_t fail_step = getenv("RECUR_TEST_FAIL_STEP") ? atoll(getenv("RECUR_TEST_FAIL_STEP")) : -1;
  /* test hook: a non-finite gradient in steps [nan_from, nan_to] (1-based) */
  const int64_t nan_from = getenv("RECUR_TEST_NAN_FROM") ? atoll(getenv("RECUR_TEST_NAN_FROM")) : -1;
  const int64_t nan_to = getenv("RECUR_TEST_NAN_TO") ? atoll(getenv("RECUR_TEST_NAN_TO")) : INT64_MAX;

  if (rank == 0 && !o->quiet)
    printf("recur: %s %dx%d (embed %d, vocab %d), %lld parameters; %s mode, global batch %d%s%d, %d rank(s) x accum %d; "
           "%lld steps (%lld per epoch)\n",
           cell_names[mc.cell], L, H, mc.embed, mc.vocab, (long long)m->n_params, stream ? "stream" : "sequences", o->B,
           stream ? " x seq-len " : ", max-len ", stream ? o->T : o->max_len, W, o->accum, (long long)total, (long long)spe);

  double best_val = cnt.best_val, t_start = core_now(), t_log = t_start, tok_log = 0, comm_wait = 0, comm_total = 0;
  double train_time = 0;
  int bad_run = 0;
  int64_t bad_total = cnt.bad_total, step = start;
  double loss_log = 0, tgt_log = 0, t_ckpt = core_now();
  int n_log = 0;
  if (start >= total && rank == 0 && !o->quiet)
    printf("recur: the checkpoint is at step %lld, the run has %lld steps: nothing to do\n", (long long)start, (long long)total);
  for (step = start; step < total; step++) {
    double t_step = core_now();
    int n = schedule_items(&sc, step, ids);
    double global_targets = 0;
    const double ss = ss_eps(o->ss_kind, o->ss_k, o->ss_c, o->ss_min, step);
    if (stream) {
      global_targets = (double)n * o->T;
      if (step % spe == 0) {
        memset(carry_h, 0, (size_t)L * (size_t)o->B * (size_t)H * sizeof(float));
        memset(carry_c, 0, (size_t)L * (size_t)o->B * (size_t)H * sizeof(float));
      }
    } else {
      for (int i = 0; i < n; i++) global_targets += items_seq_targets(ds, SPLIT_TRAIN, ids[i], o->max_len);
    }
    memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
    double stats[5] = {0, 0, 0, 0, 0}; /* loss, targets, stop, checkpoint requested, checkpoint due */
    for (int k = 0; k < o->accum; k++) {
      int cnt = schedule_slot(n, rank * o->accum + k, S, idx);
      for (int i = 0; i < cnt; i++) mine[i] = ids[idx[i]];
      dist_reducer_begin(&red, k == o->accum - 1);
      if (cnt == 0) continue;
      if (stream) items_load_windows(&it, ds, SPLIT_TRAIN, mine, cnt, sc.stream_len, (uint64_t)(step % spe) * (uint64_t)o->T, o->T);
      else items_load_sequences(&it, ds, SPLIT_TRAIN, mine, cnt, o->max_len);
      items_pack(&b, &it, cnt, ds);
      if (stream) {
        gather_state(h0, carry_h, &b, L, o->B, H);
        gather_state(c0, carry_c, &b, L, o->B, H);
      }
      if (rank == fail_rank && step == fail_step)
        recur_fail(o->data, NULL, "test hook: rank %d fails at step %lld", rank, (long long)step);
      if (ss < 1.0) ss_sample_inputs(m, &b, h0, c0, ss, o->seed, (uint64_t)step);
      stats[0] += model_forward(m, &b, h0, c0, (uint64_t)step, 1);
      stats[1] += (double)b.n_targets;
      model_backward(m, &b, (float)(1.0 / global_targets));
      if (stream) {
        model_final_state(m, &b, h0, c0);
        scatter_state(carry_h, h0, &b, L, o->B, H);
        scatter_state(carry_c, c0, &b, L, o->B, H);
      }
    }
    dist_reducer_finish(&red);
    if (step + 1 >= nan_from && step + 1 <= nan_to && nan_from > 0) m->grads[0] = NAN;
    comm_wait += red.wait_s;
    comm_total += red.total_s;
    stats[2] = g_stop ? 1 : 0;
    /* checkpoint requests: SIGUSR1 on any rank, or --ckpt-minutes by rank 0's clock */
    stats[3] = g_ckpt_now;
    stats[4] = rank == 0 && o->ckpt_minutes > 0 && core_now() - t_ckpt >= o->ckpt_minutes * 60;
    g_ckpt_now = 0;
    dist_sum_doubles(stats, 5);
    RECUR_ASSERT(fabs(stats[1] - global_targets) < 0.5);
    double loss = stats[0] / global_targets;
    double gnorm = optim_grad_norm(m->grads, m->n_params);
    float cur_lr = lr_at(&lr, step);
    int skipped = !isfinite(gnorm) || !isfinite(loss);
    if (skipped) {
      bad_run++;
      bad_total++;
      if (rank == 0) fprintf(stderr, "recur: warning: step %lld: non-finite loss or gradient, step skipped\n", (long long)step + 1);
      if (bad_run >= o->max_bad_steps)
        recur_fail(o->out, "lower --lr or set --clip", "%d steps in a row had a non-finite loss or gradient", bad_run);
    } else {
      bad_run = 0;
      optim_clip(m->grads, m->n_params, gnorm, o->clip);
      optim_step(&opt, m->params, m->grads, cur_lr);
    }
    double now = core_now();
    train_time += now - t_step;
    tok_log += global_targets;
    if (!skipped) { loss_log += stats[0]; tgt_log += global_targets; }
    n_log++;
    const int stopping = stats[2] > 0, last = step + 1 == total || stopping;
    if (rank == 0 && (((step + 1) % o->log_every == 0) || last)) {
      double tps = tok_log / (now - t_log), avg = tgt_log > 0 ? loss_log / tgt_log : NAN;
      double eta = train_time / (double)(step + 1) * (double)(total - step - 1);
      char etas[32], nb[3][32];
      fmt_eta(etas, sizeof etas, eta);
      if (!o->quiet)
        printf("step %6lld/%lld | epoch %5.2f | loss %.4f | %8.0f tok/s | grad %7.3f | lr %.2e | ETA %s\n",
               (long long)step + 1, (long long)total, (double)(step + 1) / (double)spe, avg, tps, gnorm, cur_lr, etas);
      fprintf(metrics,
              "{\"step\":%lld,\"epoch\":%.6f,\"loss\":%s,\"last_loss\":%s,\"lr\":%.9g,\"grad_norm\":%s,"
              "\"tokens_per_s\":%.1f,\"skipped\":%lld,\"comm_wait_s\":%.6f,\"comm_total_s\":%.6f,\"elapsed_s\":%.3f,"
              "\"ss_eps\":%.9g}\n",
              (long long)step + 1, (double)(step + 1) / (double)spe, json_num(avg, nb[0]), json_num(loss, nb[1]), cur_lr,
              json_num(gnorm, nb[2]), tps, (long long)bad_total, comm_wait / n_log, comm_total / n_log, now - t_start, ss);
      fflush(metrics);
      fflush(stdout);
      t_log = now;
      tok_log = loss_log = tgt_log = 0;
      n_log = 0;
      comm_wait = comm_total = 0;
    }
    /* no validation on a stop: under mpirun the ranks have about a second before SIGKILL */
    if (!stopping && ds->split[SPLIT_VAL].n_tok > 1 && ((o->eval_every > 0 && (step + 1) % o->eval_every == 0) || last)) {
      double te = core_now();
      eval_result r = train_eval(m, ds, SPLIT_VAL, stream, o->B, o->T, o->B, o->max_len);
      double vl = r.loss_sum / r.tokens;
      if (rank == 0) {
        if (ds->task) {
          if (!o->quiet)
            printf("  val loss %.4f | accuracy %.4f | macro F1 %.4f | %.0f %s | %.1fs\n", vl, eval_accuracy(&r), eval_macro_f1(&r),
                   r.tokens, ds->task == 1 ? "sequences" : "tokens", core_now() - te);
          fprintf(metrics, "{\"step\":%lld,\"epoch\":%.6f,\"val_loss\":%.9g,\"val_tokens\":%.0f,", (long long)step + 1,
                  (double)(step + 1) / (double)spe, vl, r.tokens);
          eval_json(metrics, &r, ds->out_names);
          fprintf(metrics, "}\n");
        } else {
          const char *mname = ds->level == LEVEL_WORD ? "ppl" : "bpc";
          if (!o->quiet) printf("  val loss %.4f | %s %.4f | %.0f tokens | %.1fs\n", vl, mname, metric_of(ds, vl), r.tokens, core_now() - te);
          fprintf(metrics, "{\"step\":%lld,\"epoch\":%.6f,\"val_loss\":%.9g,\"val_%s\":%.9g,\"val_tokens\":%.0f}\n",
                  (long long)step + 1, (double)(step + 1) / (double)spe, vl, mname, metric_of(ds, vl), r.tokens);
        }
        fflush(metrics);
        if (vl < best_val) {
          best_val = vl;
          snprintf(path, sizeof path, "%s/model-best.h5", o->out);
          model_save(m, &mv, step + 1, path);
        }
      }
      free(r.confusion);
      t_log += core_now() - te;
    }
    if ((o->save_every > 0 && (step + 1) % o->save_every == 0) || last || stats[3] > 0 || stats[4] > 0) {
      double tc = core_now();
      ckpt_counters now_cnt = {step + 1, bad_total, best_val, W};
      ckpt_save(o->out, m, &mv, &now_cnt, &pay, o->keep);
      if (rank == 0) {
        ckpt_publish_model(o->out, step + 1, m, &mv);
        const char *why = stopping ? "stop" : stats[3] > 0 ? "request" : stats[4] > 0 ? "minutes" : "schedule";
        fprintf(metrics, "{\"step\":%lld,\"checkpoint_s\":%.3f,\"checkpoint_reason\":\"%s\"}\n", (long long)step + 1,
                core_now() - tc, why);
        fflush(metrics);
        if (!o->quiet && !stopping && stats[3] > 0)
          printf("recur: checkpoint step-%08lld committed on request (%.2fs)\n", (long long)step + 1, core_now() - tc);
      }
      t_ckpt = core_now();
      t_log += core_now() - tc;
    }
    if (stopping) {
      if (rank == 0 && !o->quiet) {
        printf("recur: stopped by %s after step %lld; checkpoint step-%08lld committed\n",
               g_stop ? signal_name(g_stop) : "a signal to another rank", (long long)step + 1, (long long)step + 1);
        fflush(stdout);
      }
      step++;
      break;
    }
  }
  if (rank == 0 && !o->quiet)
    printf("done: %lld steps in %.1fs, peak RSS %.0f MiB (rank 0)\n", (long long)step, core_now() - t_start, core_peak_rss_mb());
  if (metrics) fclose(metrics);
  free(ids); free(mine); free(idx); free(carry_h); free(carry_c); free(h0); free(c0); free(own);
  items_free(&it);
  batch_free(&b);
  dist_reducer_free(&red);
  optim_free(&opt);
  schedule_free(&sc);
  model_free(m);
  dataset_close(ds);
  return 0;
}

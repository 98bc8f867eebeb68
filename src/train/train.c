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
    {"--log-every", "10", 1, 1}, {"--ckpt-every", "1000", 1, 1}, {"--keep", "0", 1, 1}, {"--max-bad-steps", "10", 1, 1},
    {"--quiet", "0", 0, 1}, {"--data", "", 1, 1}, {"--out", "", 1, 1}, {"--resume", "", 1, 1},
};
enum { NFLAGS = sizeof FLAGS / sizeof FLAGS[0] };

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
  o->mc.vocab = 0;
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

/* ---- items: a sequence or a stream window as (inputs, targets) = (buf, buf + 1) ---- */
typedef struct {
  int32_t *pool, *tagpool;
  int64_t cap;
  int32_t **in, **tgt;
  int *len;
  uint64_t *ids;
  int32_t *labels;  /* classify: label of each item */
  int capn;
} items;

static void items_reserve(items *it, int n, int64_t tokens) {
  if (tokens > it->cap) {
    it->pool = xrealloc(it->pool, (size_t)tokens * sizeof(int32_t));
    it->tagpool = xrealloc(it->tagpool, (size_t)tokens * sizeof(int32_t));
    it->cap = tokens;
  }
  if (n > it->capn) {
    it->in = xrealloc(it->in, (size_t)n * sizeof(int32_t *));
    it->tgt = xrealloc(it->tgt, (size_t)n * sizeof(int32_t *));
    it->len = xrealloc(it->len, (size_t)n * sizeof(int));
    it->ids = xrealloc(it->ids, (size_t)n * sizeof(uint64_t));
    it->labels = xrealloc(it->labels, (size_t)n * sizeof(int32_t));
    it->capn = n;
  }
}

static void items_free(items *it) {
  free(it->pool); free(it->tagpool); free(it->in); free(it->tgt); free(it->len); free(it->ids); free(it->labels);
  memset(it, 0, sizeof *it);
}

/* tokens a sequence contributes and the steps it runs (targets) */
static int64_t seq_tokens(const dataset *ds, int split, uint64_t q, int max_len) {
  int64_t n = (int64_t)dataset_seq_len(ds, split, q);
  return max_len > 0 && n > max_len ? max_len : n;
}
static int seq_steps(const dataset *ds, int split, uint64_t q, int max_len) {
  int64_t n = seq_tokens(ds, split, q, max_len);
  if (ds->task) return (int)n; /* classify, tag: every token is an input */
  return (int)(ds->eos_id >= 0 ? n : n > 0 ? n - 1 : 0);
}
/* targets a sequence contributes to the loss */
static int seq_targets(const dataset *ds, int split, uint64_t q, int max_len) {
  int n = seq_steps(ds, split, q, max_len);
  return ds->task == 1 ? n > 0 : n;
}

/* Fill items with sequences q[0..n): with <eos>, inputs are <eos> x0 .. x_{n-2} and targets
 * x0 .. x_{n-1}; without, inputs x0 .. x_{n-2} and targets x1 .. x_{n-1}. */
static void load_sequences(items *it, const dataset *ds, int split, const uint64_t *q, int n, int max_len) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) total += seq_tokens(ds, split, q[i], max_len) + 1;
  items_reserve(it, n, total);
  int32_t *p = it->pool;
  if (ds->task) { /* inputs x0 .. x_{n-1}; targets the tags, or one label per sequence */
    for (int i = 0; i < n; i++) {
      int64_t k = seq_tokens(ds, split, q[i], max_len);
      uint64_t o = ds->split[split].offsets[q[i]];
      dataset_read(ds, split, o, (uint64_t)k, p);
      it->in[i] = p;
      it->tgt[i] = NULL;
      if (ds->task == 2) {
        int32_t *t = it->tagpool + (p - it->pool);
        dataset_read_tags(ds, split, o, (uint64_t)k, t);
        it->tgt[i] = t;
      }
      it->labels[i] = ds->task == 1 ? ds->split[split].labels[q[i]] : -1;
      it->len[i] = (int)k;
      it->ids[i] = q[i];
      p += k;
    }
    return;
  }
  for (int i = 0; i < n; i++) {
    int64_t k = seq_tokens(ds, split, q[i], max_len);
    int32_t *buf = p;
    if (ds->eos_id >= 0) *buf++ = (int32_t)ds->eos_id;
    dataset_read(ds, split, ds->split[split].offsets[q[i]], (uint64_t)k, buf);
    it->in[i] = p;
    it->tgt[i] = p + 1;
    it->len[i] = seq_steps(ds, split, q[i], max_len);
    it->ids[i] = q[i];
    p += k + 1;
  }
}

/* Pack n items into b with their targets (next tokens, tags, or a label per sequence). */
static void pack(batch *b, const items *it, int n, const dataset *ds) {
  batch_pack(b, n, it->len, it->in, ds->task == 1 ? NULL : it->tgt, it->ids);
  if (ds->task == 1) {
    batch_set_labels(b, it->labels);
    b->n_targets = 0;
    for (int r = 0; r < b->s.B; r++) b->n_targets += b->len[r] > 0 && b->label[r] >= 0;
  }
}

/* Fill items with windows [pos, pos + T] of streams s[0..n), each stream_len long. */
static void load_windows(items *it, const dataset *ds, int split, const uint64_t *s, int n, uint64_t stream_len,
                         uint64_t pos, int T) {
  items_reserve(it, n, (int64_t)n * (T + 1));
  for (int i = 0; i < n; i++) {
    int32_t *buf = it->pool + (int64_t)i * (T + 1);
    dataset_read(ds, split, s[i] * stream_len + pos, (uint64_t)T + 1, buf);
    it->in[i] = buf;
    it->tgt[i] = buf + 1;
    it->len[i] = T;
    it->ids[i] = s[i];
  }
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

/* ---- evaluation ---- */
static const dataset *g_eval_ds;
static int g_eval_split;
static int cmp_seq_len_desc(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  uint64_t lx = dataset_seq_len(g_eval_ds, g_eval_split, x), ly = dataset_seq_len(g_eval_ds, g_eval_split, y);
  if (lx != ly) return lx > ly ? -1 : 1;
  return x < y ? -1 : x > y;
}

eval_result train_eval(model *m, const dataset *ds, int split, int as_streams, int streams, int T, int B, int max_len) {
  const int rank = core_rank(), W = core_world();
  const int L = m->cfg.layers, H = m->cfg.hidden;
  const ds_split *sp = &ds->split[split];
  double acc[2] = {0, 0};
  items it = {0};
  batch b = {0};
  double *conf = ds->task ? xcalloc((size_t)(m->O * m->O), sizeof(double)) : NULL;
  if (as_streams && sp->n_tok >= 2) {
    if ((uint64_t)streams > sp->n_tok - 1) streams = (int)(sp->n_tok - 1);
    uint64_t slen = (sp->n_tok - 1) / (uint64_t)streams;
    int n = 0;
    uint64_t *mine = xmalloc((size_t)streams * sizeof(uint64_t));
    for (int s = rank; s < streams; s += W) mine[n++] = (uint64_t)s;
    float *h = xcalloc((size_t)L * (size_t)(n ? n : 1) * (size_t)H, sizeof(float));
    float *c = xcalloc((size_t)L * (size_t)(n ? n : 1) * (size_t)H, sizeof(float));
    for (uint64_t pos = 0; n > 0 && pos < slen; pos += (uint64_t)T) {
      int len = (int)(slen - pos < (uint64_t)T ? slen - pos : (uint64_t)T);
      load_windows(&it, ds, split, mine, n, slen, pos, len);
      batch_pack(&b, n, it.len, it.in, it.tgt, it.ids);
      for (int r = 0; r < n; r++) b.seq_id[r] = (uint64_t)r; /* rows index the local state */
      acc[0] += model_forward(m, &b, h, c, 0, 0);
      acc[1] += (double)b.n_targets;
      model_final_state(m, &b, h, c);
    }
    free(h); free(c); free(mine);
  } else if (!as_streams) {
    uint64_t n = 0;
    uint64_t *mine = xmalloc((sp->n_seq / (uint64_t)W + 1) * sizeof(uint64_t));
    for (uint64_t q = (uint64_t)rank; q < sp->n_seq; q += (uint64_t)W) mine[n++] = q;
    g_eval_ds = ds;
    g_eval_split = split;
    qsort(mine, n, sizeof(uint64_t), cmp_seq_len_desc);
    for (uint64_t i = 0; i < n; i += (uint64_t)B) {
      int k = (int)(n - i < (uint64_t)B ? n - i : (uint64_t)B);
      load_sequences(&it, ds, split, mine + i, k, max_len);
      pack(&b, &it, k, ds);
      acc[0] += model_forward(m, &b, NULL, NULL, 0, 0);
      acc[1] += (double)b.n_targets;
      if (conf) { /* predicted (argmax) against true class */
        const int64_t R = model_readout_rows(m, &b), O = m->O;
        const int32_t *tg = ds->task == 1 ? b.label : b.tgt;
        for (int64_t r = 0; r < R; r++) {
          if (tg[r] < 0 || (ds->task == 1 && b.len[r] == 0)) continue;
          const float *pr = m->probs + r * O;
          int64_t best = 0;
          for (int64_t v = 1; v < O; v++) if (pr[v] > pr[best]) best = v;
          conf[tg[r] * O + best] += 1;
        }
      }
    }
    free(mine);
  }
  items_free(&it);
  batch_free(&b);
  dist_sum_doubles(acc, 2);
  eval_result res = {acc[0], acc[1], conf, conf ? m->O : 0};
  if (conf) dist_sum_doubles(conf, m->O * m->O);
  return res;
}

double eval_accuracy(const eval_result *r) {
  double c = 0, t = 0;
  for (int i = 0; i < r->n_out; i++)
    for (int j = 0; j < r->n_out; j++) {
      t += r->confusion[i * r->n_out + j];
      if (i == j) c += r->confusion[i * r->n_out + j];
    }
  return t > 0 ? c / t : 0;
}

double eval_f1(const eval_result *r, int k) {
  double tp = r->confusion[k * r->n_out + k], fp = 0, fn = 0;
  for (int i = 0; i < r->n_out; i++) {
    if (i == k) continue;
    fp += r->confusion[i * r->n_out + k];
    fn += r->confusion[k * r->n_out + i];
  }
  return tp > 0 ? 2 * tp / (2 * tp + fp + fn) : 0;
}

double eval_macro_f1(const eval_result *r) {
  double s = 0;
  int n = 0;
  for (int k = 0; k < r->n_out; k++) {
    double support = 0;
    for (int j = 0; j < r->n_out; j++) support += r->confusion[k * r->n_out + j];
    if (support > 0) { s += eval_f1(r, k); n++; }
  }
  return n ? s / n : 0;
}

void eval_json(FILE *f, const eval_result *r, char *const *names) {
  fprintf(f, "\"accuracy\":%.9g,\"f1\":%.9g,\"f1_per_class\":{", eval_accuracy(r), eval_macro_f1(r));
  for (int k = 0; k < r->n_out; k++) {
    if (k) fputc(',', f);
    core_json_string(f, names[k]);
    fprintf(f, ":%.6g", eval_f1(r, k));
  }
  fprintf(f, "},\"confusion\":[");
  for (int i = 0; i < r->n_out; i++) {
    fprintf(f, "%s[", i ? "," : "");
    for (int j = 0; j < r->n_out; j++) fprintf(f, "%s%.0f", j ? "," : "", r->confusion[i * r->n_out + j]);
    fputc(']', f);
  }
  fputc(']', f);
}

/* ---- scheduled sampling ---- */
double ss_eps(int kind, double k, double c, double min, int64_t i) {
  double e = 1.0;
  switch (kind) {
  case SS_LINEAR: e = k - c * (double)i; break;
  case SS_EXP: e = pow(k, (double)i); break;
  case SS_INVSIGMOID: e = k / (k + exp((double)i / k)); break;
  default: return 1.0;
  }
  e = e < min ? min : e;
  return e > 1.0 ? 1.0 : e;
}

/* Replace inputs of b, position by position, as the paper does: the input at t+1 stays the
 * ground truth with probability eps, otherwise it is a sample from the model's own output
 * distribution at t, computed from the inputs already chosen. The coin flips and samples are
 * keyed by (seed, step, sequence, position); no gradient flows through them. */
static void ss_sample_inputs(model *m, batch *b, const float *h0, const float *c0, double eps, uint64_t seed,
                             uint64_t step) {
  const int L = m->cfg.layers, H = m->cfg.hidden, B = b->s.B, V = m->O;
  float *h = xcalloc((size_t)L * B * H, sizeof(float)), *c = xcalloc((size_t)L * B * H, sizeof(float));
  float *hs = xmalloc((size_t)L * B * H * sizeof(float)), *cs = xmalloc((size_t)L * B * H * sizeof(float));
  if (h0) memcpy(h, h0, (size_t)L * B * H * sizeof(float));
  if (c0) memcpy(c, c0, (size_t)L * B * H * sizeof(float));
  int32_t *tok = xmalloc((size_t)B * sizeof(int32_t)), **in = xmalloc((size_t)B * sizeof(int32_t *));
  int *one = xmalloc((size_t)B * sizeof(int));
  batch sb = {0};
  for (int t = 0; t + 1 < b->s.T; t++) {
    const int bt = b->bs[t], next = b->bs[t + 1];
    for (int r = 0; r < bt; r++) {
      tok[r] = b->in[b->off[t] + r];
      in[r] = &tok[r];
      one[r] = 1;
    }
    for (int l = 0; l < L; l++) { /* the first bt rows of the state, compact */
      memcpy(hs + (int64_t)l * bt * H, h + (int64_t)l * B * H, (size_t)bt * H * sizeof(float));
      memcpy(cs + (int64_t)l * bt * H, c + (int64_t)l * B * H, (size_t)bt * H * sizeof(float));
    }
    batch_pack(&sb, bt, one, in, NULL, b->seq_id);
    model_forward(m, &sb, hs, cs, step, 0);
    model_final_state(m, &sb, hs, cs);
    for (int l = 0; l < L; l++) {
      memcpy(h + (int64_t)l * B * H, hs + (int64_t)l * bt * H, (size_t)bt * H * sizeof(float));
      memcpy(c + (int64_t)l * B * H, cs + (int64_t)l * bt * H, (size_t)bt * H * sizeof(float));
    }
    for (int r = 0; r < next; r++) {
      uint64_t key = rng_key(seed, RNG_SCHED_SAMPLING, step, b->seq_id[r], (uint64_t)t + 1);
      if (rng_uniform(key) < eps) continue;
      const float *p = m->probs + (int64_t)r * V;
      double u = rng_uniform(rng_sub(key, 1)), acc = 0;
      int pick = V - 1;
      for (int v = 0; v < V; v++) {
        acc += p[v];
        if (acc > u) { pick = v; break; }
      }
      b->in[b->off[t + 1] + r] = pick;
    }
  }
  batch_free(&sb);
  free(h); free(c); free(hs); free(cs); free(tok); free(in); free(one);
}

/* ---- signals: finish the step, save, exit cleanly ---- */
static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

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

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

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
  double loss_log = 0, tgt_log = 0;
  int n_log = 0;
  if (start >= total && rank == 0 && !o->quiet)
    printf("recur: the checkpoint is at step %lld, the run has %lld steps: nothing to do\n", (long long)start, (long long)total);
  for (step = start; step < total; step++) {
    double t_step = core_now();
    int64_t epoch = step / spe;
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
      for (int i = 0; i < n; i++) global_targets += seq_targets(ds, SPLIT_TRAIN, ids[i], o->max_len);
    }
    memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
    double stats[3] = {0, 0, 0}; /* loss, targets, stop */
    for (int k = 0; k < o->accum; k++) {
      int cnt = schedule_slot(n, rank * o->accum + k, S, idx);
      for (int i = 0; i < cnt; i++) mine[i] = ids[idx[i]];
      dist_reducer_begin(&red, k == o->accum - 1);
      if (cnt == 0) continue;
      if (stream) load_windows(&it, ds, SPLIT_TRAIN, mine, cnt, sc.stream_len, (uint64_t)(step % spe) * (uint64_t)o->T, o->T);
      else load_sequences(&it, ds, SPLIT_TRAIN, mine, cnt, o->max_len);
      pack(&b, &it, cnt, ds);
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
    dist_sum_doubles(stats, 3);
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
    int last = step + 1 == total || stats[2] > 0;
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
    if (ds->split[SPLIT_VAL].n_tok > 1 && ((o->eval_every > 0 && (step + 1) % o->eval_every == 0) || last)) {
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
    if ((o->save_every > 0 && (step + 1) % o->save_every == 0) || last) {
      double tc = core_now();
      ckpt_counters now_cnt = {step + 1, bad_total, best_val, W};
      ckpt_save(o->out, m, &mv, &now_cnt, &pay, o->keep);
      if (rank == 0) {
        snprintf(path, sizeof path, "%s/model.h5", o->out);
        model_save(m, &mv, step + 1, path);
        fprintf(metrics, "{\"step\":%lld,\"checkpoint_s\":%.3f}\n", (long long)step + 1, core_now() - tc);
        fflush(metrics);
      }
      t_log += core_now() - tc;
    }
    (void)epoch;
    if (stats[2] > 0) {
      if (rank == 0 && !o->quiet) printf("recur: stopped by signal after step %lld; model saved\n", (long long)step + 1);
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

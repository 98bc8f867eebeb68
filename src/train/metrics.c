/* metrics: what a run reports, on rank 0: a progress line (to the sink) every --log-every steps and
 * the same fields, plus validation results and checkpoint events, as one JSON object per line in
 * RUN/metrics.jsonl (non-finite values as null). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <unistd.h>

#include "recur/core.h"
#include "recur/h5.h"
#include "recur/gemm.h"
#include "recur/json.h"
#include "recur/tasks.h"
#include "recur/train.h"
#include "train-impl.h"

/* ---- what a run says: human lines and records, to the caller's sink (train.h) ---- */
static train_sink g_sink;
static char *g_said;
static size_t g_said_len;

void train_sink_set(const train_sink *s) {
  memset(&g_sink, 0, sizeof g_sink);
  if (s) g_sink = *s;
}

void train_say(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
  g_said = xrealloc(g_said, g_said_len + (size_t)n + 1);
  memcpy(g_said + g_said_len, buf, (size_t)n + 1);
  g_said_len += (size_t)n;
  if (g_said_len == 0 || g_said[g_said_len - 1] != '\n') return; /* a line in parts */
  if (g_sink.text) g_sink.text(g_sink.arg, g_said);
  xfree(g_said);
  g_said = NULL;
  g_said_len = 0;
}

/* a line of metrics.jsonl: an object that starts with the step it is about; written to the file
 * and given to the sink's record */
static void line_begin(metrics *mt, json_writer *j, int64_t step) {
  mt->lf = open_memstream(&mt->lbuf, &mt->llen);
  if (!mt->lf) recur_fail(NULL, NULL, "out of memory for a metrics line");
  json_init(j, mt->lf);
  json_object_begin(j, NULL);
  json_int(j, "step", step);
}

static void line_end(metrics *mt, json_writer *j) {
  json_object_end(j);
  fclose(mt->lf);
  mt->lf = NULL;
  fwrite(mt->lbuf, 1, mt->llen, mt->f);
  fflush(mt->f);
  if (g_sink.record) {
    if (mt->llen > 0 && mt->lbuf[mt->llen - 1] == '\n') mt->lbuf[mt->llen - 1] = 0;
    g_sink.record(g_sink.arg, mt->lbuf);
  }
  free(mt->lbuf); /* open_memstream's, not xmalloc's */
  mt->lbuf = NULL;
}

void metrics_open(metrics *mt, const char *out, int64_t keep_upto, int quiet) {
  memset(mt, 0, sizeof *mt);
  mt->quiet = quiet;
  mt->t_start = mt->t_log = core_now();
  mt->kept_best_val = INFINITY;
  char *path = core_path("%s/metrics.jsonl", out);
  if (keep_upto > 0) { /* a resumed run: the lines up to the checkpoint's step, then append */
    char *tmp = core_path("%s.tmp", path);
    FILE *in = fopen(path, "r"), *o = fopen(tmp, "w");
    if (!o)
      recur_fail(tmp, "check that the run directory is writable", "cannot create metrics file");
    char *line = NULL;
    size_t cap = 0;
    while (in && getline(&line, &cap, in) > 0) {
      const char *p = strstr(line, "\"step\":");
      if (!p || atoll(p + 7) > keep_upto) continue;
      fputs(line, o);
      const char *v = strstr(line, "\"val_loss\":");
      double vl = v ? strtod(v + 11, NULL) : INFINITY;
      if (vl < mt->kept_best_val) mt->kept_best_val = vl;
    }
    xfree(line);
    if (in) fclose(in);
    if (fclose(o) != 0) recur_fail(tmp, "is the disk full?", "cannot write metrics file");
    if (rename(tmp, path) != 0) recur_fail(path, NULL, "cannot replace metrics file");
    xfree(tmp);
  }
  mt->f = fopen(path, keep_upto > 0 ? "a" : "w");
  if (!mt->f)
    recur_fail(path, "check that the run directory is writable", "cannot create metrics file");
  xfree(path);
}

void metrics_close(metrics *mt) {
  if (mt->f) fclose(mt->f);
  mt->f = NULL;
}

void metrics_add(metrics *mt, double tokens, double sequences, double targets, double loss_sum,
                 int skipped, const dist_reducer *red, double sync_s) {
  mt->tokens += tokens;
  mt->sequences += sequences;
  if (!skipped) {
    mt->loss_sum += loss_sum;
    mt->loss_targets += targets;
  }
  mt->comm_wait += red->wait_s;
  mt->comm_total += red->total_s;
  mt->comm_union += red->wait_union_s;
  mt->comm_rows += red->wait_rows_s;
  mt->comm_sync += sync_s;
  mt->sparse = red->nsp > 0;
  mt->reduce_bytes += red->bytes;
  mt->n++;
}

static void fmt_eta(char *buf, size_t n, double s) {
  if (s < 0 || !isfinite(s)) s = 0;
  long t = (long)s;
  if (t >= 3600)
    snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

void metrics_log(metrics *mt, int64_t step, int64_t total, double epoch, double last_loss,
                 double grad_norm, double lr, int64_t skipped, double ss_eps, double eta_s) {
  double now = core_now(), tps = mt->tokens / (now - mt->t_log);
  double sps = mt->sequences / (now - mt->t_log);
  double avg = mt->loss_targets > 0 ? mt->loss_sum / mt->loss_targets : NAN;
  if (!mt->quiet && (mt->print_every_s <= 0 || mt->t_print == 0 || step == total ||
                     now - mt->t_print >= mt->print_every_s)) {
    mt->t_print = now;
    char eta[32];
    fmt_eta(eta, sizeof eta, eta_s);
    char seqs[32] = "";
    if (mt->sequences > 0) snprintf(seqs, sizeof seqs, " | %6.1f seq/s", sps);
    train_say("step %6lld/%lld | epoch %5.2f | loss %.4f | %8.0f tok/s%s | grad %7.3f | lr %.2e | "
              "ETA %s\n",
              (long long)step, (long long)total, epoch, avg, tps, seqs, grad_norm, lr, eta);
  }
  json_writer j;
  line_begin(mt, &j, step);
  json_num(&j, "epoch", epoch);
  json_num(&j, "loss", avg);
  json_num(&j, "last_loss", last_loss);
  json_num(&j, "lr", lr);
  json_num(&j, "grad_norm", grad_norm);
  json_num(&j, "tokens_per_s", tps);
  if (mt->sequences > 0) json_num(&j, "sequences_per_s", sps);
  json_num(&j, "eta_s", eta_s);
  json_int(&j, "skipped", skipped);
  json_num(&j, "comm_wait_s", mt->comm_wait / mt->n);
  json_num(&j, "comm_total_s", mt->comm_total / mt->n);
  if (core_world() > 1 && mt->sparse) { /* the wait's parts: the unions of rows, their sums */
    json_num(&j, "comm_wait_union_s", mt->comm_union / mt->n);
    json_num(&j, "comm_wait_rows_s", mt->comm_rows / mt->n);
  }
  if (core_world() > 1) { /* what each rank sent into the gradient sums, per step */
    json_num(&j, "comm_sync_s", mt->comm_sync / mt->n);
    json_num(&j, "reduce_bytes", mt->reduce_bytes / mt->n);
    json_num(&j, "reduce_dense_bytes", mt->dense_bytes);
  }
  json_num(&j, "elapsed_s", now - mt->t_start);
  json_num(&j, "ss_eps", ss_eps);
  line_end(mt, &j);
  mt->t_log = now;
  mt->tokens = mt->sequences = mt->loss_sum = mt->loss_targets = mt->comm_wait = mt->comm_total = 0;
  mt->comm_union = mt->comm_rows = mt->comm_sync = 0;
  mt->reduce_bytes = 0;
  mt->n = 0;
}

void metrics_eval(metrics *mt, int64_t step, double epoch, const dataset *ds, const eval_result *r,
                  double seconds) {
  double vl = r->loss_sum / r->tokens;
  json_writer j;
  line_begin(mt, &j, step);
  json_num(&j, "epoch", epoch);
  json_num(&j, "elapsed_s", core_now() - mt->t_start);
  json_num(&j, "val_loss", vl);
  json_num(&j, "val_tokens", r->tokens);
  const task_desc *d = task_desc_of(ds->task); /* the task's own figures */
  d->json(&j, d->val_prefix, ds, r);
  if (!mt->quiet) {
    char fig[256];
    d->brief(fig, sizeof fig, ds, r);
    train_say("  val loss %.4f | %s | %.0f %s | %.1fs\n", vl, fig, d->count(r), d->unit, seconds);
  }
  line_end(mt, &j);
  mt->t_log += seconds; /* throughput counts training time only */
}

void metrics_checkpoint(metrics *mt, int64_t step, double seconds, const char *reason) {
  json_writer j;
  line_begin(mt, &j, step);
  json_num(&j, "checkpoint_s", seconds);
  json_str(&j, "checkpoint_reason", reason);
  line_end(mt, &j);
  mt->t_log += seconds;
}

void metrics_resume(metrics *mt, int64_t step, double load_s) {
  json_writer j;
  line_begin(mt, &j, step);
  json_num(&j, "resume_load_s", load_s);
  line_end(mt, &j);
}

/* the first line of a run (and of each resumption): what ran where, with which options */
void metrics_start(metrics *mt, int64_t step, int resumed, int world, const char *options) {
  json_writer j;
  line_begin(mt, &j, step);
  json_str(&j, "event", resumed ? "resume" : "start");
  json_str(&j, "recur_version", recur_version());
  json_int(&j, "world_size", world);
  char host[256] = "", cpu[256] = "", mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "", h5v[64];
  gethostname(host, sizeof host - 1);
  json_str(&j, "hostname", host);
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
      cpu[strcspn(cpu, "\n")] = 0;
      break;
    }
  if (f) fclose(f);
  json_str(&j, "cpu", cpu);
  json_int(&j, "cores", sysconf(_SC_NPROCESSORS_ONLN));
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  mpi[strcspn(mpi, ",\n")] = 0;
  json_str(&j, "mpi", mpi);
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  snprintf(h5v, sizeof h5v, "HDF5 %u.%u.%u", maj, min, rel);
  json_str(&j, "hdf5", h5v);
  json_str(&j, "blas", gemm_blas_config());
  json_object_begin(&j, "options");
  char *copy = xstrdup(options), *p = copy;
  while (p && *p) { /* "--flag value" lines */
    char *nl = strchr(p, '\n'), *sp = strchr(p, ' ');
    if (nl) *nl = 0;
    if (sp) {
      *sp = 0;
      json_str(&j, p, sp + 1);
    }
    p = nl ? nl + 1 : NULL;
  }
  xfree(copy);
  json_object_end(&j);
  line_end(mt, &j);
}

void metrics_sample(metrics *mt, int64_t step, const char *text) {
  json_writer j;
  line_begin(mt, &j, step);
  json_str(&j, "sample", text);
  line_end(mt, &j);
}

void metrics_grad_flow(metrics *mt, int64_t step, const model *m, const double *diag,
                       const double *param_norms) {
  const int L = m->cfg.layers;
  json_writer j;
  line_begin(mt, &j, step);
  json_array_begin(&j, "grad_flow"); /* [layer][distance back from the last step] */
  for (int l = 0; l < L; l++) {
    const double *sum = diag + l * MODEL_DIAG_T, *cnt = diag + (L + l) * MODEL_DIAG_T;
    int n = MODEL_DIAG_T;
    while (n > 0 && cnt[n - 1] == 0) n--;
    json_array_begin(&j, NULL);
    for (int d = 0; d < n; d++) json_num(&j, NULL, cnt[d] > 0 ? sum[d] / cnt[d] : NAN);
    json_array_end(&j);
  }
  json_array_end(&j);
  json_object_begin(&j, "param_grad_norm");
  for (int i = 0; i < m->n_tensors; i++) json_num(&j, m->tensors[i].name, param_norms[i]);
  json_object_end(&j);
  line_end(mt, &j);
}

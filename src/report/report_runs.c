/* report_runs: a run's metrics.jsonl read into series for recur report. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

#include "recur/core.h"
#include "report-impl.h"

/* ---- what a run logged ---- */

void report_series_add(series *s, double x, double y) {
  if (!isfinite(x) || !isfinite(y)) return;
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->x = xrealloc(s->x, (size_t)s->cap * sizeof(double));
    s->y = xrealloc(s->y, (size_t)s->cap * sizeof(double));
  }
  s->x[s->n] = x;
  s->y[s->n++] = y;
}

static void take(json_value *dst, json_value *src) { /* move src into dst */
  json_value_free(dst);
  *dst = *src;
  memset(src, 0, sizeof *src);
}

static void run_line(run_data *r, json_value *v, double *prev_elapsed, double *prev_step,
                     double *prev_skipped, double clip) {
  const double step = json_get_num(v, "step", NAN);
  if (!isfinite(step)) return;
  if (step > r->last_step) r->last_step = step;
  const json_value *ev = json_get(v, "event");
  if (ev && ev->type == JSON_STR) {
    if (!strcmp(ev->str, "resume")) {
      report_series_add(&r->s[S_RESUME], step, 0);
      r->t_offset = r->elapsed;
      *prev_elapsed = NAN;
    }
    if (r->start.type != JSON_OBJ) take(&r->start, v);
    return;
  }
  double el = json_get_num(v, "elapsed_s", NAN) + r->t_offset;
  if (isfinite(el) && el > r->elapsed) r->elapsed = el;
  if (json_get(v, "loss")) {
    double loss = json_get_num(v, "loss", NAN), g = json_get_num(v, "grad_norm", NAN);
    report_series_add(&r->s[S_LOSS], step, loss);
    report_series_add(&r->s[S_LOSS_T], el, loss);
    report_series_add(&r->s[S_LR], step, json_get_num(v, "lr", NAN));
    report_series_add(&r->s[S_GRAD], step, g);
    if (clip > 0 && g > clip) report_series_add(&r->s[S_CLIPPED], step, g);
    report_series_add(&r->s[S_TPS], step, json_get_num(v, "tokens_per_s", NAN));
    double sk = json_get_num(v, "skipped", 0);
    if (sk > *prev_skipped) report_series_add(&r->s[S_SKIPPED], step, sk);
    *prev_skipped = sk;
    if (isfinite(*prev_elapsed) && step > *prev_step && el > *prev_elapsed) {
      double per_step = (el - *prev_elapsed) / (step - *prev_step);
      report_series_add(&r->s[S_COMM], step, json_get_num(v, "comm_wait_s", NAN) / per_step);
    }
    *prev_elapsed = el;
    *prev_step = step;
  }
  if (json_get(v, "val_loss")) {
    report_series_add(&r->s[S_VAL], step, json_get_num(v, "val_loss", NAN));
    report_series_add(&r->s[S_VAL_T], el, json_get_num(v, "val_loss", NAN));
    if (json_get(v, "accuracy")) {
      report_series_add(&r->s[S_ACC], step, json_get_num(v, "accuracy", NAN));
      report_series_add(&r->s[S_F1], step, json_get_num(v, "f1", NAN));
    }
    json_value *c = (json_value *)json_get(v, "confusion"),
               *f = (json_value *)json_get(v, "f1_per_class");
    if (c && f) {
      take(&r->confusion, c);
      take(&r->f1_per_class, f);
      r->confusion_step = (int64_t)step;
    }
  }
  if (json_get(v, "checkpoint_s"))
    report_series_add(&r->s[S_CKPT], step, json_get_num(v, "checkpoint_s", 0));
  const json_value *smp = json_get(v, "sample");
  if (smp && smp->type == JSON_STR) {
    r->sample = xrealloc(r->sample, (size_t)(r->n_samples + 1) * sizeof(char *));
    r->sample_step = xrealloc(r->sample_step, (size_t)(r->n_samples + 1) * sizeof(int64_t));
    r->sample[r->n_samples] = xstrdup(smp->str);
    r->sample_step[r->n_samples++] = (int64_t)step;
  }
  json_value *gf = (json_value *)json_get(v, "grad_flow"),
             *pn = (json_value *)json_get(v, "param_grad_norm");
  if (gf && gf->type == JSON_ARR) {
    take(&r->grad_flow, gf);
    if (pn) take(&r->param_norm, pn);
    r->grad_flow_step = (int64_t)step;
  }
}

const char *report_option(const run_data *r, const char *flag) {
  const json_value *v = json_get(json_get(&r->start, "options"), flag);
  return v && v->type == JSON_STR ? v->str : "";
}

void report_run_load(run_data *r, const char *dir) {
  memset(r, 0, sizeof *r);
  r->dir = xstrdup(dir);
  r->last_step = -1;
  char *path = core_path("%s/metrics.jsonl", dir);
  struct stat st;
  if (stat(dir, &st) != 0)
    recur_fail(dir, "give a run directory (recur train --out RUN)", "cannot open: %s",
               strerror(errno));
  if (!S_ISDIR(st.st_mode))
    recur_fail(dir, "give a run directory (recur train --out RUN)", "not a directory");
  FILE *f = xfopen(path, "r");
  if (!f)
    recur_fail(dir, "give a run directory (recur train --out RUN)",
               "not a run directory: it has no metrics.jsonl");
  char *line = NULL, err[128];
  size_t cap = 0;
  ssize_t got;
  double prev_el = NAN, prev_step = 0, prev_sk = 0, clip = 0;
  while ((got = getline(&line, &cap, f)) > 0) {
    json_value v;
    r->n_lines++;
    if (json_parse(line, (size_t)got, &v, err, sizeof err) != 0 || v.type != JSON_OBJ) {
      if (v.type != JSON_OBJ) json_value_free(&v);
      r->bad_lines++; /* a line cut short by a crash, or not recur's */
      continue;
    }
    run_line(r, &v, &prev_el, &prev_step, &prev_sk, clip);
    if (clip == 0 && *report_option(r, "--clip")) clip = atof(report_option(r, "--clip"));
    json_value_free(&v);
  }
  xfree(line);
  xfclose(f);
  xfree(path);
  if (r->bad_lines)
    fprintf(stderr, "recur: note: %s/metrics.jsonl: %d of %d lines unreadable, left out\n", dir,
            r->bad_lines, r->n_lines);
  if (r->s[S_LOSS].n == 0 && r->s[S_VAL].n == 0)
    fprintf(stderr, "recur: note: %s has no training steps logged yet: the report says so\n", dir);
}

void report_run_free(run_data *r) {
  for (int i = 0; i < S_COUNT; i++) {
    xfree(r->s[i].x);
    xfree(r->s[i].y);
  }
  json_value_free(&r->start);
  json_value_free(&r->confusion);
  json_value_free(&r->f1_per_class);
  json_value_free(&r->grad_flow);
  json_value_free(&r->param_norm);
  for (int i = 0; i < r->n_samples; i++) xfree(r->sample[i]);
  xfree(r->sample);
  xfree(r->sample_step);
  xfree(r->dir);
}

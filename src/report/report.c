/* report: metrics.jsonl of one or more runs -> one HTML page with inline SVG (see report.h). */
#define _POSIX_C_SOURCE 200809L
#include "recur/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recur/core.h"
#include "recur/json.h"
#include "recur/opts.h"
#include "recur/train.h"
#include "report-impl.h"

static void section_summary(FILE *f, run_data *r, int n) {
  fprintf(f, "<h2>Summary</h2>\n<table><tr><th>run</th><th>model</th><th>ranks</th><th>steps</th>"
             "<th>last train loss</th><th>best val loss (step)</th><th>tokens/s (mean)</th>"
             "<th>wall time</th></tr>\n");
  for (int i = 0; i < n; i++) {
    double best = INFINITY, bstep = 0, tps = 0;
    for (int k = 0; k < r[i].s[S_VAL].n; k++)
      if (r[i].s[S_VAL].y[k] < best) best = r[i].s[S_VAL].y[k], bstep = r[i].s[S_VAL].x[k];
    for (int k = 0; k < r[i].s[S_TPS].n; k++) tps += r[i].s[S_TPS].y[k] / r[i].s[S_TPS].n;
    const json_value *w = json_get(&r[i].start, "world_size");
    fprintf(f, "<tr><td><i style=\"background:%s\"></i>", COLORS[i % N_COLORS]);
    report_html(f, r[i].dir);
    fprintf(f, "</td><td>");
    report_html(f, report_option(&r[i], "--cell"));
    fprintf(f, " %sx%s</td><td>", report_option(&r[i], "--layers"),
            report_option(&r[i], "--hidden"));
    if (w)
      fprintf(f, "%g", w->num);
    else
      fprintf(f, "?");
    fprintf(f, "</td><td>%.0f</td>", r[i].last_step < 0 ? 0 : r[i].last_step);
    if (r[i].s[S_LOSS].n)
      fprintf(f, "<td>%.4f</td>", r[i].s[S_LOSS].y[r[i].s[S_LOSS].n - 1]);
    else
      fprintf(f, "<td>—</td>");
    if (isfinite(best))
      fprintf(f, "<td>%.4f (%.0f)</td>", best, bstep);
    else
      fprintf(f, "<td>—</td>");
    fprintf(f, "<td>%.0f</td><td>%.1f s</td></tr>\n", tps, r[i].elapsed);
  }
  fprintf(f, "</table>\n");
  for (int i = 0; i < n; i++)
    if (r[i].s[S_LOSS].n == 0 && r[i].s[S_VAL].n == 0) {
      fprintf(f, "<p class=\"note\">");
      report_html(f, r[i].dir);
      fprintf(f, ": no training steps logged yet.</p>\n");
    }
}

/* whether a saved option's value is its default (as recur train writes both), so the table shows
 * what the run chose, not every task's flags */
static int report_option_is_default(const char *flag, const char *value) {
  const opt_table *T = train_options();
  int i = opts_find(T, flag);
  if (i < 0) return 0;
  train_opts d;
  train_opts_default(&d);
  char *dv = opts_value(T, i, &d);
  int same = strcmp(dv, value) == 0;
  xfree(dv);
  train_opts_free(&d);
  return same;
}

static void section_runs(FILE *f, run_data *r, int n) {
  fprintf(f, "<h2>Runs: options, machine, versions</h2>\n");
  static const char *const KEYS[] = {"event", "recur_version", "world_size", "hostname", "cpu",
                                     "cores", "mpi",           "hdf5",       "blas"};
  for (int i = 0; i < n; i++) {
    fprintf(f, "<h3><i style=\"background:%s\"></i>", COLORS[i % N_COLORS]);
    report_html(f, r[i].dir);
    fprintf(f, "</h3>\n");
    if (r[i].start.type != JSON_OBJ) {
      fprintf(f, "<p class=\"note\">no start line (a run from before recur 0.2.0)</p>\n");
      continue;
    }
    fprintf(f, "<table class=\"kv\">");
    for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
      const json_value *v = json_get(&r[i].start, KEYS[k]);
      if (!v) continue;
      fprintf(f, "<tr><th>%s</th><td>", KEYS[k]);
      if (v->type == JSON_STR)
        report_html(f, v->str);
      else
        fprintf(f, "%g", v->num);
      fprintf(f, "</td></tr>");
    }
    const json_value *op = json_get(&r[i].start, "options");
    int hidden = 0;
    for (int k = 0; op && k < op->n; k++) {
      if (op->items[k].type != JSON_STR) continue;
      if (report_option_is_default(op->keys[k], op->items[k].str)) {
        hidden++;
        continue;
      }
      fprintf(f, "<tr><th>");
      report_html(f, op->keys[k]);
      fprintf(f, "</th><td>");
      report_html(f, op->items[k].str);
      fprintf(f, "</td></tr>");
    }
    if (hidden)
      fprintf(f,
              "<tr><th>other options</th><td>%d at their defaults (recur train --help)</td></tr>",
              hidden);
    fprintf(f, "</table>\n");
  }
}

static void section_classes(FILE *f, run_data *r, int n) {
  int any = 0;
  for (int i = 0; i < n; i++) any |= r[i].s[S_ACC].n > 0;
  if (!any) return;
  fprintf(f, "<h2>Accuracy and F1 (validation)</h2>\n");
  line_spec ls[2 * N_COLORS] = {{0}};
  int k = 0;
  for (int i = 0; i < n && k + 2 <= 2 * N_COLORS; i++) {
    ls[k++] = (line_spec){&r[i].s[S_ACC], r[i].dir, "accuracy", i, 0, 0};
    ls[k++] = (line_spec){&r[i].s[S_F1], r[i].dir, "macro F1", i, 1, 0};
  }
  report_chart(f, "accuracy (solid) and macro F1 (dashed) against step", "step", ls, k, 0, NULL, 0);
  for (int i = 0; i < n; i++) {
    const json_value *c = &r[i].confusion;
    if (c->type != JSON_ARR || c->n == 0) continue;
    int O = c->n;
    double *v = xmalloc((size_t)(O * O) * sizeof(double));
    char **names = xcalloc((size_t)O, sizeof(char *));
    for (int a = 0; a < O; a++) {
      names[a] = r[i].f1_per_class.type == JSON_OBJ && a < r[i].f1_per_class.n
                     ? r[i].f1_per_class.keys[a]
                     : "?";
      double row = 0;
      for (int b = 0; b < O; b++)
        row += c->items[a].type == JSON_ARR && b < c->items[a].n ? c->items[a].items[b].num : 0;
      for (int b = 0; b < O; b++) /* share of the true class predicted as b */
        v[a * O + b] = c->items[a].type == JSON_ARR && b < c->items[a].n && row > 0
                           ? c->items[a].items[b].num / row
                           : NAN;
    }
    fprintf(f, "<figure><figcaption>");
    report_html(f, r[i].dir);
    fprintf(f,
            ": confusion at step %lld (rows: true class, columns: predicted, share of the row)"
            "</figcaption>\n",
            (long long)r[i].confusion_step);
    report_heat(f, "confusion", v, O, O, 0, names, O <= 20 ? names : NULL,
                O <= 20 ? "predicted class" : "predicted class (same order as the rows)");
    fprintf(f, "</figure>\n");
    xfree(v);
    xfree(names);
  }
}

static void section_grad_flow(FILE *f, run_data *r, int n) {
  int any = 0;
  for (int i = 0; i < n; i++) any |= r[i].grad_flow.type == JSON_ARR;
  if (!any) return;
  fprintf(f, "<h2>Gradient flow through time</h2>\n<p>The mean norm of dL/dh<sub>t</sub> of each "
             "layer, by how many steps t lies before the end of its window or sequence (recorded "
             "with <code>--diagnose-every</code>). Where it falls by orders of magnitude, the "
             "gradient has vanished: the layer learns nothing from that far back.</p>\n");
  for (int i = 0; i < n; i++) {
    const json_value *g = &r[i].grad_flow;
    if (g->type != JSON_ARR || g->n == 0) continue;
    int L = g->n, D = 0;
    for (int l = 0; l < L; l++) D = g->items[l].n > D ? g->items[l].n : D;
    if (D == 0) continue;
    double *v = xmalloc((size_t)(L * D) * sizeof(double));
    char **names = xmalloc((size_t)L * sizeof(char *));
    series *curves = xcalloc((size_t)L, sizeof(series));
    line_spec ls[MAX_LAYER_CURVES] = {{0}};
    for (int l = 0; l < L; l++) {
      names[l] = core_path("layer %d", l);
      for (int d = 0; d < D; d++) {
        const json_value *x = d < g->items[l].n ? &g->items[l].items[d] : NULL;
        v[l * D + d] = x && x->type == JSON_NUM ? x->num : NAN;
        if (x && x->type == JSON_NUM) report_series_add(&curves[l], d, x->num);
      }
      if (l < MAX_LAYER_CURVES) ls[l] = (line_spec){&curves[l], names[l], "grad_flow", l, 0, 0};
    }
    fprintf(f, "<figure><figcaption>");
    report_html(f, r[i].dir);
    fprintf(f, ": |dL/dh| by layer and steps back in time, step %lld (log color)</figcaption>\n",
            (long long)r[i].grad_flow_step);
    report_heat(f, "grad-flow", v, L, D, 1, names, NULL, "steps back from the last step");
    fprintf(f, "</figure>\n");
    char *title = core_path("%s: |dL/dh| against steps back in time (log scale)", r[i].dir);
    report_chart(f, title, "steps back from the last step", ls,
                 L < MAX_LAYER_CURVES ? L : MAX_LAYER_CURVES, 1, NULL, 0);
    xfree(title);
    const json_value *pn = &r[i].param_norm;
    if (pn->type == JSON_OBJ) {
      fprintf(f, "<table class=\"kv\"><tr><th>parameter</th><th>gradient norm</th></tr>");
      for (int k = 0; k < pn->n; k++) {
        fprintf(f, "<tr><td>");
        report_html(f, pn->keys[k]);
        fprintf(f, "</td><td>%.4g</td></tr>", pn->items[k].num);
      }
      fprintf(f, "</table>\n");
    }
    for (int l = 0; l < L; l++) {
      xfree(curves[l].x);
      xfree(curves[l].y);
      xfree(names[l]);
    }
    xfree(curves);
    xfree(names);
    xfree(v);
  }
}

static void section_samples(FILE *f, run_data *r, int n) {
  int any = 0;
  for (int i = 0; i < n; i++) any |= r[i].n_samples > 0;
  if (!any) return;
  fprintf(f, "<h2>Samples during training</h2>\n");
  for (int i = 0; i < n; i++)
    for (int k = 0; k < r[i].n_samples; k++) {
      fprintf(f, "<div class=\"sample\"><b>");
      report_html(f, r[i].dir);
      fprintf(f, ", step %lld</b><pre>", (long long)r[i].sample_step[k]);
      report_html(f, r[i].sample[k]);
      fprintf(f, "</pre></div>\n");
    }
}

static const char CSS[] =
    "body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:32px}"
    "h3{font-size:15px}figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}"
    "figcaption{font-weight:bold;margin-bottom:4px}.plot{fill:#fafafa;stroke:#bbb}"
    ".grid{stroke:#e4e4e4}.ytick{font-size:11px;text-anchor:end;fill:#555}"
    ".xtick{font-size:11px;text-anchor:middle;fill:#555}.xlabel{font-size:12px;text-anchor:middle}"
    ".line{fill:none;stroke-width:1.6}.dashed{stroke-dasharray:6 3}"
    ".ckpt{stroke:#999;stroke-dasharray:2 3;background:#999}"
    ".resume{stroke:#ff7f0e;stroke-width:2;background:#ff7f0e}"
    ".chart{width:640px}.legend span{display:inline-block;margin-right:12px;font-size:12px;"
    "max-width:100%;overflow-wrap:anywhere}.legend svg{margin-right:4px;vertical-align:middle}"
    ".cell{font-size:11px;text-anchor:middle}.sample{max-width:1300px}"
    "i{display:inline-block;width:10px;height:10px;margin-right:4px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;"
    "text-align:left;font-size:13px;overflow-wrap:anywhere}"
    ".kv th{background:#f4f4f4;font-weight:normal}"
    ".note,.empty{color:#a33}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;"
    "padding:8px}";

void report_write(const char *const *runs, int n, const char *out, const report_opts *o) {
  run_data *r = xcalloc((size_t)n, sizeof(run_data));
  for (int i = 0; i < n; i++) report_run_load(&r[i], runs[i]);
  char *tmp = core_path("%s.tmp-%d", out, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f)
    recur_fail(out, "check that the directory exists and is writable", "cannot create report");
  core_tempfile_add(tmp);
  fprintf(f,
          "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>recur report</title>\n<style>%s</style>\n"
          "</head><body>\n<h1>recur report: ",
          CSS);
  for (int i = 0; i < n; i++) {
    if (i) fprintf(f, ", ");
    report_html(f, r[i].dir);
  }
  fprintf(f, "</h1>\n");
  section_summary(f, r, n);

  line_spec ls[2 * N_COLORS] = {{0}}, lt[2 * N_COLORS] = {{0}};
  series ev[2];
  int k = 0;
  for (int i = 0; i < n && i < N_COLORS; i++) {
    ls[k] = (line_spec){&r[i].s[S_LOSS], r[i].dir, "train_loss", i, 0, 0};
    lt[k++] = (line_spec){&r[i].s[S_LOSS_T], r[i].dir, "train_loss", i, 0, 0};
    ls[k] = (line_spec){&r[i].s[S_VAL], r[i].dir, "val_loss", i, 1, 0};
    lt[k++] = (line_spec){&r[i].s[S_VAL_T], r[i].dir, "val_loss", i, 1, 0};
  }
  /* events of the first run are drawn across the loss chart (checkpoints, resumptions) */
  ev[0] = r[0].s[S_CKPT];
  ev[1] = r[0].s[S_RESUME];
  fprintf(f, "<h2>Loss</h2>\n");
  report_chart(f, "loss (nats per target) against step: train (solid), validation (dashed)", "step",
               ls, k, o->log_y, ev, 2);
  report_chart(f, "loss against wall time", "seconds", lt, k, o->log_y, NULL, 0);

  fprintf(f, "<h2>Training</h2>\n");
  line_spec a[N_COLORS] = {{0}}, b[3 * N_COLORS] = {{0}}, c[N_COLORS] = {{0}}, d[N_COLORS] = {{0}};
  int nb = 0, na = 0;
  for (int i = 0; i < n && i < N_COLORS; i++) {
    a[na] = (line_spec){&r[i].s[S_LR], r[i].dir, "lr", i, 0, 0};
    c[na] = (line_spec){&r[i].s[S_TPS], r[i].dir, "tokens_per_s", i, 0, 0};
    d[na++] = (line_spec){&r[i].s[S_COMM], r[i].dir, "comm_wait_share", i, 0, 0};
    b[nb++] = (line_spec){&r[i].s[S_GRAD], r[i].dir, "grad_norm", i, 0, 0};
    if (r[i].s[S_CLIPPED].n)
      b[nb++] = (line_spec){&r[i].s[S_CLIPPED], r[i].dir, "clipped", i, 0, 1};
    if (r[i].s[S_SKIPPED].n)
      b[nb++] = (line_spec){&r[i].s[S_SKIPPED], r[i].dir, "skipped", i, 0, 1};
  }
  report_chart(f, "learning rate", "step", a, na, 0, NULL, 0);
  report_chart(f, "gradient norm before clipping (dots: clipped steps, skipped steps)", "step", b,
               nb, 1, NULL, 0);
  report_chart(f, "tokens per second (all ranks)", "step", c, na, 0, NULL, 0);
  report_chart(f, "share of a step spent waiting on the gradient allreduce", "step", d, na, 0, NULL,
               0);
  section_classes(f, r, n);
  section_grad_flow(f, r, n);
  section_samples(f, r, n);
  section_runs(f, r, n);
  fprintf(f, "<p class=\"foot\">written by recur %s</p>\n</body></html>\n", recur_version());
  if (fclose(f) != 0) recur_fail(tmp, "is the disk full?", "cannot write report");
  core_commit(tmp, out);
  xfree(tmp);
  for (int i = 0; i < n; i++) report_run_free(&r[i]);
  xfree(r);
}

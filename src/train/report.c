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

/* ---- what a run logged ---- */
typedef struct {
  double *x, *y;
  int n, cap;
} series;

static void series_add(series *s, double x, double y) {
  if (!isfinite(x) || !isfinite(y)) return;
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->x = xrealloc(s->x, (size_t)s->cap * sizeof(double));
    s->y = xrealloc(s->y, (size_t)s->cap * sizeof(double));
  }
  s->x[s->n] = x;
  s->y[s->n++] = y;
}

enum {
  S_LOSS, /* train loss by step */
  S_LOSS_T,
  S_VAL,
  S_VAL_T,
  S_LR,
  S_GRAD,
  S_CLIPPED, /* steps whose gradient norm was above --clip */
  S_SKIPPED, /* steps where the count of skipped steps grew */
  S_TPS,
  S_COMM, /* share of a step's time waiting on the allreduce */
  S_ACC,
  S_F1,
  S_CKPT, /* checkpoint events (y: seconds) */
  S_RESUME,
  S_COUNT
};

typedef struct {
  char *dir;
  series s[S_COUNT];
  json_value start, confusion, f1_per_class, grad_flow, param_norm;
  int64_t grad_flow_step, confusion_step;
  int64_t *sample_step;
  char **sample;
  int n_samples, bad_lines, n_lines;
  double last_step, elapsed;
  double t_offset; /* wall time of the runs before the last resumption (elapsed_s restarts) */
} run_data;

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
      series_add(&r->s[S_RESUME], step, 0);
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
    series_add(&r->s[S_LOSS], step, loss);
    series_add(&r->s[S_LOSS_T], el, loss);
    series_add(&r->s[S_LR], step, json_get_num(v, "lr", NAN));
    series_add(&r->s[S_GRAD], step, g);
    if (clip > 0 && g > clip) series_add(&r->s[S_CLIPPED], step, g);
    series_add(&r->s[S_TPS], step, json_get_num(v, "tokens_per_s", NAN));
    double sk = json_get_num(v, "skipped", 0);
    if (sk > *prev_skipped) series_add(&r->s[S_SKIPPED], step, sk);
    *prev_skipped = sk;
    if (isfinite(*prev_elapsed) && step > *prev_step && el > *prev_elapsed) {
      double per_step = (el - *prev_elapsed) / (step - *prev_step);
      series_add(&r->s[S_COMM], step, json_get_num(v, "comm_wait_s", NAN) / per_step);
    }
    *prev_elapsed = el;
    *prev_step = step;
  }
  if (json_get(v, "val_loss")) {
    series_add(&r->s[S_VAL], step, json_get_num(v, "val_loss", NAN));
    series_add(&r->s[S_VAL_T], el, json_get_num(v, "val_loss", NAN));
    if (json_get(v, "accuracy")) {
      series_add(&r->s[S_ACC], step, json_get_num(v, "accuracy", NAN));
      series_add(&r->s[S_F1], step, json_get_num(v, "f1", NAN));
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
    series_add(&r->s[S_CKPT], step, json_get_num(v, "checkpoint_s", 0));
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

static const char *option(const run_data *r, const char *flag) {
  const json_value *v = json_get(json_get(&r->start, "options"), flag);
  return v && v->type == JSON_STR ? v->str : "";
}

static void run_load(run_data *r, const char *dir) {
  memset(r, 0, sizeof *r);
  r->dir = xstrdup(dir);
  r->last_step = -1;
  char *path = core_path("%s/metrics.jsonl", dir);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
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
    if (clip == 0 && *option(r, "--clip")) clip = atof(option(r, "--clip"));
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

static void run_free(run_data *r) {
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

/* ---- HTML and SVG ---- */
static void html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else if (*s == '"')
      fputs("&quot;", f);
    else
      fputc(*s, f);
  }
}

static const char *const COLORS[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                     "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
#define N_COLORS         8
#define MAX_LAYER_CURVES 16

typedef struct {
  const series *s;
  const char *run, *name;  /* data-run, data-series */
  int color, dashed, dots; /* dots: markers only, no line */
} line_spec;

#define CW 640
#define CH 260
#define ML 64
#define MR 16
#define MT 28
#define MB 40

static double nice_step(double range) {
  double e = pow(10, floor(log10(range / 5))), m = range / 5 / e;
  return e * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

static void fmt_num(char *buf, size_t n, double v) {
  if (v != 0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3))
    snprintf(buf, n, "%.3g", v);
  else
    snprintf(buf, n, "%g", v);
}

/* A chart of lines (and markers) against a shared x axis; vlines are event steps drawn across. */
static void svg_chart(FILE *f, const char *title, const char *xlab, const line_spec *ls, int n,
                      int logy, const series *vlines, int nv) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  int pts = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < ls[i].s->n; k++) {
      double x = ls[i].s->x[k], y = ls[i].s->y[k];
      if (logy && y <= 0) continue;
      y = logy ? log10(y) : y;
      x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
      pts++;
    }
  fprintf(f, "<figure><figcaption>");
  html_text(f, title);
  fprintf(f, "</figcaption>\n");
  if (pts == 0) {
    fprintf(f, "<p class=\"empty\">nothing logged yet</p></figure>\n");
    return;
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) { /* a flat series: a band around it */
    double h = fabs(y0) > 0 ? fabs(y0) * 0.1 : 1;
    y0 -= h, y1 += h;
  }
  double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;
  const double pw = CW - ML - MR, ph = CH - MT - MB;
#define PX(x) (ML + ((x)-x0) / (x1 - x0) * pw)
#define PY(y) (MT + (1 - ((y)-y0) / (y1 - y0)) * ph)
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
          "%d\">\n",
          CW, CH, CW, CH);
  fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" class=\"plot\"/>\n", ML, MT,
          pw, ph);
  char buf[32];
  if (logy) { /* 1, 2, 5 x decades (decades alone over a wide range) */
    const double ms[3] = {1, 2, 5};
    const int nm = y1 - y0 > 3 ? 1 : 3;
    const double every = ceil((y1 - y0) / 8); /* at most about 8 labelled decades */
    for (double e = floor(y0); e <= ceil(y1); e += every)
      for (int k = 0; k < nm; k++) {
        double y = e + log10(ms[k]);
        if (y < y0 || y > y1) continue;
        fmt_num(buf, sizeof buf, pow(10, y));
        fprintf(f,
                "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%d\" y=\"%.1f\" class=\"ytick\">%s</text>\n",
                ML, ML + pw, PY(y), PY(y), ML - 4, PY(y) + 4, buf);
      }
  } else {
    double st = nice_step(y1 - y0);
    for (double y = ceil(y0 / st) * st; y <= y1; y += st) {
      fmt_num(buf, sizeof buf, fabs(y) < st * 1e-9 ? 0 : y);
      fprintf(f,
              "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
              "<text x=\"%d\" y=\"%.1f\" class=\"ytick\">%s</text>\n",
              ML, ML + pw, PY(y), PY(y), ML - 4, PY(y) + 4, buf);
    }
  }
  double sx = nice_step(x1 - x0);
  for (double x = ceil(x0 / sx) * sx; x <= x1; x += sx) {
    fmt_num(buf, sizeof buf, x);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xtick\">%s</text>\n", PX(x), CH - MB + 16, buf);
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xlabel\">", ML + pw / 2, CH - 6);
  html_text(f, xlab);
  fprintf(f, "</text>\n");
  for (int i = 0; i < nv; i++) /* events: checkpoints (grey), resumptions (orange) */
    for (int k = 0; k < vlines[i].n; k++)
      if (vlines[i].x[k] >= x0 && vlines[i].x[k] <= x1)
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" class=\"%s\"/>\n",
                PX(vlines[i].x[k]), PX(vlines[i].x[k]), MT, MT + ph, i ? "resume" : "ckpt");
  for (int i = 0; i < n; i++) {
    const series *s = ls[i].s;
    const char *col = COLORS[ls[i].color % N_COLORS];
    int np = 0;
    for (int k = 0; k < s->n; k++) np += !(logy && s->y[k] <= 0);
    if (ls[i].dots) {
      fprintf(f, "<g class=\"dots\" data-run=\"");
      html_text(f, ls[i].run);
      fprintf(f, "\" data-series=\"%s\" data-points=\"%d\" fill=\"%s\">", ls[i].name, np, col);
      for (int k = 0; k < s->n; k++)
        if (!(logy && s->y[k] <= 0))
          fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>", PX(s->x[k]),
                  PY(logy ? log10(s->y[k]) : s->y[k]));
      fprintf(f, "</g>\n");
      continue;
    }
    fprintf(f, "<path class=\"line%s\" stroke=\"%s\" data-run=\"", ls[i].dashed ? " dashed" : "",
            col);
    html_text(f, ls[i].run);
    fprintf(f, "\" data-series=\"%s\" data-points=\"%d\" d=\"", ls[i].name, np);
    int first = 1;
    for (int k = 0; k < s->n; k++) {
      if (logy && s->y[k] <= 0) continue;
      fprintf(f, "%s%.1f %.1f", first ? "M" : " L", PX(s->x[k]),
              PY(logy ? log10(s->y[k]) : s->y[k]));
      first = 0;
    }
    fprintf(f, "\"/>\n");
    if (ls[i].dashed) /* validation: few points, each marked */
      for (int k = 0; k < s->n; k++)
        if (!(logy && s->y[k] <= 0))
          fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", PX(s->x[k]),
                  PY(logy ? log10(s->y[k]) : s->y[k]), col);
  }
#undef PX
#undef PY
  fprintf(f, "</svg>\n<div class=\"legend\">");
  for (int i = 0; i < n; i++) {
    fprintf(f, "<span><i style=\"background:%s\"></i>", COLORS[ls[i].color % N_COLORS]);
    html_text(f, ls[i].run);
    fprintf(f, " %s</span> ", ls[i].name);
  }
  if (nv > 0)
    fprintf(f, "<span><i class=\"ckpt\"></i>checkpoint</span> <span><i "
               "class=\"resume\"></i>resume</span>");
  fprintf(f, "</div></figure>\n");
}

/* color for t in [0, 1]: light yellow to dark blue */
static void heat_color(double t, char *buf, size_t n) {
  if (!isfinite(t)) {
    snprintf(buf, n, "#eeeeee");
    return;
  }
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const double a[3] = {255, 255, 204}, b[3] = {37, 52, 148};
  snprintf(buf, n, "rgb(%d,%d,%d)", (int)(a[0] + (b[0] - a[0]) * t),
           (int)(a[1] + (b[1] - a[1]) * t), (int)(a[2] + (b[2] - a[2]) * t));
}

/* rows x cols of values (NaN: empty), color by value (log10 if logc), labels of rows and cols */
static void svg_heat(FILE *f, const char *id, const double *v, int rows, int cols, int logc,
                     char *const *row_names, const char *xlab) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < rows * cols; i++)
    if (isfinite(v[i]) && (!logc || v[i] > 0)) {
      double x = logc ? log10(v[i]) : v[i];
      lo = fmin(lo, x), hi = fmax(hi, x);
    }
  if (!(hi > lo)) hi = lo + 1;
  const int cw = cols > 60 ? 8 : cols > 20 ? 14 : 40, rh = 26, left = 110;
  const int W = left + cols * cw + 10, H = rows * rh + 40;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heat\" id=\"%s\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\">\n",
          id, W, H, W, H);
  char col[32], buf[32];
  for (int r = 0; r < rows; r++) {
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"ytick\">", left - 4, r * rh + rh / 2 + 4);
    html_text(f, row_names[r]);
    fprintf(f, "</text>\n");
    for (int c = 0; c < cols; c++) {
      double x = v[r * cols + c];
      double t = isfinite(x) && (!logc || x > 0) ? ((logc ? log10(x) : x) - lo) / (hi - lo) : NAN;
      heat_color(t, col, sizeof col);
      fmt_num(buf, sizeof buf, x);
      fprintf(
          f,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>",
          left + c * cw, r * rh, cw, rh - 2, col, buf);
    }
    fputc('\n', f);
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"xlabel\">", left + cols * cw / 2, rows * rh + 30);
  html_text(f, xlab);
  fprintf(f, "</text></svg>\n");
}

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
    html_text(f, r[i].dir);
    fprintf(f, "</td><td>");
    html_text(f, option(&r[i], "--cell"));
    fprintf(f, " %sx%s</td><td>", option(&r[i], "--layers"), option(&r[i], "--hidden"));
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
      html_text(f, r[i].dir);
      fprintf(f, ": no training steps logged yet.</p>\n");
    }
}

static void section_runs(FILE *f, run_data *r, int n) {
  fprintf(f, "<h2>Runs: options, machine, versions</h2>\n");
  static const char *const KEYS[] = {"event", "recur_version", "world_size", "hostname", "cpu",
                                     "cores", "mpi",           "hdf5",       "blas"};
  for (int i = 0; i < n; i++) {
    fprintf(f, "<h3><i style=\"background:%s\"></i>", COLORS[i % N_COLORS]);
    html_text(f, r[i].dir);
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
        html_text(f, v->str);
      else
        fprintf(f, "%g", v->num);
      fprintf(f, "</td></tr>");
    }
    const json_value *op = json_get(&r[i].start, "options");
    for (int k = 0; op && k < op->n; k++) {
      if (op->items[k].type != JSON_STR) continue;
      fprintf(f, "<tr><th>");
      html_text(f, op->keys[k]);
      fprintf(f, "</th><td>");
      html_text(f, op->items[k].str);
      fprintf(f, "</td></tr>");
    }
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
  svg_chart(f, "accuracy (solid) and macro F1 (dashed) against step", "step", ls, k, 0, NULL, 0);
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
    html_text(f, r[i].dir);
    fprintf(f,
            ": confusion at step %lld (rows: true class, columns: predicted, share of the row)"
            "</figcaption>\n",
            (long long)r[i].confusion_step);
    svg_heat(f, "confusion", v, O, O, 0, names, "predicted class (same order as the rows)");
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
        if (x && x->type == JSON_NUM) series_add(&curves[l], d, x->num);
      }
      if (l < MAX_LAYER_CURVES) ls[l] = (line_spec){&curves[l], names[l], "grad_flow", l, 0, 0};
    }
    fprintf(f, "<figure><figcaption>");
    html_text(f, r[i].dir);
    fprintf(f, ": |dL/dh| by layer and steps back in time, step %lld (log color)</figcaption>\n",
            (long long)r[i].grad_flow_step);
    svg_heat(f, "grad-flow", v, L, D, 1, names, "steps back from the last step");
    fprintf(f, "</figure>\n");
    char *title = core_path("%s: |dL/dh| against steps back in time (log scale)", r[i].dir);
    svg_chart(f, title, "steps back from the last step", ls,
              L < MAX_LAYER_CURVES ? L : MAX_LAYER_CURVES, 1, NULL, 0);
    xfree(title);
    const json_value *pn = &r[i].param_norm;
    if (pn->type == JSON_OBJ) {
      fprintf(f, "<table class=\"kv\"><tr><th>parameter</th><th>gradient norm</th></tr>");
      for (int k = 0; k < pn->n; k++) {
        fprintf(f, "<tr><td>");
        html_text(f, pn->keys[k]);
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
      html_text(f, r[i].dir);
      fprintf(f, ", step %lld</b><pre>", (long long)r[i].sample_step[k]);
      html_text(f, r[i].sample[k]);
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
    ".legend span{margin-right:12px;font-size:12px}"
    "i{display:inline-block;width:10px;height:10px;margin-right:4px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;"
    "text-align:left;font-size:13px}.kv th{background:#f4f4f4;font-weight:normal}"
    ".note,.empty{color:#a33}pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}";

void report_write(const char *const *runs, int n, const char *out, const report_opts *o) {
  run_data *r = xcalloc((size_t)n, sizeof(run_data));
  for (int i = 0; i < n; i++) run_load(&r[i], runs[i]);
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
    html_text(f, r[i].dir);
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
  svg_chart(f, "loss (nats per target) against step: train (solid), validation (dashed)", "step",
            ls, k, o->log_y, ev, 2);
  svg_chart(f, "loss against wall time", "seconds", lt, k, o->log_y, NULL, 0);

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
  svg_chart(f, "learning rate", "step", a, na, 0, NULL, 0);
  svg_chart(f, "gradient norm before clipping (dots: clipped steps, skipped steps)", "step", b, nb,
            1, NULL, 0);
  svg_chart(f, "tokens per second (all ranks)", "step", c, na, 0, NULL, 0);
  svg_chart(f, "share of a step spent waiting on the gradient allreduce", "step", d, na, 0, NULL,
            0);
  section_classes(f, r, n);
  section_grad_flow(f, r, n);
  section_samples(f, r, n);
  section_runs(f, r, n);
  fprintf(f, "<p class=\"foot\">written by recur %s</p>\n</body></html>\n", recur_version());
  if (fclose(f) != 0) recur_fail(tmp, "is the disk full?", "cannot write report");
  core_commit(tmp, out);
  xfree(tmp);
  for (int i = 0; i < n; i++) run_free(&r[i]);
  xfree(r);
}

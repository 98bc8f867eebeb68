/* report_svg: the charts and heat maps of recur report, as inline SVG. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/core.h"
#include "report-impl.h"

const char *const COLORS[N_COLORS] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

/* ---- HTML and SVG ---- */
void report_html(FILE *f, const char *s) {
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

/* the grid and the ticks of a chart's plot area over [x0, x1] x [y0, y1] (log10 units if logy) */
static void chart_axes(FILE *f, double x0, double x1, double y0, double y1, int logy) {
  const double pw = CW - ML - MR, ph = CH - MT - MB;
#define PX(x) (ML + ((x)-x0) / (x1 - x0) * pw)
#define PY(y) (MT + (1 - ((y)-y0) / (y1 - y0)) * ph)
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
#undef PX
#undef PY
}

/* A chart of lines (and markers) against a shared x axis; vlines are event steps drawn across. */
void report_chart(FILE *f, const char *title, const char *xlab, const line_spec *ls, int n,
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
  fprintf(f, "<figure class=\"chart\"><figcaption>");
  report_html(f, title);
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
  chart_axes(f, x0, x1, y0, y1, logy);
  fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xlabel\">", ML + pw / 2, CH - 6);
  report_html(f, xlab);
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
      report_html(f, ls[i].run);
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
    report_html(f, ls[i].run);
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
  for (int i = 0; i < n; i++) { /* the key drawn as its line: solid, dashed, or a dot */
    const char *col = COLORS[ls[i].color % N_COLORS];
    fprintf(f, "<span><svg width=\"22\" height=\"10\">");
    if (ls[i].dots)
      fprintf(f, "<circle cx=\"11\" cy=\"5\" r=\"3\" fill=\"%s\"/>", col);
    else
      fprintf(f, "<line x1=\"1\" x2=\"21\" y1=\"5\" y2=\"5\" stroke=\"%s\" stroke-width=\"2\"%s/>",
              col, ls[i].dashed ? " stroke-dasharray=\"5 2\"" : "");
    fprintf(f, "</svg>");
    report_html(f, ls[i].run);
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
void report_heat(FILE *f, const char *id, const double *v, int rows, int cols, int logc,
                 char *const *row_names, char *const *col_names, const char *xlab) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < rows * cols; i++)
    if (isfinite(v[i]) && (!logc || v[i] > 0)) {
      double x = logc ? log10(v[i]) : v[i];
      lo = fmin(lo, x), hi = fmax(hi, x);
    }
  if (!(hi > lo)) hi = lo + 1;
  const int cw = col_names ? 52 : cols > 60 ? 8 : cols > 20 ? 14 : 40, rh = 26, left = 110;
  const int top = col_names ? 22 : 0; /* the columns' names above them */
  const int W = left + cols * cw + 10, H = top + rows * rh + 40;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heat\" id=\"%s\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\">\n",
          id, W, H, W, H);
  char col[32], buf[32];
  for (int c = 0; col_names && c < cols; c++) {
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"xtick\">", left + c * cw + cw / 2, top - 6);
    report_html(f, col_names[c]);
    fprintf(f, "</text>");
  }
  for (int r = 0; r < rows; r++) {
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"ytick\">", left - 4, top + r * rh + rh / 2 + 4);
    report_html(f, row_names[r]);
    fprintf(f, "</text>\n");
    for (int c = 0; c < cols; c++) {
      double x = v[r * cols + c];
      double t = isfinite(x) && (!logc || x > 0) ? ((logc ? log10(x) : x) - lo) / (hi - lo) : NAN;
      heat_color(t, col, sizeof col);
      fmt_num(buf, sizeof buf, x);
      fprintf(
          f,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>",
          left + c * cw, top + r * rh, cw, rh - 2, col, buf);
      if (col_names && isfinite(x)) /* the value, light on the dark end */
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"cell\"%s>%.2f</text>", left + c * cw + cw / 2,
                top + r * rh + rh / 2 + 3, t > 0.55 ? " fill=\"#fff\"" : "", x);
    }
    fputc('\n', f);
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"xlabel\">", left + cols * cw / 2,
          top + rows * rh + 30);
  report_html(f, xlab);
  fprintf(f, "</text></svg>\n");
}

/* report-impl: what recur report shares between reading runs (report_runs.c), drawing
 * (report_svg.c) and the page's sections (report.c). Not a public API. */
#ifndef RECUR_REPORT_IMPL_H
#define RECUR_REPORT_IMPL_H

#include <stdint.h>
#include <stdio.h>

#include "recur/json.h"

/* ---- what a run logged (report_runs.c) ---- */
typedef struct {
  double *x, *y;
  int n, cap;
} series;

/* add a point; non-finite points are left out */
void report_series_add(series *s, double x, double y);

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

/* Read RUN/metrics.jsonl into r (a directory without one ends the process naming it; unreadable
 * lines are counted and said); report_run_free releases it. */
void report_run_load(run_data *r, const char *dir);
void report_run_free(run_data *r);
/* the run's option flag as its start line saved it, "" if absent */
const char *report_option(const run_data *r, const char *flag);

/* ---- drawing (report_svg.c) ---- */
#define N_COLORS         8
#define MAX_LAYER_CURVES 16
extern const char *const COLORS[N_COLORS];
typedef struct {
  const series *s;
  const char *run, *name;  /* data-run, data-series */
  int color, dashed, dots; /* dots: markers only, no line */
} line_spec;

/* text escaped for HTML */
void report_html(FILE *f, const char *s);
/* A chart of lines (markers with dots) against a shared x axis; vlines are event steps drawn
 * across (checkpoints, resumptions); logy: logarithmic y axis. */
void report_chart(FILE *f, const char *title, const char *xlab, const line_spec *ls, int n,
                  int logy, const series *vlines, int nv);
/* rows x cols of values (NaN: empty), coloured by value (log10 if logc), rows named; col_names
 * (or NULL) label the columns and then each cell shows its value */
void report_heat(FILE *f, const char *id, const double *v, int rows, int cols, int logc,
                 char *const *row_names, char *const *col_names, const char *xlab);

#endif

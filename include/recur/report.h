/* report: one self-contained HTML page about one or more runs, drawn from their metrics.jsonl:
 * loss against step and wall time, learning rate, gradient norm (clipped steps marked), tokens/s,
 * time waiting on the allreduce, checkpoint and resume events, skipped steps, accuracy and F1 and
 * the last confusion matrix (classify, tag), the gradient flow through time (--diagnose-every),
 * samples, and each run's options, machine and versions. Inline SVG and CSS only: no script, no
 * font or image fetched (a Content-Security-Policy forbids it), so it opens offline. */
#ifndef RECUR_REPORT_H
#define RECUR_REPORT_H

typedef struct {
  int log_y; /* loss charts on a logarithmic axis */
} report_opts;

/* Write the report of runs[0..n) to out, atomically (a temporary file renamed into place). A
 * directory without metrics.jsonl ends the process naming it; a run with nothing logged yet gets
 * a page that says so. */
void report_write(const char *const *runs, int n, const char *out, const report_opts *o);

#endif

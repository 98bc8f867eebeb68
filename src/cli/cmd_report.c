/* recur report: one HTML page about one or more runs (report.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "recur/core.h"
#include "recur/opts.h"
#include "recur/report.h"

typedef struct {
  char *out;
  int log_y;
} report_flags;

#define F(m) OPT_FIELD(report_flags, m)
static const opt_def DEFS[] = {
    {"--out", "-o", OPT_STR, F(out), 0, 0, NULL, NULL, "FILE.html",
     "where to write it (default RUN/report.html for one run, report.html for several)", 0},
    {"--log-y", NULL, OPT_SWITCH, F(log_y), 0, 1, NULL, "0", NULL, "loss on a logarithmic axis", 0},
};
#undef F
static const opt_table TABLE = {
    "report", "usage: recur report RUN [RUN...] [-o report.html]   (several runs are overlaid)",
    "One self-contained HTML file (inline SVG; nothing fetched, opens offline): loss against\n"
    "step and wall time, learning rate, gradient norm, tokens/s, allreduce waiting, checkpoints\n"
    "and resumptions, accuracy/F1 and the confusion matrix, gradient flow through time\n"
    "(train --diagnose-every N), samples, and each run's options, machine and versions.\n",
    DEFS, sizeof DEFS / sizeof DEFS[0]};

int cmd_report(int argc, char **argv) {
  report_flags fl;
  memset(&fl, 0, sizeof fl);
  opts_default(&TABLE, &fl);
  const char **runs = xcalloc((size_t)argc, sizeof(char *));
  int n = 0;
  if (opts_parse(&TABLE, &fl, NULL, argc, argv, runs, argc, &n)) {
    xfree(runs);
    opts_free(&TABLE, &fl);
    return 0;
  }
  if (n == 0) recur_usage_fail("recur report RUN [RUN...] [-o report.html]", "no run given");
  core_errors_agreed(0); /* rank 0 alone writes */
  if (core_rank() == 0) {
    char *out = fl.out   ? xstrdup(fl.out)
                : n == 1 ? core_path("%s/report.html", runs[0])
                         : xstrdup("report.html");
    report_opts ro = {fl.log_y};
    report_write(runs, n, out, &ro);
    printf("wrote %s\n", out);
    xfree(out);
  }
  xfree(runs);
  opts_free(&TABLE, &fl);
  return 0;
}

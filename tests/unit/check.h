/* check: tiny assertion helpers for the unit tests (always on, print file:line). */
#ifndef RECUR_TEST_CHECK_H
#define RECUR_TEST_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)
#define CHECK_CLOSE(a, b, tol, what)                                                               \
  CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s: %.9g vs %.9g (tol %g)", what, (double)(a),  \
        (double)(b), (double)(tol))
static inline int check_done(const char *name) {
  if (check_failures)
    fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
  else
    printf("%s: ok\n", name);
  return check_failures ? 1 : 0;
}
#endif

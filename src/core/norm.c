/* norm: the global gradient norm and clipping (see norm.h). */
#include "recur/norm.h"

#include <math.h>

double norm_l2(const float *g, int64_t n) {
  /* eight partial sums in a fixed order: vectorizable, and the same on every CPU */
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) s[k] += (double)g[i + k] * (double)g[i + k];
  for (; i < n; i++) s[0] += (double)g[i] * (double)g[i];
  return sqrt(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
}

float norm_clip(float *g, int64_t n, double norm, float clip) {
  if (clip <= 0 || norm <= clip) return 1.0f;
  float f = (float)(clip / (norm + 1e-6));
  for (int64_t i = 0; i < n; i++) g[i] *= f;
  return f;
}

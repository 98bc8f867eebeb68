/* norm: the L2 norm of a float vector, summed in double in a fixed order (the same on every CPU
 * and rank), and clipping by a global norm: below the model (nn) and the trainer, which both use
 * them. */
#ifndef RECUR_NORM_H
#define RECUR_NORM_H

#include <stdint.h>

double norm_l2(const float *g, int64_t n);
/* Scale g so its global norm is at most clip (when norm > clip > 0); returns the factor. */
float norm_clip(float *g, int64_t n, double norm, float clip);

#endif

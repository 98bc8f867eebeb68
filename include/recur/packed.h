/* packed: the shape of a packed batch of variable-length sequences (what cuDNN calls packed
 * sequences), shared by the data side that builds batches and the layers that run over them. The
 * rows of time step t are [off[t], off[t] + bs[t]) and are the first bs[t] sequences of the batch
 * (sorted by length, longest first), so step t touches only the sequences still running. */
#ifndef RECUR_PACKED_H
#define RECUR_PACKED_H

#include <stdint.h>

typedef struct {
  int B;              /* sequences in the batch (rows at t = 0) */
  int T;              /* steps (longest length) */
  const int *bs;      /* (T) active rows at step t, non-increasing */
  const int64_t *off; /* (T + 1) first packed row of step t; off[T] = N */
  int64_t N;          /* packed rows */
} packed_shape;

#endif

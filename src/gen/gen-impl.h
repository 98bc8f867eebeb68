/* gen-impl: what greedy and beam decoding share (not a public API). */
#ifndef RECUR_GEN_IMPL_H
#define RECUR_GEN_IMPL_H

#include <stdint.h>

/* A decoding batch's states (L, rows, w) as rows end: row `from` of every layer to row `to`
 * (to <= from: a row never overtakes one not yet read), then, once every row is placed, the
 * layers' blocks down to (L, kept, w). A row is w floats (a source's K beams: K * H). */
void gen_move_row(float *x, int64_t L, int64_t rows, int64_t w, int64_t from, int64_t to);
void gen_pack_layers(float *x, int64_t L, int64_t rows, int64_t kept, int64_t w);

#endif

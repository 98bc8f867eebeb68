/* sim: a step's computation sampled for SimGrid's SMPI (RECUR_SMPI builds; elsewhere inert).
 * Simulating N ranks runs each rank's computation for real, one rank after another: N times one
 * rank's time and memory. Sampled, one rank's forward and backward are measured once and every
 * simulated rank then charges the measure to the simulated clock instead of computing, with the
 * gradient buckets made ready, and the sums in flight poked, at the moments the real backward did
 * (so the overlap of the sums with the backward is the real one), and the step's update (the
 * gradient's norm, clipping, the optimizer) is charged likewise. Everything else runs for real:
 * the batch schedule and loading, the reducer and its buckets and sums, checkpoints.
 * - RECUR_SIM_RECORD=FILE: rank 0 writes the timeline of its slots (the forward's seconds, then
 *   each bucket-ready call's offset, upto, and the backward's end; then the update's seconds, a
 *   line `-4 S`, and the rest of a step, `-6 S`: loading, zeroing, statistics, the least over the
 *   steps) averaged over every step but the first (launch/simulate --sample runs this on 1 rank
 *   with the per-rank batch). A replay charges the rest with the update, at the step's end.
 * - RECUR_SIM_REPLAY=FILE: every rank charges that timeline instead of its forward and backward;
 *   the loss is not computed (logged as 0), the gradients stay zero, the parameters unchanged
 *   (a timeline recorded before the update was, without its line: the update runs). */
#ifndef RECUR_TRAIN_SIM_H
#define RECUR_TRAIN_SIM_H

#include <stdint.h>

#include "recur/model.h"

void sim_open(int rank);      /* takes the files from hooks_get() (the program's environment) */
int sim_replaying(void);      /* 1: charge the timeline instead of computing */
void sim_slot_begin(void);    /* before a slot's forward (recording) */
void sim_forward_end(void);   /* after it */
void sim_ready(int64_t upto); /* a bucket-ready call of the backward (recording) */
void sim_poke(void);          /* a poke of the sums in flight (recording) */
void sim_slot_end(void);      /* after the backward (recording) */
void sim_step_end(void);      /* a step's slots are done: the timeline file is rewritten */
void sim_update_begin(void);  /* the step's update (norm, clipping, optimizer) begins (recording) */
void sim_update_end(void);    /* and ends: its time is averaged into the timeline (recording) */
/* replaying a timeline with the update's time: charges it and returns 1 (the caller updates
 * nothing); else 0 */
int sim_replay_update(void);
/* the replay of one slot: the forward's time, then the backward's, calling m->grad_ready and the
 * pokes (m->scratch.poke) at the recorded moments */
void sim_replay_slot(model *m);

#endif

/* sim: a step's computation sampled for SimGrid's SMPI (see sim.h). */
#include "sim.h"

#include <stdio.h>
#include <string.h>

#include "recur/core.h"
#include "recur/hooks.h"
#ifdef RECUR_SMPI
#include <simgrid/actor.h>
#include <smpi/smpi.h>
#endif

#define SIM_MAX_EVENTS 4096

/* a slot's timeline: event 0 the forward (upto -1), then the backward's bucket-ready calls (upto;
 * MODEL_READY_ROWS, -5: the embedding's rows) and pokes of the sums in flight (-3, a step of a
 * layer's backward), then its end (upto -2); dt: seconds since the previous event */
typedef struct {
  int n;
  int64_t upto[SIM_MAX_EVENTS];
  double dt[SIM_MAX_EVENTS];
} sim_timeline;

static struct {
  int mode; /* 0 off, 1 record, 2 replay */
  const char *file;
  sim_timeline cur, sum;
  int slots;                /* slots summed */
  int steps;                /* steps seen (the first is not summed: start-up) */
  double at;                /* core_now() of the last event */
  int broken;               /* a slot's events did not fit */
  double upd_at, upd_sum;   /* the update being recorded began; its seconds summed */
  int upd_n;                /* updates summed (not the first step's) */
  double upd_s;             /* replay: the update's seconds (-1: not recorded) */
  double step_end, slots_s; /* recording: the last update's end; this step's slots' seconds */
  double rest_s;            /* the rest of a step (loading, zeroing, statistics): recording, the
                               least over the steps; replay, what is charged (-1: none) */
} g_sim;

static void event(int64_t upto) {
  double now = core_now();
  sim_timeline *c = &g_sim.cur;
  if (c->n == SIM_MAX_EVENTS) {
    g_sim.broken = 1;
    return;
  }
  c->upto[c->n] = upto;
  c->dt[c->n++] = now - g_sim.at;
  g_sim.at = now;
}

void sim_open(int rank) {
  memset(&g_sim, 0, sizeof g_sim);
  const char *rec = hooks_get()->sim_record, *rep = hooks_get()->sim_replay;
#ifndef RECUR_SMPI
  if (rec || rep)
    recur_fail(rec ? rec : rep, "build recur for SimGrid (-DRECUR_SMPI=ON) and run launch/simulate",
               "RECUR_SIM_RECORD/RECUR_SIM_REPLAY act in a simulation only");
  (void)rank;
#else
  if (rep) {
    g_sim.mode = 2;
    g_sim.file = rep;
    FILE *f = xfopen(rep, "r");
    if (!f) recur_fail(rep, "record one with launch/simulate --sample", "cannot read the timeline");
    sim_timeline *t = &g_sim.sum;
    long long u;
    double dt;
    while (t->n < SIM_MAX_EVENTS && fscanf(f, "%lld %lf", &u, &dt) == 2) {
      t->upto[t->n] = u;
      t->dt[t->n++] = dt;
    }
    xfclose(f);
    g_sim.upd_s = g_sim.rest_s = -1;
    if (t->n > 0 && t->upto[t->n - 1] == -6) g_sim.rest_s = t->dt[--t->n];
    if (t->n > 0 && t->upto[t->n - 1] == -4) g_sim.upd_s = t->dt[--t->n];
    if (t->n < 2 || t->upto[0] != -1 || t->upto[t->n - 1] != -2)
      recur_fail(rep, "record it again with launch/simulate --sample",
                 "not a timeline: a forward, the bucket-ready calls and an end expected");
    if (hooks_get()->sim_shared) core_fold_on(); /* nothing reads the values a replay keeps */
  } else if (rec && rank == 0) {
    g_sim.mode = 1;
    g_sim.file = rec;
    g_sim.rest_s = -1;
  }
#endif
}

int sim_replaying(void) { return g_sim.mode == 2; }

void sim_slot_begin(void) {
  if (g_sim.mode != 1) return;
  g_sim.cur.n = 0;
  g_sim.at = core_now();
}

void sim_forward_end(void) {
  if (g_sim.mode == 1) event(-1);
}

void sim_ready(int64_t upto) {
  if (g_sim.mode == 1) event(upto);
}

void sim_poke(void) {
  if (g_sim.mode == 1) event(-3);
}

void sim_slot_end(void) {
  if (g_sim.mode != 1) return;
  event(-2);
  for (int i = 0; i < g_sim.cur.n; i++) g_sim.slots_s += g_sim.cur.dt[i];
  if (g_sim.steps == 0 || g_sim.broken) return; /* the first step: start-up, not measured */
  sim_timeline *s = &g_sim.sum, *c = &g_sim.cur;
  if (g_sim.slots == 0) {
    s->n = c->n;
    memcpy(s->upto, c->upto, (size_t)c->n * sizeof(int64_t));
  }
  if (s->n != c->n || memcmp(s->upto, c->upto, (size_t)c->n * sizeof(int64_t)) != 0) return;
  for (int i = 0; i < c->n; i++) s->dt[i] += c->dt[i];
  g_sim.slots++;
}

/* the timeline as averaged so far, written whole */
static void write_timeline(void) {
  if (g_sim.slots == 0) return;
  char *tmp = core_path("%s.tmp", g_sim.file);
  FILE *f = xfopen(tmp, "w");
  if (!f) recur_fail(g_sim.file, NULL, "cannot write the timeline");
  for (int i = 0; i < g_sim.sum.n; i++)
    fprintf(f, "%lld %.9g\n", (long long)g_sim.sum.upto[i], g_sim.sum.dt[i] / g_sim.slots);
  if (g_sim.upd_n > 0) fprintf(f, "-4 %.9g\n", g_sim.upd_sum / g_sim.upd_n);
  if (g_sim.upd_n > 0 && g_sim.rest_s >= 0) fprintf(f, "-6 %.9g\n", g_sim.rest_s);
  xfclose(f);
  core_commit(tmp, g_sim.file);
  xfree(tmp);
}

void sim_step_end(void) {
  if (g_sim.mode != 1) return;
  g_sim.steps++;
  write_timeline();
}

void sim_update_begin(void) {
  if (g_sim.mode == 1) g_sim.upd_at = core_now();
}

void sim_update_end(void) {
  if (g_sim.mode != 1) return;
  const double now = core_now(), upd = now - g_sim.upd_at;
  if (g_sim.steps >= 2) { /* (not the first step's: start-up) */
    g_sim.upd_sum += upd;
    g_sim.upd_n++;
    /* the rest of the step since the last one ended: the least seen (a checkpoint or a
     * validation in some step is not a step's) */
    const double rest = now - g_sim.step_end - g_sim.slots_s - upd;
    if (g_sim.step_end > 0 && rest >= 0 && (g_sim.rest_s < 0 || rest < g_sim.rest_s))
      g_sim.rest_s = rest;
    write_timeline();
  }
  g_sim.step_end = now;
  g_sim.slots_s = 0;
}

#ifdef RECUR_SMPI
/* seconds of this rank's computation charged to the simulated clock: a sleep, not an execution.
 * Every simulated rank has a core of its own, so both take the same simulated time; but SimGrid
 * 3.32 leaves each communication an actor completed through MPI_Test on that actor's list of
 * activities, and the end of every execution scans that list (std::list::remove), which grew by
 * the sums' messages step after step: 30% of the wall time at 512 ranks, and rising */
static void charge(double s) {
  if (s > 0) sg_actor_sleep_for(s);
}
#endif

int sim_replay_update(void) {
#ifdef RECUR_SMPI
  if (g_sim.mode != 2 || g_sim.upd_s < 0) return 0;
  const double rest = g_sim.rest_s > 0 ? g_sim.rest_s : 0; /* charged here, at the step's end */
  charge(g_sim.upd_s + rest);
  return 1;
#else
  return 0;
#endif
}

void sim_replay_slot(model *m) {
#ifdef RECUR_SMPI
  const sim_timeline *t = &g_sim.sum;
  for (int i = 0; i < t->n; i++) {
    charge(t->dt[i]); /* its own time, not the other actors' */
    if ((t->upto[i] >= 0 || t->upto[i] == MODEL_READY_ROWS) && m->grad_ready)
      m->grad_ready(m->grad_arg, t->upto[i]);
    if (t->upto[i] == -3 && m->scratch.poke) m->scratch.poke(m->scratch.poke_arg);
  }
#else
  (void)m;
#endif
}

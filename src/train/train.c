/* train: the training loop as its phases. A trainer is opened (options merged with a
 * checkpoint's, dataset, model, schedule, optimizer, reducer, run directory), then stepped; after
 * each step it may log, evaluate and checkpoint; then it is closed.
 *
 * Every rank derives the same global batches; rank r computes slots r*K .. r*K+K-1 of the W*K
 * slots (K = --accum), so W ranks with accum K compute exactly what one rank computes with accum
 * W*K. Loss is summed over targets and divided by the global target count, which every rank knows
 * from the schedule without communication. */
#define _POSIX_C_SOURCE 200809L
#include "recur/gemm.h"
#include "recur/train.h"

#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "recur/batch.h"
#include "recur/ckpt.h"
#include "recur/core.h"
#include "recur/dist.h"
#include "recur/generate.h"
#include "recur/hooks.h"
#include "recur/norm.h"
#include "train-impl.h"
#include "sim.h"
#include "trainer.h"

/* ---- states carried across windows: (L, B_total, H) slots for every stream, the checkpoint's
 * layout; a state is W <= H wide (h is --proj wide with projections) and the model's (L, B, W) ----
 */
/* a slot's rows' states (L, b->s.B, W) from / to the rank's carried ones (L, K, H): a stream's
 * row there is slot[its id] */
static void gather_state(float *dst, const float *all, const batch *b, int L, int K, int H, int W,
                         const int *slot) {
  for (int l = 0; l < L; l++)
    for (int r = 0; r < b->s.B; r++)
      memcpy(dst + ((int64_t)l * b->s.B + r) * W, all + ((int64_t)l * K + slot[b->seq_id[r]]) * H,
             (size_t)W * sizeof(float));
}
static void scatter_state(float *all, const float *src, const batch *b, int L, int K, int H, int W,
                          const int *slot) {
  for (int l = 0; l < L; l++)
    for (int r = 0; r < b->s.B; r++)
      memcpy(all + ((int64_t)l * K + slot[b->seq_id[r]]) * H, src + ((int64_t)l * b->s.B + r) * W,
             (size_t)W * sizeof(float));
}

/* ---- requests ----
 * TRAIN_STOP (the CLI's SIGINT, SIGTERM, SIGUSR2): the step in progress finishes, every rank learns
 * of the stop in that step's reduction of the loss (so all stop after the same step whichever rank
 * was asked), validation is skipped, the checkpoint of that step is committed, and the run ends.
 * TRAIN_CHECKPOINT (SIGUSR1): commit a checkpoint after the step in progress and go on.
 * Under Open MPI, mpirun turns its own SIGINT/SIGTERM into SIGTERM to the ranks followed by
 * SIGKILL after odls_base_sigkill_timeout seconds (1 by default), and forwards SIGUSR1/SIGUSR2
 * untouched; see docs/distributed.md "Stopping a run". */
static volatile sig_atomic_t g_stop;
/* a lock-free atomic (async-signal-safe): a request between its read and its reset is not lost */
static atomic_int g_ckpt_now;
void train_request(int what, int sig) {
  if (what == TRAIN_CHECKPOINT)
    atomic_store(&g_ckpt_now, 1);
  else if (what == TRAIN_STOP)
    g_stop = sig ? sig : -1;
}
static const char *signal_name(int sig) {
  return sig == -1        ? "a request"
         : sig == SIGINT  ? "SIGINT"
         : sig == SIGTERM ? "SIGTERM"
         : sig == SIGUSR2 ? "SIGUSR2 (a stop request: launch/run-mpi sends it on Ctrl-C)"
                          : "a signal";
}

/* What a step did, as all ranks agree after its reduction. */
typedef struct {
  double loss, loss_sum, targets, grad_norm, lr, ss;
  double tokens, sequences; /* input tokens the step ran (every rank's), sequences (0: streams) */
  int skipped, stop, ckpt_request, ckpt_due, eval_due, diagnosed;
  int64_t fit;   /* --time-budget: the run's last step as rank 0 fitted it now (0: no fit) */
  double sync_s; /* seconds in the step's statistics sum: this rank waiting for the slowest */
} step_result;

/* --time-budget on rank 0's clock: the last step that fits. The wall time per step since the
 * first (validations and checkpoints included) into what is left of the budget once the end's
 * checkpoint and final validation are paid for (measured when they have run, else estimated:
 * validation a forward pass of the val split, a third of a training step's time a token, a
 * checkpoint 0.2 s plus the parameters and two moments at 200 MB/s). 0 before three steps. */
#define TRAIN_FIT_AFTER 3
static int64_t trainer_fit(const trainer *t, int64_t done) {
  const train_opts *o = &t->opts;
  if (o->time_budget <= 0 || t->rank != 0 || done - t->start <= TRAIN_FIT_AFTER) return 0;
  const double now = core_now(), per = (now - t->t_first) / (double)(done - t->start - 1);
  double val = t->eval_s;
  if (val <= 0 && t->ds->split[SPLIT_VAL].n_tok > 1 && t->fit_tokens > 0)
    val = per * (double)t->ds->split[SPLIT_VAL].n_tok * (double)(done - t->start) / t->fit_tokens /
          3.0;
  const double ckpt = t->ckpt_s > 0 ? t->ckpt_s : 0.2 + 12.0 * (double)t->m->n_params / 200e6;
  const double left = o->time_budget * 60.0 - (now - t->t_open) - val - ckpt;
  int64_t fit = done + (left > 0 ? (int64_t)floor(left / per) : 0);
  return fit < t->cap ? fit : t->cap;
}

/* ---- gradient flow: forward and backward of this slot's batch with only the loss at each
 * sequence's last step (mean over the n sequences of the global batch), |dL/dh| recorded by
 * backward (model.h); its gradients are dropped and no reduction sees them ---- */
static void trainer_diagnose(trainer *t, int64_t step, int n) {
  model *m = t->m;
  void (*ready)(void *, int64_t) = m->grad_ready;
  void (*poke)(void *) = m->scratch.poke;
  m->grad_ready = NULL;
  m->scratch.poke = NULL;
  m->diag = t->diag;
  model_forward(m, &t->b, t->h0, t->c0, (uint64_t)step, 1);
  model_backward(m, &t->b, (float)(1.0 / n));
  m->diag = NULL;
  m->grad_ready = ready;
  m->scratch.poke = poke;
  model_zero_grads(m);
}

/* Slot k of this rank's share of step's n items: loaded, packed, forward and backward (or a
 * simulation's sampled time); adds its loss sum and targets to stats[0], stats[1] */
static void trainer_slot(trainer *t, int64_t step, int k, int n, const step_result *r,
                         double *stats) {
  const train_opts *o = &t->opts;
  const dataset *ds = t->ds;
  model *m = t->m;
  const int L = o->mc.layers, H = o->mc.hidden, S = t->W * o->accum;
  const test_hooks *hk = hooks_get();
  int cnt = schedule_slot(n, t->rank * o->accum + k, S, t->idx);
  for (int i = 0; i < cnt; i++) t->mine[i] = t->ids[t->idx[i]];
  dist_reducer_begin(&t->red, k == o->accum - 1);
  if (cnt == 0) return;
  if (t->stream)
    items_load_windows(&t->it, ds, SPLIT_TRAIN, t->mine, cnt, t->sc.stream_len,
                       (uint64_t)(step % t->spe) * (uint64_t)o->T, o->T);
  else
    items_load_sequences(&t->it, ds, SPLIT_TRAIN, t->mine, cnt, o->max_len);
  items_pack(&t->b, &t->it, cnt, ds);
  if (t->stream) {
    gather_state(t->h0, t->carry_h, &t->b, L, t->n_own, H, model_state_width(&m->cfg), t->slot);
    gather_state(t->c0, t->carry_c, &t->b, L, t->n_own, H, H, t->slot);
  }
  if (t->rank == hk->fail_rank && step == hk->fail_step)
    recur_fail(o->data, NULL, "test hook: rank %d fails at step %lld", t->rank, (long long)step);
  stats[1] += (double)t->b.n_targets;
  if (sim_replaying()) {         /* a simulation's sampled compute: the measured time, no numbers */
    model_mark_inputs(m, &t->b); /* the rows the sparse sum unites */
    sim_replay_slot(m);
    return;
  }
  sim_slot_begin();
  if (r->ss < 1.0) ss_sample_inputs(m, &t->b, t->h0, t->c0, r->ss, o->seed, (uint64_t)step);
  if (r->diagnosed && k == 0) /* the gradient flow of the last steps' loss: a pass of its own */
    trainer_diagnose(t, step, n);
  model_mark_inputs(m, &t->b); /* before the backward: the reducer unites them as it runs */
  stats[0] += model_forward(m, &t->b, t->h0, t->c0, (uint64_t)step, 1);
  sim_forward_end();
  if (k == 0 && t->rank == hk->nan_rank && hk->nan_from > 0 && step + 1 >= hk->nan_from &&
      step + 1 <= hk->nan_to)
    m->grads[0] = NAN; /* this rank alone, before its gradients are reduced */
  model_backward(m, &t->b, (float)(1.0 / r->targets));
  if (t->stream) {
    model_final_state(m, &t->b, t->h0, t->c0);
    scatter_state(t->carry_h, t->h0, &t->b, L, t->n_own, H, model_state_width(&m->cfg), t->slot);
    scatter_state(t->carry_c, t->c0, &t->b, L, t->n_own, H, H, t->slot);
  }
  sim_slot_end();
}

/* The update of a reduced step: skipped (and counted) when its loss or gradient is not finite,
 * else clipped and applied by the optimizer */
static void trainer_update(trainer *t, int64_t step, step_result *r) {
  const train_opts *o = &t->opts;
  model *m = t->m;
  r->skipped = !isfinite(r->grad_norm) || !isfinite(r->loss);
  if (r->skipped) {
    t->bad_run++;
    t->bad_total++;
    if (t->rank == 0)
      fprintf(stderr, "recur: warning: step %lld: non-finite loss or gradient, step skipped\n",
              (long long)step + 1);
    if (t->bad_run >= o->max_bad_steps)
      recur_fail(o->out, "lower --lr or set --clip",
                 "%d steps in a row had a non-finite loss or gradient", t->bad_run);
    return;
  }
  t->bad_run = 0;
  model_clip_grads(m, r->grad_norm, o->clip);
  int et;
  unsigned char *marks; /* the embedding rows some rank used: the marks after the sum */
  if (model_sparse_grads(m, &et, &marks, 1)) {
    const model_tensor *e = &m->tensors[et];
    optim_step_rows(&t->opt, m->params, m->grads, (float)r->lr, e->offset, e->dims[0], e->dims[1],
                    marks, o->embed_update == 1);
  } else {
    optim_step(&t->opt, m->params, m->grads, (float)r->lr);
  }
  gemm_params_changed(); /* bf16 copies of the weights are made again, once per step */
}

/* ---- step: forward and backward of this rank's slots, reduction, update ---- */
static step_result trainer_step(trainer *t, int64_t step) {
  const train_opts *o = &t->opts;
  const dataset *ds = t->ds;
  model *m = t->m;
  const int L = o->mc.layers, H = o->mc.hidden;
  const test_hooks *hk = hooks_get();
  step_result r = {0};
  if (hk->step_ms > 0) {
    struct timespec ts = {(time_t)(hk->step_ms / 1000), (long)(hk->step_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  int n = schedule_items(&t->sc, step, t->ids);
  r.ss = ss_eps(o->ss_kind, o->ss_k, o->ss_c, o->ss_min, step);
  if (t->stream) {
    r.targets = r.tokens = (double)n * o->T;
    if (step % t->spe == 0) {
      memset(t->carry_h, 0, (size_t)L * (size_t)t->n_own * (size_t)H * sizeof(float));
      memset(t->carry_c, 0, (size_t)L * (size_t)t->n_own * (size_t)H * sizeof(float));
    }
  } else {
    for (int i = 0; i < n; i++) {
      r.targets += items_seq_targets(ds, SPLIT_TRAIN, t->ids[i], o->max_len);
      r.tokens += items_seq_steps(ds, SPLIT_TRAIN, t->ids[i], o->max_len);
    }
    r.sequences = n;
  }
  model_zero_grads(m);
  r.diagnosed = o->diagnose_every > 0 && (step + 1) % o->diagnose_every == 0;
  if (r.diagnosed && !t->diag) {
    t->diag = xmalloc((size_t)(2 * L * MODEL_DIAG_T) * sizeof(double));
    t->diag_pn = xmalloc((size_t)m->n_tensors * sizeof(double));
  }
  if (r.diagnosed) memset(t->diag, 0, (size_t)(2 * L * MODEL_DIAG_T) * sizeof(double));
  double stats[7] = {0}; /* loss, targets, stop, checkpoint requested, checkpoint due, eval due,
                          * the fitted last step */
  for (int k = 0; k < o->accum; k++) trainer_slot(t, step, k, n, &r, stats);
  sim_step_end();
  dist_reducer_finish(&t->red);
  if (r.diagnosed) { /* every rank's rows; the reduced gradient's norm per tensor */
    dist_sum_doubles(t->diag, 2 * L * MODEL_DIAG_T);
    for (int i = 0; i < m->n_tensors; i++)
      t->diag_pn[i] = norm_l2(m->grads + m->tensors[i].offset, m->tensors[i].n);
  }
  const int nan_step = hk->nan_from > 0 && step + 1 >= hk->nan_from && step + 1 <= hk->nan_to;
  if (nan_step && hk->nan_rank < 0) m->grads[0] = NAN; /* every rank, after the reduction */
  stats[2] = g_stop ? 1 : 0;
  /* checkpoint requests: SIGUSR1 on any rank, or --ckpt-minutes by rank 0's clock; validation
   * by --eval-minutes on rank 0's clock */
  stats[3] = atomic_exchange(&g_ckpt_now, 0);
  stats[4] = t->rank == 0 && o->ckpt_minutes > 0 && core_now() - t->t_ckpt >= o->ckpt_minutes * 60;
  stats[5] = t->rank == 0 && o->eval_minutes > 0 && core_now() - t->t_eval >= o->eval_minutes * 60;
  stats[6] = (double)trainer_fit(t, step + 1);
  const double ts = core_now();
  dist_sum_doubles(stats, 7);
  r.sync_s = core_now() - ts;
  RECUR_ASSERT(fabs(stats[1] - r.targets) < 0.5);
  r.loss_sum = stats[0];
  r.loss = stats[0] / r.targets;
  r.stop = stats[2] > 0;
  r.ckpt_request = stats[3] > 0;
  r.ckpt_due = stats[4] > 0;
  r.eval_due = stats[5] > 0;
  r.fit = (int64_t)stats[6];
  r.lr = lr_at(&t->lr, step);
  if (sim_replay_update()) return r; /* a simulation's sampled update: its measured time */
  sim_update_begin();
  r.grad_norm = model_grad_norm(m);
  if (sim_replaying()) r.grad_norm = 0; /* numbers that mean nothing (memory shared by ranks) */
  trainer_update(t, step, &r);
  sim_update_end();
  return r;
}

/* ---- evaluate: the validation split; the best model so far is kept ---- */
static void trainer_evaluate(trainer *t, int64_t done) {
  const train_opts *o = &t->opts;
  double te = core_now();
  eval_result r = train_eval(t->m, t->ds, SPLIT_VAL, EVAL_BATCH, 0); /* = recur eval's */
  double vl = r.loss_sum / r.tokens;
  if (t->rank == 0) {
    metrics_eval(&t->mt, done, (double)done / (double)t->spe, t->ds, &r, core_now() - te);
    if (task_is(t->ds->task)->stream && o->sample_len > 0) { /* what the model writes now */
      char *text = NULL;
      size_t len = 0;
      FILE *f = open_memstream(&text, &len);
      if (!f) recur_fail(NULL, NULL, "out of memory for a sample");
      sample_opts so = {.length = o->sample_len, .temperature = 0.8, .seed = (uint64_t)done};
      generate_sample(t->m, &t->mv, "", &so, f);
      fclose(f);
      if (len > 0 && text[len - 1] == '\n') text[len - 1] = 0;
      metrics_sample(&t->mt, done, text);
      xfree(text);
    }
    if (vl < t->best_val) {
      t->best_val = vl;
      char *path = core_path("%s/model-best.h5", o->out);
      model_save(t->m, &t->mv, done, path);
      xfree(path);
    }
  }
  xfree(r.confusion);
  xfree(r.fc);
  t->t_eval = core_now();
  t->eval_s = t->t_eval - te;
}

/* ---- checkpoint: every rank's shard, the model, the commit ---- */
static void trainer_checkpoint(trainer *t, int64_t done, const char *reason) {
  double tc = core_now();
  ckpt_counters cnt = {done, t->bad_total, t->best_val, t->W};
  ckpt_save(t->opts.out, t->m, &t->mv, &cnt, &t->pay, t->opts.keep);
  if (t->rank == 0) {
    ckpt_publish_model(t->opts.out, done, t->m, &t->mv);
    metrics_checkpoint(&t->mt, done, core_now() - tc, reason);
    if (!t->opts.quiet && !strcmp(reason, "request"))
      train_say("recur: checkpoint step-%08lld committed on request (%.2fs)\n", (long long)done,
                core_now() - tc);
  }
  t->t_ckpt = core_now();
  t->ckpt_s = t->t_ckpt - tc;
}

static void trainer_close(trainer *t, int64_t done) {
  if (t->rank == 0) {
    if (!t->opts.quiet)
      train_say("done: %lld steps in %.1fs, peak RSS %.0f MiB (rank 0)\n", (long long)done,
                core_now() - t->mt.t_start, core_peak_rss_mb());
    metrics_close(&t->mt);
  }
  xfree(t->ids);
  xfree(t->mine);
  xfree(t->idx);
  xfree(t->carry_h);
  xfree(t->carry_c);
  xfree(t->h0);
  xfree(t->c0);
  xfree(t->own);
  xfree(t->slot);
  xfree(t->options);
  xfree(t->ckdir);
  xfree(t->diag);
  xfree(t->diag_pn);
  items_free(&t->it);
  batch_free(&t->b);
  dist_reducer_free(&t->red);
  gemm_free();
  optim_free(&t->opt);
  schedule_free(&t->sc);
  model_free(t->m);
  dataset_close(t->ds);
  train_opts_free(&t->opts);
}

/* ---- the run as a program drives it (train.h) ---- */
trainer *train_open(const train_opts *given, MPI_Comm comm, const train_sink *sink, char *err,
                    size_t cap) {
  core_set_comm(comm);
  train_sink_set(sink);
  g_stop = 0;
  atomic_store(&g_ckpt_now, 0);
  recur_catch c;
  if (err && RECUR_CATCH(&c) != 0) { /* an error of the opening: the message, not an exit */
    snprintf(err, cap, "%s", c.msg);
    core_errors_agreed(0);
    return NULL;
  }
  trainer *t = xmalloc(sizeof *t);
  trainer_open(t, given);
  if (err) recur_catch_end(&c);
  t->step = t->start;
  t->over = t->start >= t->total;
  core_oom_context("a training step's activations and gradients",
                   "reduce --batch, --seq-len (stream) or --max-len (sequences), or --hidden; "
                   "--accum K splits each rank's share of the batch into K slots",
                   NULL, NULL);
  return t;
}

/* --time-budget: the run's last step becomes fit (every rank alike) when it moved by more than a
 * fiftieth of the steps left, and the schedule's end with it unless --schedule-steps was given;
 * the checkpoints save the fitted length, so a resume without --time-budget ends there too */
static void trainer_refit(trainer *t, int64_t done, int64_t fit) {
  train_opts *o = &t->opts;
  const int64_t left = t->total - done, moved = fit > t->total ? fit - t->total : t->total - fit;
  const int first = t->fitted == 0;
  if (!first && moved <= left / 50 && fit > done) return;
  t->total = o->steps = fit;
  if (t->fit_sched) t->lr.total = o->lr.total = fit;
  xfree(t->options);
  t->options = train_opts_text(o);
  t->pay.options = t->options;
  t->fitted = fit;
  if (t->rank == 0) {
    if (first && !o->quiet)
      train_say("recur: --time-budget %g min: %lld steps fit (%.3g s each so far)%s; refitted as "
                "the run goes\n",
                o->time_budget, (long long)fit,
                (core_now() - t->t_first) / (double)(done - t->start - 1),
                t->fit_sched ? ", the schedule ends there" : "");
  }
}

int64_t train_steps_done(const trainer *t) { return t->step; }
int64_t train_steps_total(const trainer *t) { return t->total; }

int train_step(trainer *t) {
  if (t->over) return 0;
  const train_opts *o = &t->opts;
  const int64_t step = t->step;
  double t0 = core_now();
  step_result r = trainer_step(t, step);
  t->train_time += core_now() - t0;
  const int64_t done = step + 1;
  if (done == t->start + 1) t->t_first = core_now();
  t->fit_tokens += r.tokens;
  if (r.fit > 0) trainer_refit(t, done, r.fit);
  const int last = done == t->total || r.stop;
  if (t->rank == 0) {
    metrics_add(&t->mt, r.tokens, r.sequences, r.targets, r.loss_sum, r.skipped, &t->red, r.sync_s);
    if (done % o->log_every == 0 || last)
      metrics_log(&t->mt, done, t->total, (double)done / (double)t->spe, r.loss, r.grad_norm, r.lr,
                  t->bad_total, r.ss,
                  t->train_time / (double)(done - t->start) * (double)(t->total - done));
    if (r.diagnosed) metrics_grad_flow(&t->mt, done, t->m, t->diag, t->diag_pn);
  }
  /* no validation on a stop: under mpirun the ranks have about a second before SIGKILL; the
   * last step's checkpoint is committed before the final validation, so a validation that
   * fails loses no training */
  const int validate = !r.stop && t->ds->split[SPLIT_VAL].n_tok > 1 &&
                       ((o->eval_every > 0 && done % o->eval_every == 0) || r.eval_due || last);
  if (validate && !last) trainer_evaluate(t, done);
  if ((o->ckpt_every > 0 && done % o->ckpt_every == 0) || last || r.ckpt_request || r.ckpt_due)
    trainer_checkpoint(t, done,
                       r.stop           ? "stop"
                       : r.ckpt_request ? "request"
                       : r.ckpt_due     ? "minutes"
                                        : "schedule");
  if (validate && last) trainer_evaluate(t, done);
  if (r.stop && t->rank == 0 && !o->quiet)
    train_say("recur: stopped by %s after step %lld; checkpoint step-%08lld committed\n",
              g_stop ? signal_name(g_stop) : "a signal to another rank", (long long)done,
              (long long)done);
  t->step = done;
  t->over = last;
  return !t->over;
}

void train_close(trainer *t) {
  trainer_close(t, t->step);
  xfree(t);
  train_sink_set(NULL);
}

static void say_stdout(void *arg, const char *lines) {
  (void)arg;
  fputs(lines, stdout);
  fflush(stdout);
}

int train_run(const train_opts *given) {
  const train_sink console = {say_stdout, NULL, NULL};
  trainer *t = train_open(given, core_comm(), &console, NULL, 0);
  while (train_step(t)) {}
  train_close(t);
  return 0;
}

/* train_open: a run's opening — options (a resume's merged with its checkpoint's), the dataset,
 * the model (new or loaded), the schedule, the optimizer and reducer, the run directory, and the
 * first lines it prints. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recur/core.h"
#include "recur/gemm.h"
#include "recur/tasks.h"
#include "recur/hooks.h"
#include "recur/mconf.h"
#include "sim.h"
#include "trainer.h"

static void grad_ready_cb(void *arg, int64_t upto) {
  sim_ready(upto); /* a simulation's recorded timeline (sim.h) */
  if (upto == MODEL_READY_ROWS)
    dist_reducer_rows_ready(arg);
  else
    dist_reducer_ready(arg, upto);
}
static void poke_cb(void *arg) {
  sim_poke(); /* a simulation's recorded timeline */
  dist_reducer_poke(arg);
}

static void mkdir_p(const char *dir) {
  char *p = xstrdup(dir);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0755);
      *s = '/';
    }
  if (mkdir(p, 0755) != 0 && errno != EEXIST)
    recur_fail(dir, "check the path and its permissions", "cannot create run directory");
  xfree(p);
}

/* ---- open: options, data, model, schedule, optimizer, run directory ---- */
static void trainer_open_options(trainer *t, const train_opts *given) {
  train_opts_check(given);
  if (!given->resume) {
    train_opts_copy(&t->opts, given); /* a copy that owns its paths */
    return;
  }
  t->ckdir = ckpt_find_dir(given->resume);
  char *text = ckpt_saved_options(t->ckdir);
  char *taken = train_opts_merge(&t->opts, given, text, t->ckdir);
  xfree(text);
  if (!given->out) { /* the run directory: RUN, or RUN/checkpoints/step-N -> RUN */
    char *run = xstrdup(t->ckdir);
    for (int up = 0; up < 2; up++) {
      char *sl = strrchr(run, '/');
      if (sl) *sl = 0;
    }
    xfree(t->opts.out);
    t->opts.out = run;
  }
  if (t->rank == 0 && !t->opts.quiet)
    train_say("recur: resuming from %s\nrecur: from the checkpoint (not given here; the rest at "
              "defaults): %s\n",
              t->ckdir, taken[0] ? taken : "none");
  xfree(taken);
}

static void trainer_open_model(trainer *t) {
  const train_opts *o = &t->opts;
  dataset *ds = t->ds;
  model_config mc = o->mc;
  mc.vocab = (int)ds->vocab_size;
  mc.n_in = ds->level == LEVEL_REAL ? ds->n_features : 0;
  mc.n_out = !task_is(ds->task)->next_token ? (int)ds->n_out : 0;
  mc.cond_labels = task_is(ds->task)->label_cond ? (int)ds->n_out : 0;
  if (ds->n_cond_features > 0) /* a vector per sequence: its features are the condition */
    mc.cond_features = mc.cond_width = ds->n_cond_features;
  mc.src_vocab = ds->separate_vocab ? (int)ds->src_vocab_size : 0;
  if (!task_is(mc.task)->self_fed && o->ss_kind != SS_NONE)
    recur_usage_fail("scheduled sampling feeds a language model (a decoder, a forecaster) its own "
                     "predictions",
                     "--scheduled-sampling needs --task lm, seq2seq or forecast");
  if (task_is(mc.task)->frames && o->ss_kind != SS_NONE && mc.horizon != 1)
    recur_usage_fail("a step's prediction is the next step's input only with --horizon 1",
                     "--scheduled-sampling with --horizon %d", mc.horizon);
  if (mc.task != ds->task && t->ckdir)
    recur_fail(o->data, "resume with a dataset of the run's task, or start a new run (--out)",
               "the run trains --task %s; this dataset was prepared for --task %s",
               task_names[mc.task], task_names[ds->task]);
  if (mc.task != ds->task)
    recur_fail(o->data,
               "leave out --task (it defaults to the dataset's), or prepare the data "
               "for this task",
               "the dataset is for --task %s, not --task %s", task_names[ds->task],
               task_names[mc.task]);
  if (!task_is(mc.task)->stream && o->mode == MODE_STREAM)
    recur_usage_fail("classification, tagging and conditioned text train on whole sequences",
                     "--task %s needs --mode sequences", task_names[mc.task]);
  model_config_check(&mc);
  if (o->embed_update == 1 && mc.tie_weights)
    recur_usage_fail("the tied embedding gets the readout's gradient in every row",
                     "--embed-update lazy needs an untied embedding (drop --tie-weights)");
  if (t->ckdir) {
    char *mp = core_path("%s/model.h5", t->ckdir);
    model_vocab cv;
    model *m = model_load(mp, &cv, NULL);
    /* everything but the training-only rows must agree: the saved options made mc, the dataset
     * its data rows; the training-only rows come from the saved options (model.h5 of older
     * versions does not keep them all) */
    char diff[1024];
    model_config_derive(&mc);
    if (mconf_diff(&mc, &m->cfg, MCONF_TRAIN, diff, sizeof diff) > 0)
      recur_fail(mp, "resume with the dataset the run was trained on",
                 "the model differs from the run's options and dataset: %s", diff);
    mconf_copy(&m->cfg, &mc, MCONF_TRAIN);
    if (m->enc) mconf_copy(&m->enc->cfg, &mc, MCONF_TRAIN); /* seq2seq: the encoder's too */
    for (int64_t i = 0; i < cv.vocab_size; i++)
      if (strcmp(cv.vocab[i], ds->vocab[i]) != 0)
        recur_fail(o->data, "resume with the dataset the run was trained on",
                   "vocabulary entry %lld differs from the checkpoint's", (long long)i);
    model_vocab_free(&cv);
    m->seed = o->seed;
    t->m = m;
    xfree(mp);
  } else {
    t->m = model_create(&mc, o->seed);
    if (mc.n_in > 0) { /* the training data's statistics normalise its inputs from now on */
      t->m->in_mean = xmalloc((size_t)mc.n_in * sizeof(double));
      t->m->in_std = xmalloc((size_t)mc.n_in * sizeof(double));
      memcpy(t->m->in_mean, ds->feature_mean, (size_t)mc.n_in * sizeof(double));
      memcpy(t->m->in_std, ds->feature_std, (size_t)mc.n_in * sizeof(double));
    }
    if (mc.cond_features > 0) { /* and its conditioning vectors */
      t->m->cond_mean = xmalloc((size_t)mc.cond_features * sizeof(double));
      t->m->cond_std = xmalloc((size_t)mc.cond_features * sizeof(double));
      memcpy(t->m->cond_mean, ds->cond_mean, (size_t)mc.cond_features * sizeof(double));
      memcpy(t->m->cond_std, ds->cond_std, (size_t)mc.cond_features * sizeof(double));
      model_cond_stats(t->m); /* seq2seq: the encoder's input layer uses them */
    }
  }
  model_vocab mv = {.level = ds->level,
                    .eos_id = ds->eos_id,
                    .unk_id = ds->unk_id,
                    .vocab = ds->vocab,
                    .vocab_size = ds->vocab_size,
                    .glue = ds->vocab_glue,
                    .spm_proto = ds->spm_proto,
                    .spm_proto_len = ds->spm_proto_len,
                    .out_names = ds->out_names,
                    .n_out_names = ds->n_out,
                    .src_vocab = ds->separate_vocab ? ds->src_vocab : NULL,
                    .src_vocab_size = ds->separate_vocab ? ds->src_vocab_size : 0,
                    .src_spm_proto = ds->src_spm_proto,
                    .src_spm_proto_len = ds->src_spm_proto_len,
                    .src_unk_id = ds->src_unk_id,
                    .feature_names = ds->feature_names,
                    .n_features = ds->n_features,
                    .cond_names = ds->cond_names,
                    .n_cond_names = ds->n_cond_features};
  snprintf(mv.split_on, sizeof mv.split_on, "%s", ds->split_on);
  t->mv = mv;
}

/* The learning-rate schedule as absolute steps, resolved once and saved so that a resume keeps
 * the curve whatever its --steps: a new run's ends at its last step (or --schedule-steps); a
 * resume's is the checkpoint's unless --schedule-steps is given again, or --restart-schedule
 * begins a new one at the checkpoint's step that ends at the run's new last step. */
static void trainer_open_schedule(trainer *t) {
  train_opts *o = &t->opts;
  if (o->restart_schedule) {
    if (!t->ckdir)
      recur_usage_fail("--restart-schedule continues a run: give it with --resume",
                       "--restart-schedule without --resume");
    o->lr.start = t->start;
    if (!TRAIN_GIVEN(o, lr.total)) o->lr.total = 0;
  }
  if (o->lr.total == 0) o->lr.total = t->total;
  t->lr = o->lr;
  if (t->rank != 0 || o->quiet || (!t->ckdir && o->lr.kind == LR_CONSTANT && o->lr.warmup == 0))
    return;
  char curve[160];
  if (o->lr.kind == LR_COSINE && t->fit_sched)
    snprintf(curve, sizeof curve, "cosine from %g at step %lld to %g at the last step that fits",
             o->lr.lr, (long long)(o->lr.start + o->lr.warmup), o->lr.min_lr);
  else if (o->lr.kind == LR_COSINE)
    snprintf(curve, sizeof curve, "cosine from %g at step %lld to %g at step %lld", o->lr.lr,
             (long long)(o->lr.start + o->lr.warmup), o->lr.min_lr, (long long)o->lr.total);
  else if (o->lr.kind == LR_STEP)
    snprintf(curve, sizeof curve, "%g from step %lld, x%g every %lld steps", o->lr.lr,
             (long long)(o->lr.start + o->lr.warmup), o->lr.gamma, (long long)o->lr.decay_every);
  else
    snprintf(curve, sizeof curve, "%g from step %lld", o->lr.lr,
             (long long)(o->lr.start + o->lr.warmup));
  train_say("recur: learning rate: %s%s%s", o->lr.warmup ? "warmup, then " : "", curve,
            o->restart_schedule ? " (restarted here)" : "");
  if (t->ckdir && t->start < t->total)
    train_say("; at step %lld: %.3g", (long long)t->start, lr_at(&t->lr, t->start));
  train_say("\n");
  if (o->lr.kind == LR_COSINE && t->cap != TRAIN_NO_CAP && t->total > o->lr.total &&
      t->start < t->total)
    train_say("recur: steps %lld-%lld lie past the schedule's end: the learning rate stays %g "
              "(--restart-schedule begins a new schedule at the checkpoint's step)\n",
              (long long)(t->start > o->lr.total ? t->start : o->lr.total) + 1, (long long)t->total,
              o->lr.min_lr);
}

static void trainer_open_run(trainer *t) {
  const train_opts *o = &t->opts;
  const int L = o->mc.layers, H = o->mc.hidden, S = t->W * o->accum;
  optim_init(&t->opt, o->optim, t->m->n_params);
  t->opt.weight_decay = o->weight_decay;
  t->opt.momentum = o->momentum;
  t->opt.nesterov = o->nesterov;
  t->opt.beta1 = o->beta1;
  t->opt.beta2 = o->beta2;
  t->opt.eps = o->eps;
  /* every page of the gradients touched now: a sparse gradient's rows would otherwise fault
   * theirs in (the kernel zeroing each) step after step as rows are first used, a cost that grows
   * with the union of the ranks' rows (in a sampled simulation, charged to the sums); a folded
   * replay's are one shared block that nothing writes */
  if (!core_folded()) memset(t->m->grads, 0, (size_t)t->m->n_params * sizeof(float));
  dist_reducer_init(&t->red, t->m->grads, t->m->n_params, hooks_get()->bucket_bytes);
  t->red.sparse_on = o->sparse_reduce == 0;
  t->red.sum_bf16 = o->grad_sum == 1;
  t->red.want_union = o->embed_update == 1;
  int sti[DIST_MAX_SPARSE];
  unsigned char *smk[DIST_MAX_SPARSE];
  for (int k = 0, n = model_sparse_grads(t->m, sti, smk, DIST_MAX_SPARSE); k < n; k++) {
    const model_tensor *T = &t->m->tensors[sti[k]];
    dist_reducer_sparse(&t->red, T->offset, T->dims[0], T->dims[1], smk[k]);
  }
  t->m->grad_ready = grad_ready_cb;
  t->m->grad_arg = &t->red;
  /* the sums in flight moved on during the backward (between time steps, and between the parts
   * of a large product: gemm_progress): with other ranks, or recording a simulation's timeline
   * (a rank of many); one rank alone has no sums, and its products stay whole */
  if (core_world() > 1 || hooks_get()->sim_record) {
    t->m->scratch.poke = poke_cb;
    t->m->scratch.poke_arg = &t->red;
  }
  t->own = xmalloc((size_t)o->B * sizeof(int));
  t->slot = xmalloc((size_t)o->B * sizeof(int));
  for (int i = 0; i < o->B; i++) {
    t->slot[i] = -1;
    if ((i % S) / o->accum == t->rank) t->slot[i] = t->n_own, t->own[t->n_own++] = i;
  }
  t->stream = o->mode == MODE_STREAM;
  if (t->stream) { /* this rank's streams only: its memory stays the same at any world size */
    const size_t state = (size_t)L * (size_t)(t->n_own > 0 ? t->n_own : 1) * (size_t)H;
    t->carry_h = xcalloc(state, sizeof(float));
    t->carry_c = xcalloc(state, sizeof(float));
    t->h0 = xmalloc(state * sizeof(float));
    t->c0 = xmalloc(state * sizeof(float));
  }
  t->ids = xmalloc((size_t)o->B * sizeof(uint64_t));
  t->mine = xmalloc((size_t)o->B * sizeof(uint64_t));
  t->idx = xmalloc((size_t)o->B * sizeof(int));
  ckpt_payload pay = {&t->opt, t->carry_h, t->carry_c, L, o->B, H, t->own, t->n_own, t->slot, NULL};
  t->pay = pay;
  ckpt_counters cnt = {0, 0, INFINITY, t->W};
  double load_s = 0;
  if (t->ckdir) {
    double t0 = core_now();
    ckpt_load_state(t->ckdir, &t->pay, &cnt);
    dist_barrier("loading the checkpoint");
    load_s = core_now() - t0;
    t->start = cnt.step;
  }
  trainer_open_schedule(t);
  t->options = train_opts_text(o); /* what the checkpoints save: the schedule as resolved */
  t->pay.options = t->options;
  t->best_val = cnt.best_val;
  t->bad_total = cnt.bad_total;
  if (!t->ckdir) { /* every rank checks, so the error is printed once */
    char *cp = core_path("%s/checkpoints/latest", o->out);
    if (access(cp, F_OK) == 0)
      recur_fail(o->out, "continue it with --resume, or give another --out",
                 "the run directory already holds checkpoints");
    xfree(cp);
  }
  if (t->rank == 0) {
    mkdir_p(o->out);
    ckpt_cleanup(o->out);
    metrics_open(&t->mt, o->out, t->start, o->quiet);
    /* the checkpoint at the end is committed before the final validation: that validation's
     * loss, which model-best.h5 may hold, is in the metrics of the steps kept */
    if (t->mt.kept_best_val < t->best_val) t->best_val = t->mt.kept_best_val;
    /* every line when --log-every was chosen (here, or by the run being resumed) */
    t->mt.print_every_s =
        TRAIN_GIVEN(o, log_every) || o->log_every != TRAIN_LOG_EVERY ? 0 : TRAIN_PRINT_EVERY_S;
    t->mt.dense_bytes = (double)t->m->n_params * sizeof(float);
    metrics_start(&t->mt, t->start, t->ckdir != NULL, t->W, t->options);
    if (t->ckdir) {
      metrics_resume(&t->mt, t->start, load_s);
      if (!o->quiet)
        train_say("recur: loaded step %lld (optimizer state, carried states) in %.2fs\n",
                  (long long)t->start, load_s);
    }
  }
  dist_barrier("the start of training");
}

/* bf16 or oneDNN: one line on what the CPU gives at this model's recurrent product, a warning
 * when it is slower than OpenBLAS fp32 (the run goes on: the user asked for it). OpenBLAS held
 * below the CPU by OPENBLAS_CORETYPE: one line saying what --gemm onednn gives, when it is at
 * least 1.2x faster (the variable is the machine's choice; recur does not override it). */
static void trainer_say_gemm(const trainer *t) {
  const model_config *mc = &t->m->cfg;
  const int M = t->opts.B / t->W > 0 ? t->opts.B / t->W : 1, H = mc->hidden,
            G = cell_gates(mc->cell);
  double now, blas;
  if (t->gemm_timed || sim_replaying()) return; /* --gemm auto said what it measured */
  if (gemm_current() == GEMM_OPENBLAS) {
    const char *core = gemm_blas_held();
    if (t->rank != 0 || t->opts.quiet || !core) return;
    gemm_use(GEMM_ONEDNN);
    gemm_probe(M, G * H, H, &now, &blas);
    gemm_use(GEMM_OPENBLAS);
    if (now >= 1.2 * blas)
      train_say("recur: OPENBLAS_CORETYPE=%s holds OpenBLAS to its %s kernels on this AVX-512 CPU: "
                "--gemm onednn ran %.0f GFLOP/s against its %.0f at (%dx%d)(%dx%d)\n",
                getenv("OPENBLAS_CORETYPE"), core, now, blas, M, H, H, G * H);
    return;
  }
  gemm_probe(M, G * H, H, &now, &blas);
  if (t->rank != 0 || (t->opts.quiet && now >= blas)) return;
  const char *name = gemm_kernel_names[gemm_current()];
  if (now < blas)
    fprintf(stderr,
            "recur: warning: %s matrix products (oneDNN %s) run at %.0f GFLOP/s here, below "
            "OpenBLAS fp32's %.0f at (%dx%d)(%dx%d): slower on this CPU\n",
            name, gemm_impl(), now, blas, M, H, H, G * H);
  else
    train_say("recur: %s matrix products by oneDNN %s: %.0f GFLOP/s, %.1fx OpenBLAS fp32 at "
              "(%dx%d)(%dx%d)\n",
              name, gemm_impl(), now, now / blas, M, H, H, G * H);
}

/* --gemm auto: rank 0 times OpenBLAS and oneDNN at the model's recurrent product (a slot's rows x
 * H, by H x gates*H) and every rank takes its choice; the saved options record the library taken,
 * so that a resume keeps it. bf16 (which changes the numbers) is named when it would be 1.5x. */
static void trainer_gemm_auto(trainer *t) {
  train_opts *o = &t->opts;
  const int H = o->mc.hidden, G = cell_gates(o->mc.cell), S = t->W * o->accum;
  const int M = o->B / S > 0 ? o->B / S : 1;
  double gf[2] = {0, 0}, bf16 = 0;
  if (sim_replaying()) { /* a replay computes no products (and its clock stands still in them) */
    o->kernel.lib = o->kernel.precision == PRECISION_FP32 ? GEMM_LIB_OPENBLAS : GEMM_LIB_ONEDNN;
    return;
  }
  int lib = GEMM_LIB_ONEDNN; /* bf16 runs on oneDNN */
  if (o->kernel.precision == PRECISION_FP32 && t->rank == 0)
    lib = gemm_fastest(M, G * H, H, gf, &bf16);
  o->kernel.lib = dist_bcast_int(lib, "rank 0's choice of kernel");
  t->gemm_timed = o->kernel.precision == PRECISION_FP32;
  if (t->rank != 0 || o->quiet || !t->gemm_timed) return;
  if (gf[0] == 0) {
    train_say("recur: --gemm auto: openblas (the recurrent product (%dx%d)(%dx%d) is too small to "
              "time)\n",
              M, H, H, G * H);
    return;
  }
  const int won = o->kernel.lib == GEMM_LIB_ONEDNN;
  train_say("recur: --gemm auto: %s, %.0f GFLOP/s against %s's %.0f at (%dx%d)(%dx%d)\n",
            gemm_lib_names[o->kernel.lib], gf[won], gemm_lib_names[!won], gf[!won], M, H, H, G * H);
  if (bf16 >= 1.5 * gf[won])
    train_say("recur: --precision bf16 would run it %.1fx faster here (%.0f GFLOP/s; it rounds the "
              "products' operands to bf16)\n",
              bf16 / gf[won], bf16);
}

void trainer_open(trainer *t, const train_opts *given) {
  memset(t, 0, sizeof *t);
  t->t_open = core_now();
  t->rank = core_rank();
  sim_open(t->rank);
  t->W = core_world();
  gemm_threads_default();
  trainer_open_options(t, given);
  train_opts *o = &t->opts;
  dist_watch_set(o->comm_timeout);
  if (o->kernel.lib == GEMM_LIB_AUTO) trainer_gemm_auto(t);
  gemm_choose(&o->kernel, TRAIN_GIVEN(o, kernel.lib));
  t->ds = dataset_open(o->data);
  const dataset *ds = t->ds;
  if (!t->ckdir) { /* the dataset says what it is for: --task and --mode default to it */
    if (!TRAIN_GIVEN(o, mc.task)) t->opts.mc.task = ds->task;
    if (!TRAIN_GIVEN(o, mode)) t->opts.mode = task_desc_of(o->mc.task)->default_mode;
  }
  if (ds->level == LEVEL_REAL) t->ds->horizon = o->mc.horizon;
  const ds_split *tr = &ds->split[SPLIT_TRAIN];
  if (tr->n_tok == 0)
    recur_fail(o->data, "prepare it with some training text", "the train split is empty");
  if (o->mode == MODE_SEQUENCES && task_is(ds->task)->stream && ds->eos_id < 0 &&
      !strcmp(ds->split_on, "none"))
    if (!o->quiet && t->rank == 0)
      fprintf(stderr, "recur: warning: --mode sequences on an undelimited dataset: each file is "
                      "one sequence\n");
  trainer_open_model(t);
  schedule_init(&t->sc, ds, SPLIT_TRAIN, o->mode, o->shuffle, o->B, o->T, o->max_len, o->seed);
  t->spe = schedule_steps_per_epoch(&t->sc);
  if (t->spe < 1)
    recur_fail(o->data, "lower --batch or --seq-len, or give more text",
               "train split (%llu tokens) is too small for --batch %d x --seq-len %d",
               (unsigned long long)tr->n_tok, o->B, o->T);
  t->total = o->steps > 0 ? o->steps : o->epochs * t->spe;
  if (o->time_budget > 0) { /* until the first fit: the cap, or a length no run reaches */
    t->cap = TRAIN_GIVEN(o, steps) || TRAIN_GIVEN(o, epochs) ? t->total : TRAIN_NO_CAP;
    t->total = t->cap;
    t->fit_sched = !TRAIN_GIVEN(o, lr.total);
    if (t->fit_sched) o->lr.total = 0; /* a resume's saved end is refitted too */
  }
  const int has_val = ds->split[SPLIT_VAL].n_tok > 1;
  if (!has_val && TRAIN_GIVEN(o, eval_every) && o->eval_every > 0)
    recur_fail(o->data, "prepare the dataset with --val F, or leave out --eval-every",
               "--eval-every %lld: the dataset has no validation split", (long long)o->eval_every);
  trainer_open_run(t);
  gemm_params(t->m->params, t->m->n_params);
  trainer_say_gemm(t);
  t->t_ckpt = t->t_eval = core_now();
  if (t->rank == 0 && !o->quiet) {
    const model_config *mc = &t->m->cfg;
    char length[128], val[160];
    if (o->time_budget > 0 && t->cap == TRAIN_NO_CAP)
      snprintf(length, sizeof length, "the steps that fit in %g minutes", o->time_budget);
    else if (o->time_budget > 0)
      snprintf(length, sizeof length, "the steps that fit in %g minutes, at most %lld",
               o->time_budget, (long long)t->cap);
    else if (o->steps > 0)
      snprintf(length, sizeof length, "%lld steps (%.2f epochs of %lld steps)", (long long)t->total,
               (double)t->total / (double)t->spe, (long long)t->spe);
    else
      snprintf(length, sizeof length, "%lld epoch%s of %lld steps = %lld steps",
               (long long)o->epochs, o->epochs == 1 ? "" : "s", (long long)t->spe,
               (long long)t->total);
    if (!has_val)
      snprintf(val, sizeof val, "no validation: %s has no validation split (prepare --val F)",
               o->data);
    else if (o->eval_every > 0 || o->eval_minutes > 0) {
      char steps[48] = "", mins[48] = "";
      if (o->eval_every > 0)
        snprintf(steps, sizeof steps, "%lld steps, ", (long long)o->eval_every);
      if (o->eval_minutes > 0)
        snprintf(mins, sizeof mins, "%g minute%s, ", o->eval_minutes,
                 o->eval_minutes == 1 ? "" : "s");
      snprintf(val, sizeof val, "validation every %s%sand at the end (best: model-best.h5)", steps,
               mins);
    } else
      snprintf(val, sizeof val, "validation at the end (--eval-every N for more)");
    char in[64];
    snprintf(in, sizeof in, mc->n_in > 0 ? "%d features" : "vocab %d",
             mc->n_in > 0 ? mc->n_in : mc->vocab);
    train_say("recur: %s %dx%d (embed %d, %s), %lld parameters; %s mode, global batch %d%s%d, "
              "%d rank(s) x accum %d\n"
              "recur: %s; %s\n",
              cell_names[mc->cell], mc->layers, mc->hidden, mc->embed, in,
              (long long)t->m->n_params, mode_names[o->mode], o->B,
              t->stream ? " x seq-len " : ", max-len ", t->stream ? o->T : o->max_len, t->W,
              o->accum, length, val);
    if (t->start >= t->total)
      train_say("recur: the checkpoint is at step %lld, the run has %lld steps: nothing to do\n",
                (long long)t->start, (long long)t->total);
  }
  if (t->rank == hooks_get()->fail_setup_rank)
    recur_fail(o->data, NULL, "test hook: rank %d alone fails in setup", t->rank);
  core_errors_agreed(0); /* from here on a rank may meet an error alone */
}

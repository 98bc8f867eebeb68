/* bench_dnnl_rnn: the bar for a CPU RNN trainer. oneDNN's fused RNN primitive (what PyTorch 2
 * trains LSTMs with on CPUs: mkldnn_rnn_layer, one primitive per layer) trained through the C API:
 * per step, each layer's forward (training, with its workspace) up the stack, then each layer's
 * backward (data and weights) down it, the weights reordered into the backward's layout as
 * PyTorch does. Only the recurrent stack: no embedding, readout, loss or optimizer, so its
 * tokens/s bound from above what a whole trainer built on it reaches. Data random; one thread.
 *   bench_dnnl_rnn lstm|gru LAYERS HIDDEN INPUT BATCH SEQ f32|bf16 [SECONDS]
 * Prints: cell, shape, precision, steps, tokens/s (BATCH x SEQ per step) and the implementation
 * oneDNN chose. tests/bench/bench_rnn_primitive.sh runs it beside recur. */
#define _POSIX_C_SOURCE 200809L
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OK(x)                                                                                      \
  do {                                                                                             \
    dnnl_status_t s_ = (x);                                                                        \
    if (s_ != dnnl_success) {                                                                      \
      fprintf(stderr, "bench_dnnl_rnn: %s failed (status %d)\n", #x, (int)s_);                     \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t st;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static dnnl_memory_desc_t md(int nd, const dnnl_dims_t d, dnnl_data_type_t dt,
                             dnnl_format_tag_t t) {
  dnnl_memory_desc_t m;
  OK(dnnl_memory_desc_init_by_tag(&m, nd, d, dt, t));
  return m;
}

/* a memory of md filled with small values (zeros where the type is bf16: any bits will do) */
static dnnl_memory_t mem(const dnnl_memory_desc_t *m) {
  dnnl_memory_t x;
  OK(dnnl_memory_create(&x, m, eng, DNNL_MEMORY_ALLOCATE));
  void *p;
  OK(dnnl_memory_get_data_handle(x, &p));
  size_t n = dnnl_memory_desc_get_size(m);
  if (m->data_type == dnnl_f32)
    for (size_t i = 0; i < n / 4; i++) ((float *)p)[i] = 0.01f * (float)((i * 7919) % 13) - 0.06f;
  else
    memset(p, 0, n);
  return x;
}

enum { SRC, SRC_IT, SRC_C, WL, WI, BIAS, DST, DST_IT, DST_C, WS, NFWD };
enum { D_SRC, D_SRC_IT, D_SRC_C, D_WL, D_WI, D_BIAS, D_DST, D_DST_IT, D_DST_C, BWL, BWI, NBWD };

typedef struct {
  dnnl_primitive_t fwd, bwd, rl, ri; /* rl, ri: weights into the backward's layout */
  dnnl_memory_t f[NFWD], b[NBWD];
  const char *impl;
} layer;

static const dnnl_memory_desc_t *q(const_dnnl_primitive_desc_t pd, dnnl_query_t what, int i) {
  return dnnl_primitive_desc_query_md(pd, what, i);
}

static dnnl_primitive_t reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
  dnnl_primitive_desc_t pd;
  OK(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL));
  dnnl_primitive_t p;
  OK(dnnl_primitive_create(&p, pd));
  dnnl_primitive_desc_destroy(pd);
  return p;
}

static layer layer_make(int lstm, int T, int N, int C, int H, dnnl_data_type_t dt) {
  layer l = {0};
  const int G = lstm ? 4 : 3, Gb = lstm ? 4 : 4; /* lbr GRU: a fourth bias, the reset gate's */
  const dnnl_data_type_t f32 = dnnl_f32, wdt = dt;
  dnnl_dims_t src = {T, N, C}, it = {1, 1, N, H}, wl = {1, 1, C, G, H}, wi = {1, 1, H, G, H},
              b = {1, 1, Gb, H}, dst = {T, N, H};
  dnnl_memory_desc_t m_src = md(3, src, dt, dnnl_tnc), m_it = md(4, it, dt, dnnl_ldnc),
                     m_c = md(4, it, f32, dnnl_ldnc), m_wl = md(5, wl, wdt, dnnl_format_tag_any),
                     m_wi = md(5, wi, wdt, dnnl_format_tag_any), m_b = md(4, b, f32, dnnl_ldgo),
                     m_dst = md(3, dst, dt, dnnl_tnc);
  dnnl_rnn_desc_t fd, bd;
  if (lstm)
    OK(dnnl_lstm_forward_desc_init(&fd, dnnl_forward_training, dnnl_unidirectional_left2right,
                                   &m_src, &m_it, &m_c, &m_wl, &m_wi, &m_b, &m_dst, &m_it, &m_c,
                                   0));
  else
    OK(dnnl_lbr_gru_forward_desc_init(&fd, dnnl_forward_training, dnnl_unidirectional_left2right,
                                      &m_src, &m_it, &m_wl, &m_wi, &m_b, &m_dst, &m_it, 0));
  dnnl_primitive_desc_t fpd, bpd;
  OK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
  /* backward: every gradient in f32 (oneDNN's rule for bf16 training too) */
  dnnl_memory_desc_t d_src = md(3, src, f32, dnnl_tnc), d_it = md(4, it, f32, dnnl_ldnc),
                     d_c = md(4, it, f32, dnnl_ldnc), d_wl = md(5, wl, f32, dnnl_format_tag_any),
                     d_wi = md(5, wi, f32, dnnl_format_tag_any), d_b = md(4, b, f32, dnnl_ldgo),
                     d_dst = md(3, dst, f32, dnnl_tnc);
  dnnl_memory_desc_t b_wl = md(5, wl, wdt, dnnl_format_tag_any),
                     b_wi = md(5, wi, wdt, dnnl_format_tag_any);
  if (lstm)
    OK(dnnl_lstm_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &m_src,
                                    &m_it, &m_c, &b_wl, &b_wi, &m_b, &m_dst, &m_it, &m_c, &d_src,
                                    &d_it, &d_c, &d_wl, &d_wi, &d_b, &d_dst, &d_it, &d_c, 0));
  else
    OK(dnnl_lbr_gru_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &m_src,
                                       &m_it, &b_wl, &b_wi, &m_b, &m_dst, &m_it, &d_src, &d_it,
                                       &d_wl, &d_wi, &d_b, &d_dst, &d_it, 0));
  OK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
  OK(dnnl_primitive_create(&l.fwd, fpd));
  OK(dnnl_primitive_create(&l.bwd, bpd));
  const char *impl = "?";
  dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &impl);
  l.impl = impl;
  l.f[SRC] = mem(&m_src), l.f[SRC_IT] = mem(&m_it), l.f[SRC_C] = lstm ? mem(&m_c) : NULL;
  l.f[WL] = mem(q(fpd, dnnl_query_weights_md, 0)), l.f[WI] = mem(q(fpd, dnnl_query_weights_md, 1));
  l.f[BIAS] = mem(&m_b), l.f[DST] = mem(&m_dst), l.f[DST_IT] = mem(&m_it);
  l.f[DST_C] = lstm ? mem(&m_c) : NULL;
  l.f[WS] = mem(q(fpd, dnnl_query_workspace_md, 0));
  l.b[BWL] = mem(q(bpd, dnnl_query_weights_md, 0)),
  l.b[BWI] = mem(q(bpd, dnnl_query_weights_md, 1));
  l.b[D_SRC] = mem(&d_src), l.b[D_SRC_IT] = mem(&d_it), l.b[D_SRC_C] = lstm ? mem(&d_c) : NULL;
  l.b[D_WL] = mem(q(bpd, dnnl_query_diff_weights_md, 0));
  l.b[D_WI] = mem(q(bpd, dnnl_query_diff_weights_md, 1));
  l.b[D_BIAS] = mem(&d_b), l.b[D_DST] = mem(&d_dst), l.b[D_DST_IT] = mem(&d_it);
  l.b[D_DST_C] = lstm ? mem(&d_c) : NULL;
  l.rl = reorder(q(fpd, dnnl_query_weights_md, 0), q(bpd, dnnl_query_weights_md, 0));
  l.ri = reorder(q(fpd, dnnl_query_weights_md, 1), q(bpd, dnnl_query_weights_md, 1));
  /* the primitive descs stay alive with their primitives (impl is theirs) */
  return l;
}

static void run(dnnl_primitive_t p, int n, const int *args, const dnnl_memory_t *mems) {
  dnnl_exec_arg_t a[24];
  int k = 0;
  for (int i = 0; i < n; i++)
    if (mems[i]) a[k].arg = args[i], a[k].memory = mems[i], k++;
  OK(dnnl_primitive_execute(p, st, k, a));
}

static void forward(layer *l) {
  static const int A[NFWD] = {DNNL_ARG_SRC_LAYER,     DNNL_ARG_SRC_ITER,     DNNL_ARG_SRC_ITER_C,
                              DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS,
                              DNNL_ARG_DST_LAYER,     DNNL_ARG_DST_ITER,     DNNL_ARG_DST_ITER_C,
                              DNNL_ARG_WORKSPACE};
  run(l->fwd, NFWD, A, l->f);
}

static void backward(layer *l) {
  dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, l->f[WL]}, {DNNL_ARG_TO, l->b[BWL]}};
  OK(dnnl_primitive_execute(l->rl, st, 2, r));
  r[0].memory = l->f[WI], r[1].memory = l->b[BWI];
  OK(dnnl_primitive_execute(l->ri, st, 2, r));
  static const int A[] = {
      DNNL_ARG_SRC_LAYER,       DNNL_ARG_SRC_ITER,           DNNL_ARG_SRC_ITER_C,
      DNNL_ARG_WEIGHTS_LAYER,   DNNL_ARG_WEIGHTS_ITER,       DNNL_ARG_BIAS,
      DNNL_ARG_DST_LAYER,       DNNL_ARG_DST_ITER,           DNNL_ARG_DST_ITER_C,
      DNNL_ARG_WORKSPACE,       DNNL_ARG_DIFF_SRC_LAYER,     DNNL_ARG_DIFF_SRC_ITER,
      DNNL_ARG_DIFF_SRC_ITER_C, DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER,
      DNNL_ARG_DIFF_BIAS,       DNNL_ARG_DIFF_DST_LAYER,     DNNL_ARG_DIFF_DST_ITER,
      DNNL_ARG_DIFF_DST_ITER_C};
  const dnnl_memory_t m[] = {l->f[SRC],    l->f[SRC_IT],   l->f[SRC_C],    l->b[BWL],    l->b[BWI],
                             l->f[BIAS],   l->f[DST],      l->f[DST_IT],   l->f[DST_C],  l->f[WS],
                             l->b[D_SRC],  l->b[D_SRC_IT], l->b[D_SRC_C],  l->b[D_WL],   l->b[D_WI],
                             l->b[D_BIAS], l->b[D_DST],    l->b[D_DST_IT], l->b[D_DST_C]};
  run(l->bwd, (int)(sizeof A / sizeof A[0]), A, m);
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr,
            "usage: bench_dnnl_rnn lstm|gru LAYERS HIDDEN INPUT BATCH SEQ f32|bf16 [SECONDS]\n");
    return 2;
  }
  const int lstm = !strcmp(argv[1], "lstm"), L = atoi(argv[2]), H = atoi(argv[3]),
            C = atoi(argv[4]), N = atoi(argv[5]), T = atoi(argv[6]);
  const dnnl_data_type_t dt = !strcmp(argv[7], "bf16") ? dnnl_bf16 : dnnl_f32;
  const double secs = argc > 8 ? atof(argv[8]) : 10;
  OK(dnnl_engine_create(&eng, dnnl_cpu, 0));
  OK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
  layer *ls = calloc((size_t)L, sizeof(layer));
  for (int i = 0; i < L; i++) ls[i] = layer_make(lstm, T, N, i ? H : C, H, dt);
  for (int w = 0; w < 2; w++) { /* warm-up: the JIT kernels, the first touches */
    for (int i = 0; i < L; i++) forward(&ls[i]);
    for (int i = L - 1; i >= 0; i--) backward(&ls[i]);
  }
  dnnl_stream_wait(st);
  int steps = 0;
  double t0 = now(), t;
  do {
    for (int i = 0; i < L; i++) forward(&ls[i]);
    for (int i = L - 1; i >= 0; i--) backward(&ls[i]);
    dnnl_stream_wait(st);
    steps++;
  } while ((t = now() - t0) < secs);
  printf("oneDNN %s %dx%d input %d, batch %d x seq %d, %s: %d steps, %.0f tokens/s (forward + "
         "backward of the recurrent stack) [%s]\n",
         lstm ? "lstm" : "lbr_gru", L, H, C, N, T, argv[7], steps, (double)steps * N * T / t,
         ls[0].impl);
  return 0;
}

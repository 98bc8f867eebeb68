/* prepare: text -> dataset, the driver (see prepare-impl.h for the parts): inputs, the split
 * plan, the two passes (shared by ranks under mpirun: each takes a range of the input files), the
 * index file of a shard set. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "prepare-impl.h"
#include "recur/dist.h"
#include "recur/infile.h"

const char *const seg_mode_names[SEG_COUNT + 1] = {"none", "line",      "paragraph",
                                                   "file", "separator", NULL};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The input files in the order read: directories recursively in sorted order, each file (and
 * directory) once by device and inode, so a symlink or hard link to a file already read is not
 * read again (it would put the same text in two splits) and a link back up a tree does not loop. */
typedef struct {
  char **files;
  int nf;
  struct {
    dev_t dev;
    ino_t ino;
    const char *as; /* the name it was first read under (files only) */
  } * seen;
  int nseen;
  char *skipped; /* "B (= A), ..." */
  size_t skipped_len;
  int nskipped;
} input_list;

/* the name under which (dev, ino) was seen, "" for a directory; NULL when new (then recorded) */
static const char *input_seen(input_list *L, const struct stat *st, const char *as) {
  for (int i = 0; i < L->nseen; i++)
    if (L->seen[i].dev == st->st_dev && L->seen[i].ino == st->st_ino)
      return L->seen[i].as ? L->seen[i].as : "";
  L->seen = xrealloc(L->seen, (size_t)(L->nseen + 1) * sizeof *L->seen);
  L->seen[L->nseen].dev = st->st_dev;
  L->seen[L->nseen].ino = st->st_ino;
  L->seen[L->nseen++].as = as;
  return NULL;
}

static void add_input(input_list *L, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) recur_fail(path, NULL, "cannot open input: %s", strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    if (input_seen(L, &st, NULL)) return; /* a link to a directory being read or read */
    DIR *d = opendir(path);
    if (!d) recur_fail(path, NULL, "cannot read directory: %s", strerror(errno));
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      names = xrealloc(names, (size_t)(n + 1) * sizeof(char *));
      size_t len = strlen(path) + strlen(e->d_name) + 2;
      names[n] = xmalloc(len);
      snprintf(names[n], len, "%s/%s", path, e->d_name);
      n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    for (int i = 0; i < n; i++) {
      add_input(L, names[i]);
      xfree(names[i]);
    }
    xfree(names);
    return;
  }
  if (!S_ISREG(st.st_mode)) return;
  char *mine = xstrdup(path);
  const char *first = input_seen(L, &st, mine);
  if (first) { /* the same file under another name */
    size_t need = strlen(path) + strlen(first) + 16;
    L->skipped = xrealloc(L->skipped, L->skipped_len + need);
    L->skipped_len += (size_t)snprintf(L->skipped + L->skipped_len, need, "%s%s (= %s)",
                                       L->nskipped++ ? ", " : "", path, first);
    xfree(mine);
    return;
  }
  L->files = xrealloc(L->files, (size_t)(L->nf + 1) * sizeof(char *));
  L->files[L->nf++] = mine;
}

/* Standard input is copied to a spool file next to the output (two passes need to read it twice);
 * messages name it as the user gave it. */
#define SPOOL_MARK ".stdin-"
const char *prep_input_name(const char *path) {
  return strstr(path, SPOOL_MARK) ? "standard input" : path;
}

static char *spool_stdin(const char *out) {
  size_t len = strlen(out) + 32;
  char *path = xmalloc(len);
  snprintf(path, len, "%s" SPOOL_MARK "%d", out, (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    recur_fail(path, "check that the output directory exists and is writable",
               "cannot create spool file for stdin");
  core_tempfile_add(path);
  char *buf = xmalloc(READ_BLOCK);
  ssize_t r;
  while ((r = read(0, buf, READ_BLOCK)) > 0)
    if (write(fd, buf, (size_t)r) != r)
      recur_fail(path, "is the disk full?", "cannot write spool file");
  xfree(buf);
  close(fd);
  return path;
}

/* Which split each sequence goes to, over all n_seq sequences (a pure function of the seed):
 * counts per split, and when a requested split drew nothing, the train sequences with the
 * smallest draws are moved there. */
static void plan_splits(prep *p) {
  const prepare_opts *o = p->o;
  uint64_t best[2] = {UINT64_MAX, UINT64_MAX};
  float bu[2] = {2.0f, 2.0f};
  p->force_val = p->force_test = UINT64_MAX;
  memset(p->split_seq, 0, sizeof p->split_seq);
  for (uint64_t i = 0; i < p->n_seq; i++) {
    int s = prep_split_of_seq(p, i);
    p->split_seq[s]++;
    if (s != SPLIT_TRAIN) continue;
    float u = split_draw(p, i);
    if (u < bu[0]) {
      bu[1] = bu[0];
      best[1] = best[0];
      bu[0] = u;
      best[0] = i;
    } else if (u < bu[1]) {
      bu[1] = u;
      best[1] = i;
    }
  }
  if (p->val > 0 && p->split_seq[SPLIT_VAL] == 0) p->force_val = best[0];
  if (o->test > 0 && p->split_seq[SPLIT_TEST] == 0)
    p->force_test = p->force_val == UINT64_MAX ? best[0] : best[1];
  if ((p->val > 0 && p->split_seq[SPLIT_VAL] == 0 && p->force_val == UINT64_MAX) ||
      (o->test > 0 && p->split_seq[SPLIT_TEST] == 0 && p->force_test == UINT64_MAX))
    recur_fail(o->out, "give more sequences or set --val/--test to 0",
               "too few sequences (%llu) for the requested splits", (unsigned long long)p->n_seq);
}

/* the first line start at or after byte g of the inputs laid end to end (sz: their sizes) */
static uint64_t line_start_at(char **files, const uint64_t *sz, int nf, uint64_t g) {
  uint64_t cum = 0;
  int f = 0;
  while (f < nf && cum + sz[f] <= g) cum += sz[f++];
  if (f == nf || g == cum) return g;
  int fd = open(files[f], O_RDONLY);
  if (fd < 0) recur_fail(prep_input_name(files[f]), NULL, "cannot open input: %s", strerror(errno));
  unsigned char buf[65536];
  uint64_t at = g - cum - 1; /* a line starts at g when byte g - 1 is a newline */
  if (lseek(fd, (off_t)at, SEEK_SET) < 0)
    recur_fail(prep_input_name(files[f]), NULL, "cannot seek in input: %s", strerror(errno));
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0)
      recur_fail(prep_input_name(files[f]), NULL, "cannot read input: %s", strerror(errno));
    if (r == 0) break;
    unsigned char *nl = memchr(buf, '\n', (size_t)r);
    if (nl) {
      close(fd);
      return cum + at + (uint64_t)(nl - buf) + 1;
    }
    at += (uint64_t)r;
  }
  close(fd);
  return cum + sz[f];
}

/* This rank's pieces of the inputs, in input order. Line-delimited text is cut into equal byte
 * ranges moved to the next line start (one big file is shared too); other modes give each rank
 * whole files, contiguous runs of about equal bytes (a sequence never spans two ranks' shards). */
static prep_piece *my_pieces(prep *p, char **files, int nf, int *np) {
  uint64_t total = 0, cum = 0;
  struct stat st;
  uint64_t *sz = xmalloc((size_t)nf * sizeof(uint64_t));
  for (int i = 0; i < nf; i++) {
    sz[i] = stat(files[i], &st) == 0 ? (uint64_t)st.st_size : 0;
    total += sz[i];
  }
  prep_piece *pc = xmalloc((size_t)(nf > 0 ? nf : 1) * sizeof(prep_piece));
  int n = 0, packed = 0; /* a compressed file cannot be cut: whole files go to the ranks */
  for (int i = 0; i < nf && p->world > 1 && p->mode == SEG_LINE; i++)
    packed |= infile_kind_of(files[i]) != INFILE_PLAIN;
  if (p->world == 1 || p->mode != SEG_LINE || !task_is(p->o->task)->stream || packed) {
    for (int i = 0; i < nf; i++) {
      uint64_t mid = cum + sz[i] / 2;
      int r = total ? (int)((double)mid * p->world / (double)total) : 0;
      if (r >= p->world) r = p->world - 1;
      if (r == p->rank) pc[n++] = (prep_piece){i, 0, sz[i], sz[i]};
      cum += sz[i];
    }
  } else {
    uint64_t lo = p->rank == 0 ? 0
                               : line_start_at(files, sz, nf,
                                               (uint64_t)((double)total * p->rank / p->world)),
             hi = p->rank + 1 == p->world
                      ? total
                      : line_start_at(files, sz, nf,
                                      (uint64_t)((double)total * (p->rank + 1) / p->world));
    for (int i = 0; i < nf; cum += sz[i++]) {
      uint64_t a = lo > cum ? lo - cum : 0, b = hi < cum + sz[i] ? hi - cum : sz[i];
      if (hi > cum && lo < cum + sz[i] && a < b)
        pc[n++] = (prep_piece){i, a, b, sz[i]};
      else if (sz[i] == 0 && lo <= cum && cum < hi)
        pc[n++] = (prep_piece){i, 0, 0, 0};
    }
  }
  xfree(sz);
  *np = n;
  return pc;
}

static void shard_free(shard *s) {
  if (!s) return;
  xfree(s->tmp);
  xfree(s->final);
  xfree(s);
}

static void prep_free(prep *p) {
  for (int i = 0; i < p->n_done; i++) shard_free(p->done[i]);
  xfree(p->done);
  shard_free(p->sh);
  for (int i = 0; i < (p->sharded ? p->n_shards : 0); i++) xfree(p->shard_names[i]);
  xfree(p->shard_names);
  for (int64_t i = 0; i < p->vocab_size; i++) xfree(p->vocab[i]);
  xfree(p->vocab);
  xfree(p->glue);
  xfree(p->side.glue);
  tokenizer_free(&p->tok);
  if (p->spm) spm_free(p->spm);
  if (p->side.spm) spm_free(p->side.spm);
  for (int64_t i = 0; i < p->n_out; i++) xfree(p->out_names[i]);
  xfree(p->out_names);
  xfree(p->line_tags);
  prep_cond_free(p->cond);
  xfree(p->src_ids);
  xfree(p->cp_id);
  xfree(p->cp_count);
  prep_wt_free(&p->words);
  for (int64_t i = 0; i < p->side.vocab_size; i++) xfree(p->side.vocab[i]);
  xfree(p->side.vocab);
  xfree(p->side.cp_id);
  xfree(p->side.cp_count);
  prep_wt_free(&p->side.words);
  prep_wt_free(&p->outs);
  xfree(p);
}

/* the input list, and standard input's spool file */
static void drop_inputs(char **files, int nf) {
  for (int i = 0; i < nf; i++) {
    if (strstr(files[i], SPOOL_MARK)) {
      unlink(files[i]);
      core_tempfile_forget(files[i]);
    }
    xfree(files[i]);
  }
  xfree(files);
}

/* the flags' combinations (before any input is read) */
static void prep_check_flags(const prepare_opts *o) {
  if ((o->max_len > 0 || o->strict) && !task_is(o->task)->source)
    recur_usage_fail("--max-len and --strict cut or refuse the sides of seq2seq lines",
                     "--max-len needs --task seq2seq");
  if (o->cond_features && !task_is(o->task)->label_cond && !task_is(o->task)->source)
    recur_usage_fail("a vector per sequence conditions its text (condlm), or frames are its source "
                     "(seq2seq): lines id<TAB>text",
                     "--cond-features needs --task condlm or seq2seq");
  if (o->cond_features && (o->separate_vocab || o->max_len > 0))
    recur_usage_fail("the sources are the features' frames: no source vocabulary, nothing to cut",
                     "--cond-features with --%s", o->separate_vocab ? "separate-vocab" : "max-len");
  if ((o->label_column || o->tag_column) && o->level != LEVEL_REAL)
    recur_usage_fail("text takes its labels and tags from the line (--task classify, tag)",
                     "--label-column and --tag-column are for --level real");
  if (o->strict && o->max_len <= 0) recur_usage_fail(NULL, "--strict needs --max-len N");
  if (o->separate_vocab && (!task_is(o->task)->source || o->vocab_from))
    recur_usage_fail("a vocabulary for the sources is a seq2seq dataset's (and not with --vocab)",
                     "--separate-vocab needs --task seq2seq and no --vocab");
}

/* several ranks split the input files between them, except for stdin and for labelled input
 * (rank 0 then does it all); returns 0 on a rank with nothing to do */
static int prep_share(prep *p) {
  const prepare_opts *o = p->o;
  int use_stdin = 0;
  for (int i = 0; i < o->n_inputs; i++) use_stdin |= strcmp(o->inputs[i], "-") == 0;
  p->rank = core_rank();
  p->world = core_world();
  if (p->world > 1 && (use_stdin || !task_is(o->task)->stream || o->level == LEVEL_REAL)) {
    if (p->rank != 0) return 0;
    if (!o->quiet)
      fprintf(stderr, "recur: note: %s: rank 0 prepares alone\n",
              use_stdin ? "standard input" : "labels and tags are counted on one rank");
    p->world = 1;
  }
  p->sharded = o->shard_tokens > 0 || p->world > 1;
  return 1;
}

/* the input paths (directories expanded, stdin spooled to a file), *n of them */
static char **prep_inputs(const prepare_opts *o, int *n) {
  input_list L = {0};
  for (int i = 0; i < o->n_inputs; i++) {
    if (strcmp(o->inputs[i], "-") == 0) {
      char *sp = spool_stdin(o->out);
      add_input(&L, sp);
      xfree(sp);
    } else {
      add_input(&L, o->inputs[i]);
    }
  }
  if (L.nf == 0) recur_fail(o->inputs[0], NULL, "no input files found");
  if (L.nskipped && !o->quiet && core_rank() == 0)
    fprintf(stderr, "recur: skipped %d file%s already read under another name: %s\n", L.nskipped,
            L.nskipped == 1 ? "" : "s", L.skipped);
  xfree(L.skipped);
  xfree(L.seen); /* its names are the files' own */
  *n = L.nf;
  return L.files;
}

/* pass 1: the counts of this rank's pieces, summed over the ranks (and each rank's first sequence
 * and token) */
static void prep_count(prep *p, char **files, prep_piece *pcs, int npc) {
  const prepare_opts *o = p->o;
  if (o->cond_features) p->cond = prep_cond_load(o->cond_features, task_is(o->task)->source);
  p->pass = 1;
  if (o->level == LEVEL_CHAR) p->cp_count = xcalloc(MAX_CP, sizeof(uint64_t));
  if (o->level == LEVEL_CHAR && o->separate_vocab)
    p->side.cp_count = xcalloc(MAX_CP, sizeof(uint64_t));
  if (o->level == LEVEL_SPM) prep_spm_spool(p, 0);
  prep_pass_over(p, files, pcs, npc);
  if (p->world > 1) {
    uint64_t mine[3] = {p->n_seq, p->n_tok, p->n_content}, base[3] = {0, 0, 0}, all[3];
    const char *counts = "the other ranks' counts of their parts";
    DIST_WAIT(counts, MPI_Exscan(mine, base, 3, MPI_UINT64_T, MPI_SUM, core_comm()));
    DIST_WAIT(counts, MPI_Allreduce(mine, all, 3, MPI_UINT64_T, MPI_SUM, core_comm()));
    if (p->rank == 0) base[0] = base[1] = 0;
    p->seq_base = base[0];
    p->tok_base = base[1];
    p->n_seq = all[0];
    p->n_tok = all[1];
    p->n_content = all[2];
    if (o->level == LEVEL_CHAR)
      DIST_WAIT(counts, MPI_Allreduce(MPI_IN_PLACE, p->cp_count, MAX_CP, MPI_UINT64_T, MPI_SUM,
                                      core_comm()));
    if (o->level == LEVEL_BYTE)
      DIST_WAIT(counts, MPI_Allreduce(MPI_IN_PLACE, p->byte_count, 256, MPI_UINT64_T, MPI_SUM,
                                      core_comm()));
    if (o->level == LEVEL_WORD && !o->vocab_from) prep_words_allmerge(p);
  }
}

/* label or tag names, sorted; ids are their indices */
static void prep_out_names(prep *p) {
  uint64_t n;
  wentry **all = prep_wt_sorted(&p->outs, 0, &n);
  p->out_names = xmalloc((n + 1) * sizeof(char *));
  for (uint64_t i = 0; i < n; i++) {
    all[i]->id = (int32_t)i;
    p->out_names[i] = xstrdup(p->outs.arena + all[i]->off);
  }
  p->n_out = (int64_t)n;
  xfree(all);
  if (n < 1) recur_fail(p->o->out, NULL, "no labels or tags found");
}

/* which sequences (or which tail of an undelimited stream) are val and test */
static void prep_plan(prep *p) {
  const prepare_opts *o = p->o;
  p->val = o->val;
  if (!o->val_given &&
      (p->mode != SEG_NONE ? p->n_seq < PREPARE_VAL_MIN_SEQ : p->n_tok < PREPARE_VAL_MIN_TOK))
    p->val = 0; /* the default fraction only where it leaves a useful training split */
  if (p->mode != SEG_NONE) {
    plan_splits(p);
  } else { /* an undelimited stream: val and test are its tail */
    uint64_t nt = (uint64_t)((double)p->n_tok * o->test),
             nv = (uint64_t)((double)p->n_tok * p->val);
    if (o->test > 0 && nt == 0) nt = 1;
    if (p->val > 0 && nv == 0) nv = 1;
    if (nt + nv >= p->n_tok)
      recur_fail(o->out, "give more text or smaller --val/--test",
                 "too little text (%llu tokens) for the requested splits",
                 (unsigned long long)p->n_tok);
    p->cut[1] = p->n_tok - nt;
    p->cut[0] = p->cut[1] - nv;
  }
}

/* pass 2: encode and write, this rank's sequences from global index seq_base on */
static void prep_encode(prep *p, char **files, prep_piece *pcs, int npc) {
  p->pass = 2;
  p->n_seq = p->seq_base;
  p->gpos = p->tok_base;
  p->n_content = 0;
  if (p->mode == SEG_NONE)
    p->cur_split = p->gpos < p->cut[0] ? SPLIT_TRAIN : p->gpos < p->cut[1] ? SPLIT_VAL : SPLIT_TEST;
  else
    p->cur_split = prep_split_of_seq(p, p->seq_base);
  prep_shard_open(p);
  prep_update_limit(p);
  if (p->spm) prep_spm_spool(p, 1);
  prep_pass_over(p, files, pcs, npc);
  if (p->spm) prep_spm_spool(p, -1);
  prep_shard_close(p);
}

/* tokens, then sequences, per split in this rank's shards */
static void prep_split_counts(const prep *p, uint64_t cnt[2 * SPLIT_COUNT]) {
  for (int i = 0; i < p->n_done; i++)
    for (int k = 0; k < SPLIT_COUNT; k++) {
      cnt[k] += p->done[i]->w[k].ntok;
      cnt[SPLIT_COUNT + k] += p->done[i]->w[k].nseq;
    }
  for (int k = 0; k < SPLIT_COUNT; k++) {
    cnt[k] += p->sh->w[k].ntok;
    cnt[SPLIT_COUNT + k] += p->sh->w[k].nseq;
  }
}

/* sharded output: every rank's shards committed together, then rank 0's index file naming them
 * with the splits' counts (summed over the ranks into cnt) */
static void prep_commit_shards(prep *p, uint64_t cnt[2 * SPLIT_COUNT]) {
  const prepare_opts *o = p->o;
  /* every rank's shard names, in rank order, to rank 0 */
  char *names = NULL;
  int nlen = 0, *lens = NULL, *displs = NULL, total = 0;
  for (int i = 0; i < p->n_shards; i++) {
    int l = (int)strlen(p->shard_names[i]) + 1;
    names = xrealloc(names, (size_t)(nlen + l));
    memcpy(names + nlen, p->shard_names[i], (size_t)l);
    nlen += l;
  }
  char *alln = NULL;
  if (p->world > 1) {
    const char *what = "the other ranks' shards";
    DIST_WAIT(what, MPI_Allreduce(MPI_IN_PLACE, cnt, 2 * SPLIT_COUNT, MPI_UINT64_T, MPI_SUM,
                                  core_comm()));
    lens = xmalloc((size_t)p->world * sizeof(int));
    displs = xmalloc((size_t)p->world * sizeof(int));
    DIST_WAIT(what, MPI_Gather(&nlen, 1, MPI_INT, lens, 1, MPI_INT, 0, core_comm()));
    for (int r = 0; r < p->world && p->rank == 0; r++) {
      displs[r] = total;
      total += lens[r];
    }
    alln = xmalloc((size_t)(total > 0 ? total : 1));
    DIST_WAIT(what,
              MPI_Gatherv(names, nlen, MPI_CHAR, alln, lens, displs, MPI_CHAR, 0, core_comm()));
  } else {
    alln = names;
    total = nlen;
    names = NULL;
  }
  /* every shard is complete on every rank before any becomes visible */
  dist_barrier("the other ranks' shards");
  for (int i = 0; i < p->n_done; i++) core_commit(p->done[i]->tmp, p->done[i]->final);
  core_commit(p->sh->tmp, p->sh->final);
  dist_barrier("the other ranks' shards");
  if (p->rank == 0) {
    int ns = 0;
    char **list = NULL;
    for (int off = 0; off < total; off += (int)strlen(alln + off) + 1) {
      list = xrealloc(list, (size_t)(ns + 1) * sizeof(char *));
      list[ns++] = alln + off;
    }
    char *tmp = core_path("%s.tmp-%d", o->out, (int)getpid());
    hid_t f =
        h5_create(tmp, "output file", "check that the output directory exists and is writable");
    core_tempfile_add(tmp);
    prep_write_metadata(p, f);
    h5_write_strings(f, "shards", list, ns);
    for (int k = 0; k < SPLIT_COUNT; k++) {
      hid_t g = H5Gcreate2(f, ds_split_names[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      h5_attr_set_i64(g, "n_sequences", (int64_t)cnt[SPLIT_COUNT + k]);
      h5_attr_set_i64(g, "n_tokens", (int64_t)cnt[k]);
      H5Gclose(g);
    }
    h5_close_file(f, tmp);
    core_commit(tmp, o->out);
    xfree(tmp);
    xfree(list);
  }
  xfree(names);
  xfree(alln);
  xfree(lens);
  xfree(displs);
}

/* what was written, on stdout */
static void prep_report(const prep *p, const uint64_t cnt[2 * SPLIT_COUNT]) {
  const prepare_opts *o = p->o;
  printf("wrote %s: %s level, vocabulary %lld, train %llu seq / %llu tok, val %llu / %llu, test "
         "%llu / %llu%s\n",
         o->out, ds_level_names[o->level], (long long)p->vocab_size, (unsigned long long)cnt[3],
         (unsigned long long)cnt[0], (unsigned long long)cnt[4], (unsigned long long)cnt[1],
         (unsigned long long)cnt[5], (unsigned long long)cnt[2],
         p->sharded ? (p->world > 1 ? " (sharded by rank)" : " (sharded)") : "");
  if (p->n_cut[0] + p->n_cut[1] > 0)
    printf("  cut at --max-len %lld: %llu sources, %llu targets (--strict refuses them)\n",
           (long long)o->max_len, (unsigned long long)p->n_cut[0], (unsigned long long)p->n_cut[1]);
  if (!o->val_given && p->val > 0)
    printf("  validation split: --val %g (the default; --val 0 for none)\n", p->val);
  else if (!o->val_given)
    printf("  no validation split: the input is small (under %d sequences or %d tokens), so the "
           "default --val %s was not applied; --val F makes one\n",
           PREPARE_VAL_MIN_SEQ, PREPARE_VAL_MIN_TOK, PREPARE_VAL_DEFAULT);
}

void prepare_run(const prepare_opts *o) {
  h5_init();
  prep_check_flags(o);
  prep *p = xcalloc(1, sizeof(prep));
  p->o = o;
  p->tok.level = o->level;
  p->tok.ctx = p;
  p->tok.on_run = prep_tok_run;
  p->tok.on_char = prep_tok_char;
  p->tok.on_word = prep_tok_word;
  p->tok.on_error = prep_tok_fail;
  p->mode = o->split_on;
  p->delimited = p->mode != SEG_NONE;
  if (!task_is(o->task)
           ->stream) { /* classify/tag: one sequence per line, no <eos>; condlm: with one */
    p->mode = SEG_LINE;
    p->delimited = task_is(o->task)->label_cond || task_is(o->task)->source;
  }
  p->split_key = rng_key(o->seed, RNG_SPLIT, 0, 0, 0);
  p->side_left = UINT64_MAX;
  if (!prep_share(p)) {
    xfree(p);
    return;
  }
  int nf = 0;
  char **files = prep_inputs(o, &nf);
  if (o->level == LEVEL_REAL) { /* numbers, not text: prepare_real.c */
    prep_real_run(o, files, nf);
    drop_inputs(files, nf);
    prep_free(p);
    return;
  }
  int npc = 0;
  prep_piece *pcs = my_pieces(p, files, nf, &npc);
  if (o->level == LEVEL_SPM) prep_spm_setup(p, files, nf); /* the model before the first pass */
  prep_count(p, files, pcs, npc);
  if (p->n_content == 0)
    recur_fail(nf == 1 ? prep_input_name(files[0]) : o->inputs[0],
               "give a file with some text in it", "input is empty: no text found");
  prep_build_vocab(p);
  prep_build_src_vocab(p);
  if (task_has_names(o->task) && !p->cond) prep_out_names(p);
  prep_plan(p);
  prep_encode(p, files, pcs, npc);
  xfree(pcs);
  uint64_t cnt[2 * SPLIT_COUNT] = {0};
  prep_split_counts(p, cnt);
  if (p->sharded) {
    prep_commit_shards(p, cnt);
  } else {
    prep_write_metadata(p, p->sh->f);
    h5_close_file(p->sh->f, p->sh->tmp);
    core_commit(p->sh->tmp, o->out);
  }
  drop_inputs(files, nf);
  if (!o->quiet && p->rank == 0) prep_report(p, cnt);
  prep_free(p);
}

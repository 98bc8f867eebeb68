/* infile: compressed inputs read as text (see infile.h): a stdio stream whose read decompresses
 * (glibc's fopencookie), so every reader of prepare takes them alike. */
#define _GNU_SOURCE
#include "recur/infile.h"

#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "recur/core.h"

const char *const infile_kind_names[] = {"plain", "gzip", "xz", "zstd", NULL};

enum infile_kind infile_kind_of(const char *path) {
  unsigned char m[6] = {0};
  struct stat st; /* a pipe or a terminal is read as it is: peeking would eat its first bytes */
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return INFILE_PLAIN;
  FILE *f = fopen(path, "rb");
  if (!f) return INFILE_PLAIN;
  size_t n = fread(m, 1, sizeof m, f);
  fclose(f);
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return INFILE_GZIP;
  if (n >= 6 && !memcmp(m,
                        "\xFD"
                        "7zXZ\0",
                        6))
    return INFILE_XZ;
  if (n >= 4 && m[0] == 0x28 && m[1] == 0xB5 && m[2] == 0x2F && m[3] == 0xFD) return INFILE_ZSTD;
  return INFILE_PLAIN;
}

#define IN_BLOCK (1 << 20)
typedef struct {
  enum infile_kind kind;
  char *path;
  FILE *in; /* xz, zstd: the compressed bytes */
  z_stream gz;
  lzma_stream xz;
  ZSTD_DStream *zs;
  unsigned char *ibuf;
  size_t ilen, ipos;
  uint64_t consumed; /* compressed bytes taken */
  int in_eof, done, last_ret;
} infile;

static _Noreturn void damaged(infile *c, uint64_t at, const char *why) {
  recur_fail(c->path,
             "the file is damaged or cut short: compress it again, or give it uncompressed",
             "%s stream: %s at compressed byte %llu", infile_kind_names[c->kind], why,
             (unsigned long long)at);
}

/* more compressed input into ibuf (when it is used up); 0 at its end */
static int refill(infile *c) {
  if (c->ipos < c->ilen) return 1;
  if (c->in_eof) return 0;
  c->ilen = fread(c->ibuf, 1, IN_BLOCK, c->in);
  c->ipos = 0;
  if (c->ilen == 0) c->in_eof = 1;
  return c->ilen > 0;
}

/* gzip: members one after another (as gzip -d reads them); input that ends inside one is an error
 */
static ssize_t read_gz(infile *c, char *buf, size_t size) {
  c->gz.next_out = (Bytef *)buf;
  c->gz.avail_out = (uInt)(size > UINT32_MAX ? UINT32_MAX : size);
  const uInt want = c->gz.avail_out;
  while (c->gz.avail_out > 0) {
    if (!refill(c)) {
      if (c->last_ret) damaged(c, c->consumed, "unexpected end");
      break;
    }
    if (c->done) { /* a member ended and more input follows: the next member */
      inflateReset(&c->gz);
      c->done = 0;
    }
    c->gz.next_in = c->ibuf + c->ipos;
    c->gz.avail_in = (uInt)(c->ilen - c->ipos);
    int r = inflate(&c->gz, Z_NO_FLUSH);
    size_t used = (c->ilen - c->ipos) - c->gz.avail_in;
    c->ipos += used;
    c->consumed += used;
    if (r == Z_STREAM_END) {
      c->done = 1;
      c->last_ret = 0;
    } else if (r == Z_OK || (r == Z_BUF_ERROR && used == 0 && c->gz.avail_out > 0)) {
      c->last_ret = 1; /* inside a member */
    } else {
      damaged(c, c->consumed, c->gz.msg ? c->gz.msg : "corrupt data");
    }
  }
  return (ssize_t)(want - c->gz.avail_out);
}

static ssize_t read_xz(infile *c, char *buf, size_t size) {
  c->xz.next_out = (uint8_t *)buf;
  c->xz.avail_out = size;
  while (c->xz.avail_out > 0 && !c->done) {
    int more = refill(c);
    c->xz.next_in = c->ibuf + c->ipos;
    c->xz.avail_in = c->ilen - c->ipos;
    lzma_ret r = lzma_code(&c->xz, more ? LZMA_RUN : LZMA_FINISH);
    size_t used = (c->ilen - c->ipos) - c->xz.avail_in;
    c->ipos += used;
    c->consumed += used;
    if (r == LZMA_STREAM_END)
      c->done = 1;
    else if (r == LZMA_BUF_ERROR && !more)
      damaged(c, c->consumed, "unexpected end");
    else if (r != LZMA_OK)
      damaged(c, c->consumed, r == LZMA_DATA_ERROR ? "corrupt data" : "cannot decode");
  }
  return (ssize_t)(size - c->xz.avail_out);
}

static ssize_t read_zstd(infile *c, char *buf, size_t size) {
  ZSTD_outBuffer out = {buf, size, 0};
  while (out.pos < out.size) {
    if (!refill(c)) {
      if (c->last_ret != 0) damaged(c, c->consumed, "unexpected end");
      break;
    }
    ZSTD_inBuffer in = {c->ibuf + c->ipos, c->ilen - c->ipos, 0};
    size_t r = ZSTD_decompressStream(c->zs, &out, &in);
    c->ipos += in.pos;
    c->consumed += in.pos;
    if (ZSTD_isError(r)) damaged(c, c->consumed, ZSTD_getErrorName(r));
    c->last_ret = r != 0; /* 0: a frame ended */
  }
  return (ssize_t)out.pos;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t size) {
  infile *c = cookie;
  return c->kind == INFILE_GZIP ? read_gz(c, buf, size)
         : c->kind == INFILE_XZ ? read_xz(c, buf, size)
                                : read_zstd(c, buf, size);
}

static int cookie_close(void *cookie) {
  infile *c = cookie;
  if (c->kind == INFILE_GZIP) inflateEnd(&c->gz);
  if (c->kind == INFILE_XZ) lzma_end(&c->xz);
  if (c->zs) ZSTD_freeDStream(c->zs);
  if (c->in) fclose(c->in);
  xfree(c->ibuf);
  xfree(c->path);
  xfree(c);
  return 0;
}

FILE *infile_open(const char *path) {
  enum infile_kind kind = infile_kind_of(path);
  if (kind == INFILE_PLAIN) return xfopen(path, "rb");
  infile *c = xcalloc(1, sizeof *c);
  c->kind = kind;
  c->path = xstrdup(path);
  c->in = fopen(path, "rb");
  if (!c->in) {
    int e = errno;
    cookie_close(c);
    errno = e;
    return NULL;
  }
  c->ibuf = xmalloc(IN_BLOCK);
  if (kind == INFILE_GZIP) {
    if (inflateInit2(&c->gz, 16 + MAX_WBITS) != Z_OK) /* a gzip header, not raw zlib */
      recur_fail(path, NULL, "cannot start a gzip decoder");
  } else {
    if (kind == INFILE_XZ) {
      lzma_stream init = LZMA_STREAM_INIT;
      c->xz = init;
      if (lzma_stream_decoder(&c->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
        recur_fail(path, NULL, "cannot start an xz decoder");
    } else {
      c->zs = ZSTD_createDStream();
      if (!c->zs || ZSTD_isError(ZSTD_initDStream(c->zs)))
        recur_fail(path, NULL, "cannot start a zstd decoder");
    }
  }
  cookie_io_functions_t io = {cookie_read, NULL, NULL, cookie_close};
  FILE *f = fopencookie(c, "r", io);
  if (!f) return cookie_close(c), NULL;
  return xfadopt(f);
}

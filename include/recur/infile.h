/* infile: an input file as text, whatever it was compressed with: gzip, xz or zstd streams (found
 * by their magic bytes, not the name, so a compressed stdin works too) are decompressed as they
 * are read (zlib, liblzma, libzstd); other files are read as they are. */
#ifndef RECUR_INFILE_H
#define RECUR_INFILE_H

#include <stdio.h>

enum infile_kind { INFILE_PLAIN, INFILE_GZIP, INFILE_XZ, INFILE_ZSTD };
extern const char *const infile_kind_names[]; /* "plain", "gzip", "xz", "zstd" */

/* what path holds, by its first bytes (INFILE_PLAIN when it cannot be read, or is not a regular
 * file: prepare spools stdin to a file first, so a compressed stdin is found there) */
enum infile_kind infile_kind_of(const char *path);
/* A stream of path's text for reading (fread, getline; xfclose it), NULL with errno when it
 * cannot be opened. A damaged or truncated compressed stream ends the process with an error
 * naming the file and the compressed byte where it failed. */
FILE *infile_open(const char *path);

#endif

/* opts: command-line options declared once. Each command has one table of opt_def: the flag, its
 * type, the field it sets (offset and size in the command's options struct), bounds or choices,
 * default, help text, and whether a resumed run may change it. Parsing (--flag value and
 * --flag=value), range errors, --help, the nearest known flag for a typo, and the canonical text
 * saved in a checkpoint all come from that table. */
#ifndef RECUR_OPTS_H
#define RECUR_OPTS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
  OPT_INT,    /* int or int64_t field (by size), in [lo, hi] */
  OPT_UINT,   /* uint64_t field, in [lo, hi] */
  OPT_REAL,   /* float or double field (by size), in [lo, hi] */
  OPT_STR,    /* char * field: a malloc'd copy (opts_free releases it) */
  OPT_CHOICE, /* int-sized enum field: the index of the value in choices */
  OPT_SWITCH, /* int field set to 1 by the bare flag (or 0/1 with --flag=0|1) */
  OPT_INTS,   /* int array field ("A,B,C", each in [lo, hi]); its count is the int just before it */
} opt_type;

enum {
  OPT_RESUME_SAFE = 1, /* a resumed run may give another value */
  OPT_NOT_SAVED = 2,   /* not part of the saved options (paths of this invocation, output) */
};

typedef struct {
  const char *flag;  /* "--lr" */
  const char *alias; /* another spelling ("-o"), or NULL */
  opt_type type;
  size_t offset, size;        /* of the field: OPT_FIELD(struct, member) */
  double lo, hi;              /* bounds (OPT_INT, OPT_UINT, OPT_REAL) */
  const char *const *choices; /* OPT_CHOICE: NULL-terminated names; the index is the enum value */
  const char *def;            /* default as text ("" or NULL: none) */
  const char *meta;           /* value name in --help ("N", "X", "PATH") */
  const char *help;
  int flags; /* OPT_RESUME_SAFE | OPT_NOT_SAVED */
} opt_def;

#define OPT_FIELD(type, member) offsetof(type, member), sizeof(((type *)0)->member)

typedef struct {
  const char *name;  /* command name, for messages ("train") */
  const char *usage; /* first line of --help */
  const char *notes; /* text after the flags in --help, or NULL */
  const opt_def *defs;
  int n;
} opt_table;

/* Set every option to its default. */
void opts_default(const opt_table *t, void *o);
/* Set option i from text. Returns 0, or -1 with a one-line reason in err (the flag, the value and
 * the bound or the choices it broke). */
int opts_set(const opt_table *t, int i, void *o, const char *val, char *err, size_t cap);
/* Parse argv[1..argc): flags into o (given[i] = 1 for each option given; may be NULL), other
 * arguments into pos (at most max_pos, *n_pos of them). A bad value, an unknown flag (with the
 * nearest known one) or too many arguments ends the process with a message. Returns 1 when
 * --help or -h was asked for (the help is printed), else 0. */
int opts_parse(const opt_table *t, void *o, unsigned char *given, int argc, char **argv,
               const char **pos, int max_pos, int *n_pos);
/* The index of a flag (or its alias), -1 if unknown. */
int opts_find(const opt_table *t, const char *flag);
/* The index of the name among names[0..n) that word is a near miss of (a typo: an edit or a swap of
 * neighbours per 3 characters, 1 below 6), -1 when none is; for "did you mean". */
int opts_suggest(const char *word, const char *const *names, int n);
/* The index of the option that sets the field at offset (OPT_FIELD's first half): options are
 * reached by their field's compile-time name, never by a flag's text. Asserts that one does. */
int opts_at(const opt_table *t, size_t offset);
/* The canonical text of option i's value ("0.002", "lstm", a path of any length), malloc'd. */
char *opts_value(const opt_table *t, int i, const void *o);
/* Option i of dst = that of src (a string is copied, dst's old one freed). */
void opts_copy(const opt_table *t, int i, void *dst, const void *src);
/* Every saved option (not OPT_NOT_SAVED) as "--flag value" lines, malloc'd. */
char *opts_text(const opt_table *t, const void *o);
/* Set options from opts_text's lines; an unknown flag or bad value ends the process naming where.
 */
void opts_load_text(const opt_table *t, void *o, const char *text, const char *where);
/* --help: usage, every flag with its value, default and help, then notes. */
void opts_help(const opt_table *t, FILE *f);
/* Free the OPT_STR fields. */
void opts_free(const opt_table *t, void *o);

#endif

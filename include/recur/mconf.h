/* mconf: the model's configuration declared once. One table row per field of model_config: the
 * model.h5 root attribute, recur train's flag, type, bounds or choices, default, help, the tasks
 * and cells it applies to, and what it is (shapes the parameters, comes from the dataset, or only
 * changes what a training step computes). model.h5 is written and read by a loop over it, recur
 * inspect prints it, recur train's flags for the model are made from it, and a resume compares a
 * checkpoint with the command line by it: a new model attribute is one new row. */
#ifndef RECUR_MCONF_H
#define RECUR_MCONF_H

#include <stddef.h>

#include "recur/model.h"
#include "recur/opts.h"

typedef enum {
  MCONF_INT,    /* int, in [lo, hi]; an i64 attribute */
  MCONF_REAL,   /* float, in [lo, hi]; an f64 attribute */
  MCONF_CHOICE, /* int enum: choices[value]; a string attribute */
  MCONF_SWITCH, /* int 0/1; an i64 attribute */
  MCONF_INTS,   /* int array, each in [lo, hi], counted by the int just before it; an i64 array */
} mconf_type;

enum {
  MCONF_SHAPE = 1,    /* shapes the parameters: fixed for the life of a run */
  MCONF_DATA = 2,     /* taken from the dataset (no flag) */
  MCONF_TRAIN = 4,    /* changes only what a training step computes (regularisers): evaluation and
                         generation ignore it; a resume takes it from the run's saved options */
  MCONF_SPARSE = 8,   /* written only when not its default (as files before the schema did) */
  MCONF_REQUIRED = 16 /* a model.h5 without it is not a model */
};

#define MCONF_ALL 0xffffu /* every task, every cell */

typedef struct {
  const char *attr; /* model.h5 root attribute ("proj_size") */
  const char *flag; /* recur train's flag ("--proj"), NULL for MCONF_DATA */
  mconf_type type;
  size_t offset, size; /* of the field in model_config */
  double lo, hi;
  const char *const *choices; /* MCONF_CHOICE: NULL-terminated names */
  const char *def;            /* default as text */
  const char *meta, *help;    /* --help */
  unsigned tasks;             /* 1u << TASK_* it applies to */
  unsigned cells;             /* 1u << CELL_* it applies to */
  int kind;                   /* MCONF_SHAPE | MCONF_DATA | MCONF_TRAIN | MCONF_SPARSE */
  /* a further condition on fields above it in the table (NULL = none): adaptive only, ... */
  int (*when)(const model_config *c);
} mconf_def;

/* The table, in the order model.h5 attributes are written and read (a row's `when` reads only rows
 * above it). */
extern const mconf_def mconf_defs[];
extern const int mconf_n;

/* Whether row d is part of configuration c (its task, its cell and its condition). */
int mconf_applies(const mconf_def *d, const model_config *c);
/* Row d as an option of a command's table: its field at base + the row's offset (base: where the
 * model_config lies in the command's options struct), named name in messages. */
opt_def mconf_opt(const mconf_def *d, size_t base, const char *name);
/* Row d's value in c as canonical text ("0.3", "lstm", "2000,10000") into buf. */
void mconf_format(const mconf_def *d, const model_config *c, char *buf, size_t cap);
/* Set row d's value in c from text. Returns 0, or -1 with the bound or choices broken in err. */
int mconf_parse(const mconf_def *d, model_config *c, const char *text, char *err, size_t cap);
/* Every row at its default. */
void mconf_default(model_config *c);
/* Whether row d holds the same value in a and b. */
int mconf_equal(const mconf_def *d, const model_config *a, const model_config *b);
/* The rows with none of the kinds in `skip` that differ between a (what was asked) and b (a
 * checkpoint's), as "attr A (checkpoint: B), ..." into buf; returns how many. */
int mconf_diff(const model_config *a, const model_config *b, int skip, char *buf, size_t cap);
/* Copy the rows of `kind` from src to dst. */
void mconf_copy(model_config *dst, const model_config *src, int kind);
/* The row of a model.h5 attribute, or NULL. */
const mconf_def *mconf_find(const char *attr);

#endif

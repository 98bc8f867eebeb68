/* task: what a model and its dataset are for, and what their symbols are (the level); the enums
 * every floor shares (prepare writes them, the model's layout and loss follow them, train, eval
 * and the CLI print by them). */
#ifndef RECUR_TASK_H
#define RECUR_TASK_H

/* what a dataset's sequences are for: language modeling, one label per sequence, one tag per token,
 * language modeling conditioned on a label per sequence (one-to-many), or a target text given a
 * source text (seq2seq: the decoder's side is the sequence, the source is a second stream) */
enum model_task {
  TASK_LM,
  TASK_CLASSIFY,
  TASK_TAG,
  TASK_CONDLM,
  TASK_SEQ2SEQ,
  TASK_FORECAST, /* real-valued sequences: the next frames */
  TASK_COUNT
};
/* What a task is to the floors below the trainer (the model's inputs and head, the dataset's
 * streams and checks, generation, the commands' choices), one row a task in task.c: they ask
 * task_is(t)->pooled, never which task it is. A task made of these (a new head aside) is its
 * enum, its row and name in task.c, and its descriptor (tasks.h, src/task/). */
typedef struct {
  unsigned char next_token; /* targets: the next tokens (lm, condlm, seq2seq): the vocabulary is
                               the output; adaptive softmax, tied weights */
  unsigned char causal;     /* reads only the past: no bidirectional stack (lm, condlm) */
  unsigned char stream;     /* may train as one stream of text and samples unconditioned (lm) */
  unsigned char self_fed;   /* its outputs can be its next inputs: scheduled sampling (lm,
                               seq2seq, forecast) */
  unsigned char pooled;     /* one output per sequence, from its pooled states (classify) */
  unsigned char tags;       /* one name per token, a tag stream (tag) */
  unsigned char labels;     /* one name per sequence, a label array (classify, condlm) */
  unsigned char
      label_cond;        /* the sequence's label (or vector) is an input to every step (condlm) */
  unsigned char source;  /* a source stream an encoder reads, with attention (seq2seq) */
  unsigned char frames;  /* real-valued targets, the next frames (forecast) */
  unsigned char real_in; /* takes real-valued inputs (forecast, classify, tag) */
} task_traits;
extern const task_traits task_traits_table[TASK_COUNT];
/* t a valid task (0 <= t < TASK_COUNT): check one read from a file before asking */
static inline const task_traits *task_is(int t) { return &task_traits_table[t]; }
/* datasets and models of the task carry label or tag names */
static inline int task_has_names(int t) { return task_is(t)->labels || task_is(t)->tags; }
extern const char *const task_names[TASK_COUNT + 1];
int task_parse(const char *s); /* -1 if unknown */

/* bytes, UTF-8 characters, words and marks, (LEVEL_REAL) real-valued vectors per step, or
 * (LEVEL_SPM) SentencePiece subwords (spm.h) */
enum ds_level { LEVEL_BYTE, LEVEL_CHAR, LEVEL_WORD, LEVEL_REAL, LEVEL_SPM, LEVEL_COUNT };
extern const char *const ds_level_names[LEVEL_COUNT + 1];
int ds_level_parse(const char *s); /* -1 if unknown */

#endif

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
/* tasks with a label per sequence; tasks whose targets are the next tokens */
static inline int task_has_labels(int t) { return t == TASK_CLASSIFY || t == TASK_CONDLM; }
/* tasks whose datasets and models carry label or tag names */
static inline int task_has_names(int t) {
  return t != TASK_LM && t != TASK_SEQ2SEQ && t != TASK_FORECAST;
}
static inline int task_is_lm(int t) {
  return t == TASK_LM || t == TASK_CONDLM || t == TASK_SEQ2SEQ;
}
extern const char *const task_names[TASK_COUNT + 1];
int task_parse(const char *s); /* -1 if unknown */

/* bytes, UTF-8 characters, words and marks, (LEVEL_REAL) real-valued vectors per step, or
 * (LEVEL_SPM) SentencePiece subwords (spm.h) */
enum ds_level { LEVEL_BYTE, LEVEL_CHAR, LEVEL_WORD, LEVEL_REAL, LEVEL_SPM, LEVEL_COUNT };
extern const char *const ds_level_names[LEVEL_COUNT + 1];
int ds_level_parse(const char *s); /* -1 if unknown */

#endif

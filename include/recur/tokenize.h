/* tokenize: the one tokenizer of recur. prepare feeds it a corpus in blocks; sample --prime,
 * predict and any embedder feed it a string; so a model always sees the tokens it was trained on.
 *   byte: every byte is a symbol (ids 0..255)
 *   char: UTF-8 code points, validated (invalid UTF-8, overlong forms, surrogates and NUL are
 *         errors naming the byte offset)
 *   word: runs of letters, digits, '_' and non-ASCII bytes (cut at TOKEN_WORD_MAX bytes on a
 *         character boundary); every other printable ASCII mark alone; '\n' kept as a word;
 *         spaces and other control characters separate and are dropped (whether a word followed
 *         the one before it with none between is `glued`, from which prepare learns how each
 *         vocabulary entry is spaced: TOKEN_GLUE_*) */
#ifndef RECUR_TOKENIZE_H
#define RECUR_TOKENIZE_H

#include <stdio.h>

#include <stddef.h>
#include <stdint.h>

#include "recur/dataset.h"
#include "recur/spm.h"

#define TOKEN_WORD_MAX 256

enum token_error { TOKEN_ERR_UTF8, TOKEN_ERR_NUL };

typedef struct {
  enum ds_level level;
  void *ctx;
  /* byte level: a run of bytes; char level: a run of ASCII code points 1..127 (the common case,
   * one call for many symbols). off is the byte offset of b[0] in the input. */
  void (*on_run)(void *ctx, const unsigned char *b, size_t n, uint64_t off);
  /* char level: one code point >= 128, starting at byte offset off */
  void (*on_char)(void *ctx, uint32_t cp, uint64_t off);
  /* word level: one word (not NUL-terminated) */
  void (*on_word)(void *ctx, const char *w, int n);
  /* bad input at byte offset off; must not return */
  void (*on_error)(void *ctx, enum token_error e, uint64_t off);
  /* state between feeds */
  uint32_t u8_cp;
  int u8_need;
  uint64_t u8_off;
  char word[TOKEN_WORD_MAX];
  int wlen;
  int joined; /* word level: no separator since the last token delivered */
  int glued;  /* word level, read in on_word: the word follows the token before it directly */
  /* spm level: each line is encoded by the model (as spm_encode encodes a file; SentencePiece
   * has no newline) and its ids delivered one by one to on_id */
  const spm_model *spm;
  void (*on_id)(void *ctx, int32_t id);
  char *line;
  size_t line_len, line_cap;
  /* spm level, two passes over the same text (prepare): the first writes each line's ids to
   * spool (spool_replay 0), the second reads them back instead of encoding again (1); NULL: none.
   * Records: a uint32 count, then the ids as uint16 (spool_wide 0) or int32. */
  FILE *spool;
  int spool_replay, spool_wide;
  const char *spool_path; /* for errors */
} tokenizer;

/* Feed n bytes that start at byte offset off of the input. */
void tokenizer_feed(tokenizer *t, const unsigned char *b, size_t n, uint64_t off);
/* End of a sequence: the pending word (or spm line) is delivered, an unfinished UTF-8 character is
 * an error. */
void tokenizer_end(tokenizer *t);
void tokenizer_free(tokenizer *t); /* its line buffer */

/* Word level: how a vocabulary entry is spaced when words are written back, learnt from the corpus
 * by majority (dataset and model.h5: /vocab_glue, a byte per entry). Against word tokens (runs
 * of letters, digits...): TOKEN_GLUE_BEFORE, it follows the word before with no space ("," ".");
 * TOKEN_GLUE_AFTER, the word after follows it with no space ("(", the "'" of "doesn't"); after
 * another mark: TOKEN_GLUE_MARK, no space ("--", "?!"). A '"' opens and closes quotes in turn. */
enum { TOKEN_GLUE_BEFORE = 1, TOKEN_GLUE_AFTER = 2, TOKEN_GLUE_MARK = 4 };
typedef struct {
  int64_t prev; /* the token written before (-1: none yet) */
  int quotes;   /* '"' written so far */
} token_spacer;
#define TOKEN_SPACER_INIT                                                                          \
  { -1, 0 }
/* whether a byte belongs to a word at word level: letters, digits, '_' and non-ASCII bytes */
int token_is_word_byte(unsigned c);
/* whether a token's text is a word (a run of letters, digits, '_' or non-ASCII bytes) or a special
 * such as <unk> (spaced as a word), not a mark */
int token_is_word(const char *text);
/* Whether a space goes before token id (names: the vocabulary's texts): not at the start or
 * beside a newline; else as the glue says (without it, files of older versions: always). */
int token_spacer_next(token_spacer *s, const unsigned char *glue, char *const *names, int64_t id);

/* A vocabulary to encode text with: names indexed by id, specials excluded from matching. */
typedef struct {
  enum ds_level level;
  int64_t size, eos_id, unk_id;
  int64_t *sorted; /* (size) ids ordered by name, for lookup */
  char *const *names;
  const spm_model *spm; /* spm level: text is encoded by the model */
  int own_spm;
} vocab_index;

void vocab_index_init(vocab_index *v, enum ds_level level, char *const *names, int64_t size,
                      int64_t eos_id, int64_t unk_id);
void vocab_index_free(vocab_index *v);
/* spm level: the SentencePiece model (serialized, n bytes) that encodes its text */
void vocab_index_spm(vocab_index *v, const void *proto, int64_t n);
/* id of the entry named s[0..n) (not <eos> or <unk>), -1 if none */
int64_t vocab_index_find(const vocab_index *v, const char *s, int n);

/* Words of word-level tagging (word/TAG tokens in prepare, words in predict) lie between spaces
 * and tabs: the next one in [*s, end) starts at the pointer returned (NULL when none is left),
 * *n bytes long; *s moves past it. */
const char *tokenize_field(const char **s, const char *end, int *n);

/* Encode text as prepare would (ids malloc'd, count in *n). words_by_space: word-level tagging
 * input, where words are whatever lies between spaces and tabs (as prepare reads word/TAG
 * tokens). A symbol not in the vocabulary becomes <unk> when use_unk is set and the vocabulary
 * has one (TOKENIZE_UNK_NOTE: saying so on stderr), else the process ends with an error naming it
 * and `what`. */
enum { TOKENIZE_STRICT = 0, TOKENIZE_UNK = 1, TOKENIZE_UNK_NOTE = 2 };
int32_t *tokenize_encode(const vocab_index *v, const char *text, int64_t *n, int use_unk,
                         int words_by_space, const char *what);

#endif

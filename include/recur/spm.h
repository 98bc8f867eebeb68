/* spm: SentencePiece (Kudo & Richardson 2018), the subword vocabularies of --level bpe|unigram|spm,
 * through libsentencepiece's C++ API behind this C boundary (src/data/spm.cc). A model is its
 * serialized ModelProto: what the dataset and model.h5 store (/spm_model), so every later use
 * reads the model from the files alone. Ids are SentencePiece's own (python3-sentencepiece's
 * encode of the same text with the same model). */
#ifndef RECUR_SPM_H
#define RECUR_SPM_H

#include <stddef.h>
#include <stdint.h>

typedef struct spm_model spm_model;

/* From a serialized ModelProto (n bytes) or a .model file; NULL with the reason in err. */
spm_model *spm_load(const void *proto, size_t n, char *err, size_t cap);
spm_model *spm_load_file(const char *path, char *err, size_t cap);
void spm_free(spm_model *s);
/* The serialized model (valid while s lives). */
const void *spm_proto(const spm_model *s, size_t *n);
int spm_size(const spm_model *s);
/* the text of piece id (valid while s lives) */
const char *spm_piece(const spm_model *s, int id);
int spm_unk_id(const spm_model *s);
int spm_eos_id(const spm_model *s); /* -1 when the model has no </s> */
/* text[0..n) -> ids (malloc'd, free() them; *out count); -1 with err on a failure */
int spm_encode(const spm_model *s, const char *text, size_t n, int32_t **ids, int64_t *out,
               char *err, size_t cap);
/* ids -> text, as SentencePiece decodes them (malloc'd, free() it); NULL with err */
char *spm_decode(const spm_model *s, const int32_t *ids, int64_t n, char *err, size_t cap);
/* Train a model (type "bpe" or "unigram", vocab_size pieces) on the lines of the text file
 * sample; the serialized model in *proto (malloc'd, free() it), *n bytes. 0, or -1 with err. */
int spm_train(const char *sample, const char *type, int vocab_size, uint32_t seed, void **proto,
              size_t *n, char *err, size_t cap);

#endif

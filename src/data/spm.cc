// spm: the C boundary around libsentencepiece (see include/recur/spm.h). The only C++ of recur.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include "recur/spm.h"
}

struct spm_model {
  sentencepiece::SentencePieceProcessor sp;
  std::string proto;
};

static void say(char *err, size_t cap, const std::string &what) {
  if (err && cap) std::snprintf(err, cap, "%s", what.c_str());
}

extern "C" spm_model *spm_load(const void *proto, size_t n, char *err, size_t cap) {
  spm_model *s = new (std::nothrow) spm_model;
  if (!s) return say(err, cap, "out of memory"), nullptr;
  s->proto.assign(static_cast<const char *>(proto), n);
  auto st = s->sp.LoadFromSerializedProto(s->proto);
  if (!st.ok()) {
    say(err, cap, std::string("not a SentencePiece model: ") + st.ToString());
    delete s;
    return nullptr;
  }
  return s;
}

extern "C" spm_model *spm_load_file(const char *path, char *err, size_t cap) {
  std::FILE *f = std::fopen(path, "rb");
  if (!f) return say(err, cap, "cannot open the SentencePiece model"), nullptr;
  std::string bytes;
  char buf[65536];
  size_t k;
  while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, k);
  std::fclose(f);
  return spm_load(bytes.data(), bytes.size(), err, cap);
}

extern "C" void spm_free(spm_model *s) { delete s; }

extern "C" const void *spm_proto(const spm_model *s, size_t *n) {
  *n = s->proto.size();
  return s->proto.data();
}

extern "C" int spm_size(const spm_model *s) { return s->sp.GetPieceSize(); }
extern "C" const char *spm_piece(const spm_model *s, int id) { return s->sp.IdToPiece(id).c_str(); }
extern "C" int spm_unk_id(const spm_model *s) { return s->sp.unk_id(); }
extern "C" int spm_eos_id(const spm_model *s) { return s->sp.eos_id(); }

extern "C" int spm_encode(const spm_model *s, const char *text, size_t n, int32_t **ids,
                          int64_t *out, char *err, size_t cap) {
  std::vector<int> v;
  auto st = s->sp.Encode(std::string_view(text, n), &v);
  if (!st.ok()) return say(err, cap, st.ToString()), -1;
  *ids = static_cast<int32_t *>(std::malloc((v.size() ? v.size() : 1) * sizeof(int32_t)));
  if (!*ids) return say(err, cap, "out of memory"), -1;
  for (size_t i = 0; i < v.size(); i++) (*ids)[i] = v[i];
  *out = static_cast<int64_t>(v.size());
  return 0;
}

extern "C" char *spm_decode(const spm_model *s, const int32_t *ids, int64_t n, char *err,
                            size_t cap) {
  std::vector<int> v(ids, ids + n);
  std::string text;
  auto st = s->sp.Decode(v, &text);
  if (!st.ok()) return say(err, cap, st.ToString()), nullptr;
  char *c = static_cast<char *>(std::malloc(text.size() + 1));
  if (!c) return say(err, cap, "out of memory"), nullptr;
  std::memcpy(c, text.data(), text.size());
  c[text.size()] = 0;
  return c;
}

extern "C" int spm_train(const char *sample, const char *type, int vocab_size, uint32_t seed,
                         void **proto, size_t *n, char *err, size_t cap) {
  (void)seed; // the sample is drawn with it; training on a given sample is deterministic
  std::unordered_map<std::string, std::string> kw = {
      {"input", sample},
      {"model_type", type},
      {"vocab_size", std::to_string(vocab_size)},
      {"num_threads", "1"},
      {"minloglevel", "2"}, // warnings and errors only
      {"character_coverage", "0.9995"},
  };
  std::string out;
  auto st = sentencepiece::SentencePieceTrainer::Train(kw, nullptr, &out);
  if (!st.ok()) return say(err, cap, st.ToString()), -1;
  *proto = std::malloc(out.size() ? out.size() : 1);
  if (!*proto) return say(err, cap, "out of memory"), -1;
  std::memcpy(*proto, out.data(), out.size());
  *n = out.size();
  return 0;
}

/* The JSON reader (what recur report reads back from metrics.jsonl): what the writer writes reads
 * back the same (escapes, UTF-8, non-finite numbers as null, nesting), bytes that are not UTF-8 as
 * U+FFFD; malformed text is an error
 * with the byte offset, never a crash; nesting beyond JSON_MAX_DEPTH is refused. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "recur/json.h"

static int parse(const char *s, json_value *v, char *err) {
  return json_parse(s, strlen(s), v, err, 128);
}

int main(void) {
  char *text = NULL, err[128];
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  json_writer j;
  json_init(&j, f);
  json_object_begin(&j, NULL);
  json_int(&j, "step", 42);
  json_num(&j, "loss", 1.25);
  json_num(&j, "nan", NAN);
  json_str(&j, "text", "tab\there \"quoted\" back\\slash\nnew line, caf\xc3\xa9, \x01");
  json_bool(&j, "yes", 1);
  json_array_begin(&j, "grad_flow");
  json_array_begin(&j, NULL);
  json_num(&j, NULL, 1e-30);
  json_num(&j, NULL, 2);
  json_array_end(&j);
  json_array_end(&j);
  json_object_end(&j);
  fclose(f);
  json_value v;
  CHECK(json_parse(text, len, &v, err, sizeof err) == 0, "writer output does not parse: %s", err);
  CHECK(json_get_num(&v, "step", 0) == 42, "step");
  CHECK(json_get_num(&v, "loss", 0) == 1.25, "loss");
  CHECK(json_get(&v, "nan") && json_get(&v, "nan")->type == JSON_NULL, "NaN is written as null");
  CHECK(isnan(json_get_num(&v, "nan", NAN)), "null reads as the default");
  const json_value *t = json_get(&v, "text");
  CHECK(t && t->type == JSON_STR &&
            !strcmp(t->str, "tab\there \"quoted\" back\\slash\nnew line, caf\xc3\xa9, \x01"),
        "string round trip: %s", t ? t->str : "(none)");
  CHECK(json_get(&v, "yes")->type == JSON_BOOL && json_get(&v, "yes")->num == 1, "bool");
  const json_value *g = json_get(&v, "grad_flow");
  CHECK(g && g->type == JSON_ARR && g->n == 1 && g->items[0].n == 2 &&
            g->items[0].items[0].num == 1e-30,
        "nested arrays");
  json_value_free(&v);
  free(text);

  /* bytes that are not well-formed UTF-8 (a byte-level model's sample) are written as U+FFFD */
  f = open_memstream(&text, &len);
  json_write_string(f, "a\x97"
                       "b\xc3\xa9\xe0\x80\x80\xed\xa0\x80\xf0\x9f\x98\x80\xc3");
  fclose(f);
  CHECK(!strcmp(text,
                "\"a\\ufffdb\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\xf0\x9f\x98\x80"
                "\\ufffd\""),
        "invalid UTF-8 written as U+FFFD, valid kept: %s", text);
  CHECK(json_parse(text, len, &v, err, sizeof err) == 0, "the replaced string parses: %s", err);
  json_value_free(&v);
  free(text);

  CHECK(parse("\"\\u00e9\\ud83d\\ude00\"", &v, err) == 0 &&
            !strcmp(v.str, "\xc3\xa9\xf0\x9f\x98\x80"),
        "\\u escapes and a surrogate pair become UTF-8");
  json_value_free(&v);
  static const char *const BAD[] = {"{\"step\":1,\"loss\":2",
                                    "{\"a\" 1}",
                                    "[1,]",
                                    "{\"a\":1}x",
                                    "\"\\ud800\"",
                                    "\"\\u0000\"",
                                    "\"a\nb\"",
                                    "01x",
                                    "[1 2]",
                                    "{1:2}",
                                    "",
                                    "tru",
                                    "\"unterminated",
                                    "-"};
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    int rc = parse(BAD[i], &v, err);
    CHECK(rc == -1 && strstr(err, "at byte"), "'%s' should fail with an offset (rc %d, %s)", BAD[i],
          rc, err);
    CHECK(v.type == JSON_NULL && v.n == 0 && !v.items, "a failed parse leaves an empty value");
  }
  char deep[256];
  int d = JSON_MAX_DEPTH + 2;
  for (int i = 0; i < d; i++) deep[i] = '[', deep[d + i] = ']';
  deep[2 * d] = 0;
  CHECK(parse(deep, &v, err) == -1 && strstr(err, "nested too deeply"), "depth: %s", err);
  return check_done("test_json");
}

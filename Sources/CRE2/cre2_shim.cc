#include "cre2_shim.h"

#include <re2/re2.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

struct meshsim_re2 {
  RE2 regex;
  meshsim_re2(const char *pattern, size_t length, const RE2::Options &options)
      : regex(re2::StringPiece(pattern, length), options) {}
};

static char *copy_string(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

extern "C" meshsim_re2 *meshsim_re2_compile(const char *pattern, size_t length, char **error) {
  RE2::Options options;
  options.set_log_errors(false);
  meshsim_re2 *re = new (std::nothrow) meshsim_re2(pattern, length, options);
  if (re == nullptr) {
    if (error != nullptr) *error = copy_string("out of memory");
    return nullptr;
  }
  if (!re->regex.ok()) {
    if (error != nullptr) *error = copy_string(re->regex.error());
    delete re;
    return nullptr;
  }
  return re;
}

extern "C" void meshsim_re2_delete(meshsim_re2 *re) { delete re; }

extern "C" void meshsim_re2_free_error(char *error) { std::free(error); }

extern "C" int meshsim_re2_full_match(const meshsim_re2 *re, const char *text, size_t length) {
  return RE2::FullMatch(re2::StringPiece(text, length), re->regex) ? 1 : 0;
}

extern "C" int meshsim_re2_partial_match(const meshsim_re2 *re, const char *text, size_t length) {
  return RE2::PartialMatch(re2::StringPiece(text, length), re->regex) ? 1 : 0;
}

extern "C" int meshsim_re2_program_size(const meshsim_re2 *re) { return re->regex.ProgramSize(); }

extern "C" char *meshsim_re2_global_replace(const meshsim_re2 *re, const char *text, size_t length,
                                            const char *rewrite, size_t rewrite_length) {
  std::string out(text, length);
  re2::StringPiece rw(rewrite, rewrite_length);
  std::string why;
  if (!re->regex.CheckRewriteString(rw, &why)) return nullptr;
  RE2::GlobalReplace(&out, re->regex, rw);
  return copy_string(out);
}

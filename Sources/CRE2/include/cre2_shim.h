#ifndef MESHSIM_CRE2_SHIM_H
#define MESHSIM_CRE2_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An opaque compiled RE2 pattern.
typedef struct meshsim_re2 meshsim_re2;

/// Compiles `pattern` (not NUL-terminated, `length` bytes). Returns NULL when the
/// pattern does not compile; then, if `error` is not NULL, `*error` receives a
/// malloc'd NUL-terminated message the caller frees with `meshsim_re2_free_error`.
meshsim_re2 *meshsim_re2_compile(const char *pattern, size_t length, char **error);

/// Frees a pattern from `meshsim_re2_compile`.
void meshsim_re2_delete(meshsim_re2 *re);

/// Frees an error message from `meshsim_re2_compile`.
void meshsim_re2_free_error(char *error);

/// Returns 1 when the whole of `text` matches (RE2::FullMatch, Envoy's semantics), else 0.
int meshsim_re2_full_match(const meshsim_re2 *re, const char *text, size_t length);

/// Returns 1 when some part of `text` matches (RE2::PartialMatch), else 0.
int meshsim_re2_partial_match(const meshsim_re2 *re, const char *text, size_t length);

/// RE2's program size: a measure of the compiled pattern's cost (Envoy caps it).
int meshsim_re2_program_size(const meshsim_re2 *re);

/// Replaces every match of `re` in `text` with `rewrite` (RE2::GlobalReplace, `\1` groups).
/// Returns a malloc'd NUL-terminated result (free with `meshsim_re2_free_error`), or NULL
/// when `rewrite` refers to a group the pattern lacks.
char *meshsim_re2_global_replace(const meshsim_re2 *re, const char *text, size_t length,
                                 const char *rewrite, size_t rewrite_length);

#ifdef __cplusplus
}
#endif

#endif

#ifndef MESHSIM_CNGHTTP2_SHIM_H
#define MESHSIM_CNGHTTP2_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <nghttp2/nghttp2.h>

// Macros built from casts or arithmetic do not import into Swift: re-export them as constants.
static const int32_t CNGHTTP2_INITIAL_WINDOW_SIZE = NGHTTP2_INITIAL_WINDOW_SIZE;
static const int32_t CNGHTTP2_MAX_WINDOW_SIZE = NGHTTP2_MAX_WINDOW_SIZE;
static const uint32_t CNGHTTP2_INITIAL_MAX_CONCURRENT_STREAMS = NGHTTP2_INITIAL_MAX_CONCURRENT_STREAMS;
static const uint32_t CNGHTTP2_DEFAULT_HEADER_TABLE_SIZE = NGHTTP2_DEFAULT_HEADER_TABLE_SIZE;
static const size_t CNGHTTP2_CLIENT_MAGIC_LEN = NGHTTP2_CLIENT_MAGIC_LEN;
static const int32_t CNGHTTP2_VERSION_NUM = NGHTTP2_VERSION_NUM;

// Rapid-reset (CVE-2023-44487) and CONTINUATION-flood (CVE-2024-28182) limits arrived upstream in
// 1.57 and 1.61, but Debian backports them into 1.52 without changing NGHTTP2_VERSION_NUM. A
// version check would miss them, so they are declared weak and used when the library has them.
extern void nghttp2_option_set_stream_reset_rate_limit(nghttp2_option *option, uint64_t burst,
                                                       uint64_t rate) __attribute__((weak));
extern void nghttp2_option_set_max_continuations(nghttp2_option *option, size_t val)
    __attribute__((weak));

/// Sets nghttp2's own RST_STREAM token bucket; returns 0 when this libnghttp2 lacks it.
static inline int cnghttp2_option_set_stream_reset_rate_limit(nghttp2_option *option,
                                                              uint64_t burst, uint64_t rate) {
  if (nghttp2_option_set_stream_reset_rate_limit == NULL) {
    return 0;
  }
  nghttp2_option_set_stream_reset_rate_limit(option, burst, rate);
  return 1;
}

/// Caps CONTINUATION frames per header block; returns 0 when this libnghttp2 lacks the option.
static inline int cnghttp2_option_set_max_continuations(nghttp2_option *option, size_t val) {
  if (nghttp2_option_set_max_continuations == NULL) {
    return 0;
  }
  nghttp2_option_set_max_continuations(option, val);
  return 1;
}

#endif

#ifndef MESHSIM_CNGHTTP2_SHIM_H
#define MESHSIM_CNGHTTP2_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

// (SwiftPM does not rebuild the Swift modules that import this header when it changes: touch a
// MeshHTTP2 source after editing it, or the inline functions below stay as they were.)
//
// A per-session allocator for nghttp2 (`nghttp2_session_*_new3`): freed blocks of up to 2 KiB
// are kept in size-class free lists and handed out again, so the allocations nghttp2 makes for
// every stream (the stream, its outbound items, the copied header list, HPACK buffers and
// table entries) mostly stop reaching malloc. A session runs on one event loop, so the lists
// need no lock. Each block carries a 16-byte header with its class; blocks over 2 KiB go to
// malloc directly. Up to 64 KiB of free blocks are kept per class (a proxy's upstream session
// carries ~100 concurrent streams); `cnghttp2_pool_trim` brings each list back to 16 KiB, which
// the session does a second after its streams ran out, so an idle connection keeps 112 KiB at
// most.
enum {
  CNGHTTP2_POOL_CLASS_COUNT = 7,         // 32, 64, 128, 256, 512, 1024, 2048 bytes
  CNGHTTP2_POOL_HEADER = 16,             // keeps the 16-byte alignment malloc gives
  CNGHTTP2_POOL_CACHE_BYTES = 65536,     // free bytes kept per class
  CNGHTTP2_POOL_IDLE_CACHE_BYTES = 16384 // ... after a trim
};
static const size_t CNGHTTP2_POOL_UNPOOLED = (size_t)-1;

typedef struct cnghttp2_pool {
  nghttp2_mem mem; // handed to nghttp2; its mem_user_data points back here
  void *free_blocks[CNGHTTP2_POOL_CLASS_COUNT]; // a free block's first word links the next
  size_t cached[CNGHTTP2_POOL_CLASS_COUNT];
  size_t live;   // blocks handed out and not freed yet
  size_t reused; // allocations served from a free list
} cnghttp2_pool;

static inline size_t cnghttp2_pool_class_size(size_t size_class) { return (size_t)32 << size_class; }

static inline size_t cnghttp2_pool_class_of(size_t size) {
  if (size <= 32) {
    return 0;
  }
  return (size_t)(64 - __builtin_clzl((unsigned long)(size - 1))) - 5;
}

static inline void *cnghttp2_pool_malloc(size_t size, void *user_data) {
  cnghttp2_pool *pool = (cnghttp2_pool *)user_data;
  size_t size_class = cnghttp2_pool_class_of(size);
  unsigned char *block;
  if (size_class < CNGHTTP2_POOL_CLASS_COUNT) {
    block = (unsigned char *)pool->free_blocks[size_class];
    if (block != NULL) {
      memcpy(&pool->free_blocks[size_class], block + CNGHTTP2_POOL_HEADER, sizeof(void *));
      pool->cached[size_class] -= 1;
      pool->reused += 1;
    } else {
      block = (unsigned char *)malloc(CNGHTTP2_POOL_HEADER + cnghttp2_pool_class_size(size_class));
      if (block == NULL) {
        return NULL;
      }
      memcpy(block, &size_class, sizeof(size_t));
    }
  } else {
    if (size > SIZE_MAX - CNGHTTP2_POOL_HEADER) {
      return NULL;
    }
    block = (unsigned char *)malloc(CNGHTTP2_POOL_HEADER + size);
    if (block == NULL) {
      return NULL;
    }
    memcpy(block, &CNGHTTP2_POOL_UNPOOLED, sizeof(size_t));
  }
  pool->live += 1;
  return block + CNGHTTP2_POOL_HEADER;
}

static inline void cnghttp2_pool_free(void *ptr, void *user_data) {
  if (ptr == NULL) {
    return;
  }
  cnghttp2_pool *pool = (cnghttp2_pool *)user_data;
  unsigned char *block = (unsigned char *)ptr - CNGHTTP2_POOL_HEADER;
  size_t size_class;
  memcpy(&size_class, block, sizeof(size_t));
  pool->live -= 1;
  if (size_class < CNGHTTP2_POOL_CLASS_COUNT &&
      pool->cached[size_class] < CNGHTTP2_POOL_CACHE_BYTES / cnghttp2_pool_class_size(size_class)) {
    memcpy(block + CNGHTTP2_POOL_HEADER, &pool->free_blocks[size_class], sizeof(void *));
    pool->free_blocks[size_class] = block;
    pool->cached[size_class] += 1;
    return;
  }
  free(block);
}

static inline void *cnghttp2_pool_calloc(size_t count, size_t size, void *user_data) {
  if (size != 0 && count > SIZE_MAX / size) {
    return NULL;
  }
  void *ptr = cnghttp2_pool_malloc(count * size, user_data);
  if (ptr != NULL) {
    memset(ptr, 0, count * size);
  }
  return ptr;
}

static inline void *cnghttp2_pool_realloc(void *ptr, size_t size, void *user_data) {
  if (ptr == NULL) {
    return cnghttp2_pool_malloc(size, user_data);
  }
  unsigned char *block = (unsigned char *)ptr - CNGHTTP2_POOL_HEADER;
  size_t size_class;
  memcpy(&size_class, block, sizeof(size_t));
  if (size_class == CNGHTTP2_POOL_UNPOOLED) {
    // Large blocks stay with malloc, which can often grow them in place.
    if (size > SIZE_MAX - CNGHTTP2_POOL_HEADER) {
      return NULL;
    }
    unsigned char *grown = (unsigned char *)realloc(block, CNGHTTP2_POOL_HEADER + size);
    return grown == NULL ? NULL : grown + CNGHTTP2_POOL_HEADER;
  }
  size_t capacity = cnghttp2_pool_class_size(size_class);
  if (size <= capacity) {
    return ptr;
  }
  void *moved = cnghttp2_pool_malloc(size, user_data);
  if (moved == NULL) {
    return NULL;
  }
  memcpy(moved, ptr, capacity);
  cnghttp2_pool_free(ptr, user_data);
  return moved;
}

/// A new, empty pool; NULL when out of memory. Pass `&pool->mem` to `nghttp2_session_*_new3`.
static inline cnghttp2_pool *cnghttp2_pool_new(void) {
  cnghttp2_pool *pool = (cnghttp2_pool *)calloc(1, sizeof(cnghttp2_pool));
  if (pool == NULL) {
    return NULL;
  }
  pool->mem.mem_user_data = pool;
  pool->mem.malloc = cnghttp2_pool_malloc;
  pool->mem.free = cnghttp2_pool_free;
  pool->mem.calloc = cnghttp2_pool_calloc;
  pool->mem.realloc = cnghttp2_pool_realloc;
  return pool;
}

/// Frees free blocks beyond `CNGHTTP2_POOL_IDLE_CACHE_BYTES` per class; returns how many went
/// back to malloc.
static inline size_t cnghttp2_pool_trim(cnghttp2_pool *pool) {
  size_t released = 0;
  for (size_t size_class = 0; size_class < CNGHTTP2_POOL_CLASS_COUNT; size_class++) {
    size_t keep = CNGHTTP2_POOL_IDLE_CACHE_BYTES / cnghttp2_pool_class_size(size_class);
    while (pool->cached[size_class] > keep) {
      unsigned char *block = (unsigned char *)pool->free_blocks[size_class];
      memcpy(&pool->free_blocks[size_class], block + CNGHTTP2_POOL_HEADER, sizeof(void *));
      pool->cached[size_class] -= 1;
      free(block);
      released += 1;
    }
  }
  return released;
}

/// Frees the pool and its free lists (after `nghttp2_session_del`); returns how many blocks were
/// still handed out, which is 0 unless something kept memory past the session's end.
static inline size_t cnghttp2_pool_del(cnghttp2_pool *pool) {
  if (pool == NULL) {
    return 0;
  }
  for (size_t size_class = 0; size_class < CNGHTTP2_POOL_CLASS_COUNT; size_class++) {
    unsigned char *block = (unsigned char *)pool->free_blocks[size_class];
    while (block != NULL) {
      unsigned char *next;
      memcpy(&next, block + CNGHTTP2_POOL_HEADER, sizeof(void *));
      free(block);
      block = next;
    }
  }
  size_t live = pool->live;
  free(pool);
  return live;
}

#endif

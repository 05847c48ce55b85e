// jemalloc as the process's malloc, as nghttpx links it (and Envoy links tcmalloc): with
// glibc's allocator, a proxy's per-request objects (an exchange, its request head, its header
// storage: 180-540 bytes) outgrow the seven-entry thread cache under 100 concurrent streams and
// take malloc's slow path (docs/performance.md). Debian's build exports the unprefixed names,
// so linking the library is all it takes; mallctl is declared to ask it what it is.
#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/// The allocator's version when jemalloc serves malloc, else NULL.
static inline const char *cjemalloc_version(void) {
    const char *version = NULL;
    size_t length = sizeof(version);
    if (mallctl("version", &version, &length, NULL, 0) != 0) return NULL;
    return version;
}

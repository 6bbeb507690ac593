/* glibc allocator controls used by LumenTensor's Runtime (no libtorch involved, so not in the loaded bridge). */
#pragma once
#include <stdint.h>

#if defined(__GLIBC__)
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mallopt(M_ARENA_MAX, n): 1 when set. */
static inline int32_t lm_malloc_limit_arenas(int32_t n) { return mallopt(M_ARENA_MAX, n); }

/* The arenas glibc has made (one `<heap nr=` element each in malloc_info's report), or -1. */
static inline int32_t lm_malloc_arena_count(void) {
  char *text = NULL;
  size_t size = 0;
  FILE *stream = open_memstream(&text, &size);
  if (!stream) return -1;
  int status = malloc_info(0, stream);
  fclose(stream);
  int32_t count = 0;
  for (const char *p = text; status == 0 && p && (p = strstr(p, "<heap nr=")); p++) count++;
  free(text);
  return status == 0 ? count : -1;
}
#else
static inline int32_t lm_malloc_limit_arenas(int32_t n) { (void)n; return 0; }
static inline int32_t lm_malloc_arena_count(void) { return -1; }
#endif

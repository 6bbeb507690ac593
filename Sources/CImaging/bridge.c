/* bridge.c: loads libLumenImagingBridge.so (OpenCV, DCMTK, OpenJPEG, zlib) on first use, so that commands that never
 * read or write an image (`lumen runs list`, `lumen --version`) do not pay for loading those and their dozens of
 * dependencies. */
#define _GNU_SOURCE
#include "cimaging_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *bridge;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "lumen: cannot load the imaging bridge (OpenCV, DCMTK, OpenJPEG): %s: %s\n"
                  "(set LUMEN_IMAGING_BRIDGE to the path of libLumenImagingBridge.so, or rebuild with `make build`)\n",
          what, detail ? detail : "unknown error");
  exit(70);
}

/* The bridge next to the running executable (where SwiftPM builds it), or LUMEN_IMAGING_BRIDGE. */
static void load(void) {
  const char *explicit_path = getenv("LUMEN_IMAGING_BRIDGE");
  char path[PATH_MAX];
  if (explicit_path && *explicit_path) {
    snprintf(path, sizeof path, "%s", explicit_path);
  } else {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) fail("/proc/self/exe", "unreadable");
    path[n] = 0;
    char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) + sizeof "/libLumenImagingBridge.so" >= sizeof path) fail(path, "path too long");
    strcpy(slash + 1, "libLumenImagingBridge.so");
  }
  bridge = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!bridge) fail(path, dlerror());
}

void *ci_bridge_symbol(void **slot, const char *name) {
  void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (fn) return fn;
  pthread_once(&once, load);
  fn = dlsym(bridge, name);
  if (!fn) fail(name, dlerror());
  __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
  return fn;
}

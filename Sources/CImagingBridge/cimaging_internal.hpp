// Internal helpers shared by the CImaging translation units; never included from Swift.
#pragma once
#include "cimaging.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

inline void ci_set_error(ci_error *err, const std::string &msg) {
  if (!err) return;
  err->failed = 1;
  std::free(err->message);  // a second error replaces the first
  err->message = strdup(msg.c_str());  // NULL if even that allocation fails: the caller still sees `failed`
}

// Runs the body; any C++ exception becomes an error value and the function returns `fallback`.
#define CI_GUARD(err, fallback, ...)                                              \
  try {                                                                           \
    __VA_ARGS__                                                                   \
  } catch (const std::bad_alloc &) {                                              \
    ci_set_error(err, "out of memory while decoding");                            \
  } catch (const std::exception &e) {                                             \
    ci_set_error(err, e.what());                                                  \
  } catch (...) {                                                                 \
    ci_set_error(err, "unknown C++ exception");                                   \
  }                                                                               \
  return fallback;

int64_t ci_max_samples_value();

/// Throws when width × height × frames × channels is beyond the configured limit (or overflows).
inline void ci_check_samples(int64_t w, int64_t h, int64_t frames, int64_t channels) {
  if (w <= 0 || h <= 0 || frames <= 0 || channels <= 0)
    throw std::runtime_error("image has an empty or negative size (" + std::to_string(w) + " x " + std::to_string(h) +
                             ", " + std::to_string(frames) + " frames)");
  const int64_t limit = ci_max_samples_value();
  if (w > limit || h > limit || frames > limit || channels > 64 || w * h > limit || w * h * frames > limit ||
      w * h * frames * channels > limit)
    throw std::runtime_error("image declares " + std::to_string(w) + " x " + std::to_string(h) + " pixels, " +
                             std::to_string(frames) + " frames, " + std::to_string(channels) +
                             " channels: more than the limit of " + std::to_string(limit) + " samples");
}

inline size_t ci_type_size(int32_t type) {
  switch (type) {
    case CI_U8: case CI_I8: return 1;
    case CI_U16: case CI_I16: return 2;
    case CI_U32: case CI_I32: case CI_F32: return 4;
    case CI_F64: return 8;
  }
  throw std::invalid_argument("unknown sample type " + std::to_string(type));
}

inline void *ci_malloc(size_t n) {
  void *p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}

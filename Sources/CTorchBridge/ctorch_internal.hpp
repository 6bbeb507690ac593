// Internal helpers shared by the CTorch translation units; never included from Swift.
#pragma once
#include "ctorch.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct lm_tensor {
  at::Tensor t;
};

inline void lm_set_error(lm_error *err, const char *msg) {
  if (!err) return;
  err->failed = 1;
  err->message = strdup(msg ? msg : "unknown error");
}

// Runs the body; any C++ exception becomes an error value and the function returns `fallback`.
#define LM_GUARD(err, fallback, ...)                                   \
  try {                                                                \
    __VA_ARGS__                                                        \
  } catch (const c10::Error &e) {                                      \
    lm_set_error(err, e.what_without_backtrace());                     \
  } catch (const std::exception &e) {                                  \
    lm_set_error(err, e.what());                                       \
  } catch (...) {                                                      \
    lm_set_error(err, "unknown C++ exception");                        \
  }                                                                    \
  return fallback;

inline lm_tensor *lm_wrap(at::Tensor t) { return new lm_tensor{std::move(t)}; }

inline at::ScalarType lm_scalar_type(int32_t code) {
  switch (code) {
    case LM_FLOAT32: return at::kFloat;
    case LM_FLOAT64: return at::kDouble;
    case LM_FLOAT16: return at::kHalf;
    case LM_BFLOAT16: return at::kBFloat16;
    case LM_INT64: return at::kLong;
    case LM_INT32: return at::kInt;
    case LM_UINT8: return at::kByte;
    case LM_BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

inline int32_t lm_dtype_code(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return LM_FLOAT32;
    case at::kDouble: return LM_FLOAT64;
    case at::kHalf: return LM_FLOAT16;
    case at::kBFloat16: return LM_BFLOAT16;
    case at::kLong: return LM_INT64;
    case at::kInt: return LM_INT32;
    case at::kByte: return LM_UINT8;
    case at::kBool: return LM_BOOL;
    default: return -1;
  }
}

inline at::IntArrayRef lm_dims(const int64_t *p, int64_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

inline c10::optional<at::Tensor> lm_opt(const lm_tensor *t) {
  if (!t) return c10::nullopt;
  return t->t;
}

inline at::Tensor lm_or_undefined(const lm_tensor *t) { return t ? t->t : at::Tensor(); }

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

#include <memory>

// A packed 3×3 convolution's Winograd state (ctorch_winograd.cpp), shared by copies of its weight handle.
struct lm_winograd_conv;

struct lm_tensor {
  at::Tensor t;
  // Set on a packed convolution weight that may run as Winograd F(2×2, 3×3); empty otherwise.
  std::shared_ptr<lm_winograd_conv> winograd;
};

// Winograd for a packed convolution (ctorch_winograd.cpp): whether these parameters qualify (3×3, stride 1,
// dilation 1, one group, at most 256×256 channels, built with oneDNN's headers, not turned off by LUMEN_WINOGRAD=0),
// the state made from the folded dense weight, and the convolution itself: false when it cannot run (no Winograd
// kernel for this input's size), and the caller then uses the direct packed weight.
bool lm_winograd_eligible(const at::Tensor &weight, const int64_t *stride, const int64_t *padding,
                          const int64_t *dilation, int64_t groups);
// `bias`: the packed bias handed out with the weight (a call with another tensor runs direct).
std::shared_ptr<lm_winograd_conv> lm_winograd_make(const at::Tensor &folded_weight, const at::Tensor &bias,
                                                   const int64_t *padding);
bool lm_winograd_run(lm_winograd_conv &conv, const at::Tensor &x, const at::Tensor *bias, const int64_t *stride,
                     const int64_t *padding, const int64_t *dilation, int64_t groups, at::Tensor &out);
// 0: no Winograd state; 1: waiting for its first input; 2: Winograd weights made for one input size; 3: the first
// input had no Winograd kernel (runs direct).
int32_t lm_winograd_state(lm_winograd_conv *conv);
// How many F(4×4, 3×3) weight layouts for whole batches it made (at most 2).
int32_t lm_winograd_whole_batch_layouts(lm_winograd_conv *conv);

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

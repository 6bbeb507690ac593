// Tensor creation, host I/O, element-wise ops, reductions, shape ops and autograd.
#include "ctorch_internal.hpp"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/version.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <mutex>
#include <pthread.h>

// `lmops` sees all of at:: plus the few ops that libtorch has only as methods.
namespace lmops {
using namespace at;
inline Tensor contiguous(const Tensor &t) { return t.contiguous(); }
}  // namespace lmops

extern "C" {

void lm_error_clear(lm_error *err) {
  if (!err) return;
  free(err->message);
  err->message = nullptr;
  err->failed = 0;
}

void lm_manual_seed(uint64_t seed) { at::manual_seed(seed); }

int64_t lm_cpu_rng_state(uint8_t *out, int64_t capacity) {
  try {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    at::Tensor state = gen.get_state();
    int64_t n = state.numel();
    if (out && capacity >= n) std::memcpy(out, state.data_ptr<uint8_t>(), static_cast<size_t>(n));
    return n;
  } catch (...) {
    return -1;
  }
}

int32_t lm_set_cpu_rng_state(const uint8_t *bytes, int64_t n, lm_error *err) {
  LM_GUARD(err, -1, {
    at::Tensor state = at::empty({n}, at::kByte);
    std::memcpy(state.data_ptr<uint8_t>(), bytes, static_cast<size_t>(n));
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return 0;
  })
}
void lm_set_num_threads(int32_t n) {
  if (n > 0) at::set_num_threads(n);
}
int32_t lm_get_num_threads(void) { return at::get_num_threads(); }
void lm_tune_allocator(void) {
#if defined(__GLIBC__)
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (!std::getenv("MALLOC_TOP_PAD_")) mallopt(M_TOP_PAD, 64 << 20);
#endif
}
int32_t lm_release_free_memory(void) {
#if defined(__GLIBC__)
  return malloc_trim(0);
#else
  return 0;
#endif
}
void lm_name_current_thread(const char *name) {
#if defined(__linux__)
  char shortened[16] = {0};  // the kernel keeps 15 bytes and the terminator
  std::strncpy(shortened, name, sizeof shortened - 1);
  pthread_setname_np(pthread_self(), shortened);
#else
  (void)name;
#endif
}
bool lm_is_grad_enabled(void) { return at::GradMode::is_enabled(); }
bool lm_set_grad_enabled(bool enabled) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(enabled);
  return previous;
}
const char *lm_libtorch_version(void) { return TORCH_VERSION; }

void lm_tensor_free(lm_tensor *t) { delete t; }

lm_tensor *lm_tensor_from_data(const void *data, int64_t nbytes, const int64_t *shape, int64_t ndim, int32_t dtype,
                               lm_error *err) {
  LM_GUARD(err, nullptr, {
    auto options = at::TensorOptions().dtype(lm_scalar_type(dtype));
    at::Tensor t = at::empty(lm_dims(shape, ndim), options);
    int64_t expected = t.numel() * static_cast<int64_t>(t.element_size());
    if (expected != nbytes)
      throw std::invalid_argument("buffer holds " + std::to_string(nbytes) + " bytes but shape needs " +
                                  std::to_string(expected));
    if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
    return lm_wrap(std::move(t));
  })
}

int32_t lm_tensor_copy_to_host(const lm_tensor *t, void *dst, int64_t nbytes, lm_error *err) {
  LM_GUARD(err, -1, {
    at::Tensor c = (t->t.is_mkldnn() ? t->t.to_dense() : t->t.detach()).to(at::kCPU).contiguous();
    int64_t have = c.numel() * static_cast<int64_t>(c.element_size());
    if (have != nbytes)
      throw std::invalid_argument("tensor holds " + std::to_string(have) + " bytes, destination " +
                                  std::to_string(nbytes));
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), static_cast<size_t>(nbytes));
    return 0;
  })
}

int64_t lm_tensor_ndim(const lm_tensor *t) { return t->t.dim(); }
void lm_tensor_shape(const lm_tensor *t, int64_t *out) {
  for (int64_t i = 0; i < t->t.dim(); ++i) out[i] = t->t.size(i);
}
int64_t lm_tensor_numel(const lm_tensor *t) { return t->t.numel(); }
int32_t lm_tensor_dtype(const lm_tensor *t) { return lm_dtype_code(t->t.scalar_type()); }
int32_t lm_tensor_device_type(const lm_tensor *t) { return t->t.is_cuda() ? LM_CUDA : LM_CPU; }
int32_t lm_tensor_device_index(const lm_tensor *t) { return t->t.is_cuda() ? t->t.get_device() : 0; }
double lm_tensor_item_double(const lm_tensor *t, lm_error *err) { LM_GUARD(err, 0.0, { return t->t.item<double>(); }) }
int64_t lm_tensor_item_int64(const lm_tensor *t, lm_error *err) { LM_GUARD(err, 0, { return t->t.item<int64_t>(); }) }
lm_tensor *lm_tensor_alias(const lm_tensor *t, lm_error *err) { LM_GUARD(err, nullptr, { return lm_wrap(t->t); }) }

lm_tensor *lm_tensor_to(const lm_tensor *t, int32_t dtype, int32_t device_type, int32_t device_index,
                        lm_error *err) {
  LM_GUARD(err, nullptr, {
    at::Device device = device_type == LM_CUDA ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index))
                                               : at::Device(at::kCPU);
    return lm_wrap(t->t.to(device, lm_scalar_type(dtype)));
  })
}

static at::TensorOptions lm_options(int32_t dtype) { return at::TensorOptions().dtype(lm_scalar_type(dtype)); }

lm_tensor *lm_zeros(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::zeros(lm_dims(shape, ndim), lm_options(dtype))); })
}
lm_tensor *lm_ones(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::ones(lm_dims(shape, ndim), lm_options(dtype))); })
}
lm_tensor *lm_full(const int64_t *shape, int64_t ndim, double value, int32_t dtype, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::full(lm_dims(shape, ndim), value, lm_options(dtype))); })
}
lm_tensor *lm_arange(double start, double end, double step, int32_t dtype, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::arange(start, end, step, lm_options(dtype))); })
}
lm_tensor *lm_rand(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::rand(lm_dims(shape, ndim), lm_options(dtype))); })
}
lm_tensor *lm_randn(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::randn(lm_dims(shape, ndim), lm_options(dtype))); })
}
lm_tensor *lm_randint(int64_t low, int64_t high, const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::randint(low, high, lm_dims(shape, ndim), lm_options(dtype))); })
}
lm_tensor *lm_randperm(int64_t n, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::randperm(n, at::TensorOptions().dtype(at::kLong))); })
}
lm_tensor *lm_bernoulli(const lm_tensor *p, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::bernoulli(p->t)); })
}

// ---- generated element-wise ops: one libtorch call each ----

#define LM_DEFINE_UNARY(name)                                                   \
  lm_tensor *lm_##name(const lm_tensor *a, lm_error *err) {                     \
    LM_GUARD(err, nullptr, { return lm_wrap(lmops::name(a->t)); })                 \
  }
#define LM_DEFINE_BINARY(name)                                                  \
  lm_tensor *lm_##name(const lm_tensor *a, const lm_tensor *b, lm_error *err) { \
    LM_GUARD(err, nullptr, { return lm_wrap(at::name(a->t, b->t)); })           \
  }
#define LM_DEFINE_SCALAR(name)                                                  \
  lm_tensor *lm_##name##_scalar(const lm_tensor *a, double s, lm_error *err) {  \
    LM_GUARD(err, nullptr, { return lm_wrap(lm_scalar_##name(a->t, s)); })      \
  }

static inline at::Tensor lm_scalar_add(const at::Tensor &a, double s) { return at::add(a, s); }
static inline at::Tensor lm_scalar_sub(const at::Tensor &a, double s) { return at::sub(a, s); }
static inline at::Tensor lm_scalar_mul(const at::Tensor &a, double s) { return at::mul(a, s); }
static inline at::Tensor lm_scalar_div(const at::Tensor &a, double s) { return at::div(a, s); }
static inline at::Tensor lm_scalar_pow(const at::Tensor &a, double s) { return at::pow(a, s); }
static inline at::Tensor lm_scalar_rsub(const at::Tensor &a, double s) { return at::rsub(a, s); }
static inline at::Tensor lm_scalar_rdiv(const at::Tensor &a, double s) { return at::mul(at::reciprocal(a), s); }
static inline at::Tensor lm_scalar_eq(const at::Tensor &a, double s) { return at::eq(a, s); }
static inline at::Tensor lm_scalar_ne(const at::Tensor &a, double s) { return at::ne(a, s); }
static inline at::Tensor lm_scalar_lt(const at::Tensor &a, double s) { return at::lt(a, s); }
static inline at::Tensor lm_scalar_le(const at::Tensor &a, double s) { return at::le(a, s); }
static inline at::Tensor lm_scalar_gt(const at::Tensor &a, double s) { return at::gt(a, s); }
static inline at::Tensor lm_scalar_ge(const at::Tensor &a, double s) { return at::ge(a, s); }
static inline at::Tensor lm_scalar_remainder(const at::Tensor &a, double s) { return at::remainder(a, s); }

LM_UNARY_OPS(LM_DEFINE_UNARY)
LM_BINARY_OPS(LM_DEFINE_BINARY)
LM_SCALAR_OPS(LM_DEFINE_SCALAR)

lm_tensor *lm_where(const lm_tensor *cond, const lm_tensor *a, const lm_tensor *b, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::where(cond->t, a->t, b->t)); })
}
lm_tensor *lm_clamp(const lm_tensor *a, bool has_min, double min, bool has_max, double max, lm_error *err) {
  LM_GUARD(err, nullptr, {
    c10::optional<at::Scalar> lo = has_min ? c10::optional<at::Scalar>(min) : c10::nullopt;
    c10::optional<at::Scalar> hi = has_max ? c10::optional<at::Scalar>(max) : c10::nullopt;
    return lm_wrap(at::clamp(a->t, lo, hi));
  })
}
lm_tensor *lm_leaky_relu(const lm_tensor *a, double slope, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::leaky_relu(a->t, slope)); })
}
lm_tensor *lm_softmax(const lm_tensor *a, int64_t dim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::softmax(a->t, dim)); })
}
lm_tensor *lm_log_softmax(const lm_tensor *a, int64_t dim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::log_softmax(a->t, dim)); })
}
lm_tensor *lm_masked_fill(const lm_tensor *a, const lm_tensor *mask, double value, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::masked_fill(a->t, mask->t, value)); })
}

// ---- reductions ----
lm_tensor *lm_sum(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(ndims == 0 ? at::sum(a->t) : at::sum(a->t, lm_dims(dims, ndims), keepdim)); })
}
lm_tensor *lm_mean(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(ndims == 0 ? at::mean(a->t) : at::mean(a->t, lm_dims(dims, ndims), keepdim)); })
}
lm_tensor *lm_amax(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(ndims == 0 ? at::max(a->t) : at::amax(a->t, lm_dims(dims, ndims), keepdim)); })
}
lm_tensor *lm_amin(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(ndims == 0 ? at::min(a->t) : at::amin(a->t, lm_dims(dims, ndims), keepdim)); })
}
lm_tensor *lm_var(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool unbiased, bool keepdim, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(ndims == 0 ? at::var(a->t, unbiased) : at::var(a->t, lm_dims(dims, ndims), unbiased, keepdim));
  })
}
lm_tensor *lm_argmax(const lm_tensor *a, int64_t dim, bool all_dims, bool keepdim, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(all_dims ? at::argmax(a->t) : at::argmax(a->t, dim, keepdim));
  })
}
lm_tensor *lm_argmin(const lm_tensor *a, int64_t dim, bool all_dims, bool keepdim, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(all_dims ? at::argmin(a->t) : at::argmin(a->t, dim, keepdim));
  })
}

// ---- shape ----
lm_tensor *lm_reshape(const lm_tensor *a, const int64_t *shape, int64_t ndim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.reshape(lm_dims(shape, ndim))); })
}
lm_tensor *lm_view(const lm_tensor *a, const int64_t *shape, int64_t ndim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.view(lm_dims(shape, ndim))); })
}
lm_tensor *lm_expand(const lm_tensor *a, const int64_t *shape, int64_t ndim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.expand(lm_dims(shape, ndim))); })
}
lm_tensor *lm_permute(const lm_tensor *a, const int64_t *dims, int64_t ndim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.permute(lm_dims(dims, ndim))); })
}
lm_tensor *lm_transpose(const lm_tensor *a, int64_t d0, int64_t d1, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.transpose(d0, d1)); })
}
lm_tensor *lm_flatten(const lm_tensor *a, int64_t start, int64_t end, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.flatten(start, end)); })
}
lm_tensor *lm_squeeze(const lm_tensor *a, int64_t dim, bool all_dims, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(all_dims ? a->t.squeeze() : a->t.squeeze(dim)); })
}
lm_tensor *lm_unsqueeze(const lm_tensor *a, int64_t dim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.unsqueeze(dim)); })
}
static std::vector<at::Tensor> lm_list(lm_tensor *const *ts, int64_t n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v.push_back(ts[i]->t);
  return v;
}
// oneDNN has no concatenation in this libtorch: mkldnn pieces are brought back to dense first.
static std::vector<at::Tensor> lm_dense_list(lm_tensor *const *ts, int64_t n) {
  std::vector<at::Tensor> v = lm_list(ts, n);
  for (auto &t : v) if (t.is_mkldnn()) t = t.to_dense();
  return v;
}
lm_tensor *lm_cat(lm_tensor *const *ts, int64_t n, int64_t dim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::cat(lm_dense_list(ts, n), dim)); })
}
lm_tensor *lm_stack(lm_tensor *const *ts, int64_t n, int64_t dim, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::stack(lm_list(ts, n), dim)); })
}
int64_t lm_split(const lm_tensor *a, int64_t size, int64_t dim, lm_tensor **out, int64_t cap, lm_error *err) {
  LM_GUARD(err, -1, {
    auto parts = a->t.split(size, dim);
    int64_t count = static_cast<int64_t>(parts.size());
    if (count > cap) throw std::invalid_argument("split produces " + std::to_string(count) + " pieces, room for " + std::to_string(cap));
    for (int64_t i = 0; i < count; ++i) out[i] = lm_wrap(parts[static_cast<size_t>(i)]);
    return count;
  })
}
lm_tensor *lm_index_select(const lm_tensor *a, int64_t dim, const lm_tensor *index, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::index_select(a->t, dim, index->t)); })
}
lm_tensor *lm_slice(const lm_tensor *a, int64_t dim, int64_t start, int64_t end, int64_t step, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.slice(dim, start, end, step)); })
}
lm_tensor *lm_select(const lm_tensor *a, int64_t dim, int64_t index, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.select(dim, index)); })
}
lm_tensor *lm_channels_last(const lm_tensor *a, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.contiguous(at::MemoryFormat::ChannelsLast)); })
}
bool lm_is_channels_last(const lm_tensor *a) {
  return !a->t.is_mkldnn() && a->t.is_contiguous(at::MemoryFormat::ChannelsLast);  // opaque tensors have no strides
}
lm_tensor *lm_to_mkldnn(const lm_tensor *a, lm_error *err) {
  LM_GUARD(err, nullptr, {
    if (a->t.is_mkldnn()) return lm_wrap(a->t);
    if (a->t.scalar_type() != at::kFloat || a->t.is_cuda()) throw std::invalid_argument("mkldnn tensors are float32 on the CPU");
    return lm_wrap(a->t.contiguous().to_mkldnn());
  })
}
lm_tensor *lm_to_dense(const lm_tensor *a, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(a->t.is_mkldnn() ? a->t.to_dense() : a->t); })
}
bool lm_is_mkldnn(const lm_tensor *a) { return a->t.is_mkldnn(); }
lm_tensor *lm_one_hot(const lm_tensor *a, int64_t num_classes, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::one_hot(a->t, num_classes)); })
}

// ---- autograd and in-place updates ----
int32_t lm_set_requires_grad(lm_tensor *t, bool requires_grad, lm_error *err) {
  LM_GUARD(err, -1, { t->t.set_requires_grad(requires_grad); return 0; })
}
bool lm_requires_grad(const lm_tensor *t) { return t->t.requires_grad(); }
int32_t lm_backward(const lm_tensor *t, const lm_tensor *grad, bool retain_graph, lm_error *err) {
  LM_GUARD(err, -1, {
    t->t.backward(lm_or_undefined(grad), retain_graph);
    return 0;
  })
}
lm_tensor *lm_grad(const lm_tensor *t, lm_error *err) {
  LM_GUARD(err, nullptr, {
    const at::Tensor &g = t->t.grad();
    return g.defined() ? lm_wrap(g) : nullptr;
  })
}
int32_t lm_zero_grad(lm_tensor *t, lm_error *err) {
  LM_GUARD(err, -1, { t->t.mutable_grad().reset(); return 0; })
}
int32_t lm_set_data(lm_tensor *t, const lm_tensor *src, lm_error *err) {
  LM_GUARD(err, -1, { t->t.set_data(src->t); return 0; })
}
int32_t lm_copy_(lm_tensor *dst, const lm_tensor *src, lm_error *err) {
  LM_GUARD(err, -1, { at::NoGradGuard g; dst->t.copy_(src->t); return 0; })
}
int32_t lm_fill_(lm_tensor *t, double value, lm_error *err) {
  LM_GUARD(err, -1, { at::NoGradGuard g; t->t.fill_(value); return 0; })
}
int32_t lm_uniform_(lm_tensor *t, double low, double high, lm_error *err) {
  LM_GUARD(err, -1, { at::NoGradGuard g; t->t.uniform_(low, high); return 0; })
}
int32_t lm_normal_(lm_tensor *t, double mean, double std, lm_error *err) {
  LM_GUARD(err, -1, { at::NoGradGuard g; t->t.normal_(mean, std); return 0; })
}
int32_t lm_add_(lm_tensor *dst, const lm_tensor *src, double alpha, lm_error *err) {
  LM_GUARD(err, -1, { at::NoGradGuard g; dst->t.add_(src->t, alpha); return 0; })
}
int32_t lm_mul_scalar_(lm_tensor *t, double s, lm_error *err) {
  LM_GUARD(err, -1, { at::NoGradGuard g; t->t.mul_(s); return 0; })
}
int32_t lm_relu_inplace(lm_tensor *t, lm_error *err) { LM_GUARD(err, -1, { t->t.relu_(); return 0; }) }
int32_t lm_add_inplace(lm_tensor *dst, const lm_tensor *src, lm_error *err) {
  LM_GUARD(err, -1, { dst->t.add_(src->t); return 0; })
}

}  // extern "C"

/* ctorch.h: the C ABI over libtorch that Lumen's Swift code calls.
 *
 * Rules: opaque handles, shapes as int64_t arrays, and an explicit `lm_error *` out-parameter on
 * every call that can fail. A failing call returns NULL (handles) or -1 (status) and fills the
 * error; the caller frees the message with lm_error_clear. Every handle returned is owned by the
 * caller and freed with its lm_*_free function. No C++ type crosses this header.
 */
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lm_malloc.h"  /* allocator controls, defined inline (not in the loaded bridge) */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_tensor lm_tensor;
typedef struct lm_optimizer lm_optimizer;

/** Error out-parameter: `failed` is non-zero after a failure; `message` is malloc'ed then. */
typedef struct lm_error {
  int32_t failed;
  char *message;
} lm_error;
void lm_error_clear(lm_error *err);

/* dtype codes (stable, shared with Swift's DType raw values) */
enum {
  LM_FLOAT32 = 0, LM_FLOAT64 = 1, LM_FLOAT16 = 2, LM_BFLOAT16 = 3,
  LM_INT64 = 4, LM_INT32 = 5, LM_UINT8 = 6, LM_BOOL = 7
};
/* device type codes */
enum { LM_CPU = 0, LM_CUDA = 1 };
/* loss reductions, as in PyTorch */
enum { LM_REDUCTION_NONE = 0, LM_REDUCTION_MEAN = 1, LM_REDUCTION_SUM = 2 };

/* ---------- runtime ---------- */
void lm_manual_seed(uint64_t seed);
/** Copies the CPU generator's state into out (when capacity allows); returns its size in bytes, -1 on failure. */
int64_t lm_cpu_rng_state(uint8_t *out, int64_t capacity);
/** Restores a state from lm_cpu_rng_state (invalid bytes are refused with an error). */
int32_t lm_set_cpu_rng_state(const uint8_t *bytes, int64_t n, lm_error *err);
void lm_set_num_threads(int32_t n);
/** Keeps freed tensor memory in the process (glibc malloc: no mmap below 32 MiB, no trimming below 1 GiB) instead of
 * returning it to the kernel and faulting it back in at the next step; the environment's MALLOC_* settings win. */
void lm_tune_allocator(void);
/** Hands freed heap memory back to the system (glibc's malloc_trim over every arena); 0 elsewhere. */
int32_t lm_release_free_memory(void);
/** Names the calling thread as `top -H`, `perf` and debuggers show it (Linux keeps the first 15 bytes). */
void lm_name_current_thread(const char *name);
int32_t lm_get_num_threads(void);
bool lm_cuda_is_available(void);
int32_t lm_cuda_device_count(void);
bool lm_is_grad_enabled(void);
/** Sets grad mode for the calling thread; returns the previous mode. */
bool lm_set_grad_enabled(bool enabled);
const char *lm_libtorch_version(void);

/* ---------- creation, inspection, host I/O ---------- */
void lm_tensor_free(lm_tensor *t);
/** Copies `nbytes` from `data` into a new CPU tensor of the given shape and dtype. */
lm_tensor *lm_tensor_from_data(const void *data, int64_t nbytes, const int64_t *shape, int64_t ndim,
                               int32_t dtype, lm_error *err);
/** Copies the tensor's elements (as contiguous, on CPU) into `dst`, which holds `nbytes`. */
int32_t lm_tensor_copy_to_host(const lm_tensor *t, void *dst, int64_t nbytes, lm_error *err);
int64_t lm_tensor_ndim(const lm_tensor *t);
void lm_tensor_shape(const lm_tensor *t, int64_t *out);
int64_t lm_tensor_numel(const lm_tensor *t);
int32_t lm_tensor_dtype(const lm_tensor *t);
int32_t lm_tensor_device_type(const lm_tensor *t);
int32_t lm_tensor_device_index(const lm_tensor *t);
double lm_tensor_item_double(const lm_tensor *t, lm_error *err);
int64_t lm_tensor_item_int64(const lm_tensor *t, lm_error *err);
/** Handle sharing storage with `t` (a second owner of the same tensor). */
lm_tensor *lm_tensor_alias(const lm_tensor *t, lm_error *err);
lm_tensor *lm_tensor_to(const lm_tensor *t, int32_t dtype, int32_t device_type, int32_t device_index,
                        lm_error *err);

lm_tensor *lm_zeros(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err);
lm_tensor *lm_ones(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err);
lm_tensor *lm_full(const int64_t *shape, int64_t ndim, double value, int32_t dtype, lm_error *err);
lm_tensor *lm_arange(double start, double end, double step, int32_t dtype, lm_error *err);
lm_tensor *lm_rand(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err);
lm_tensor *lm_randn(const int64_t *shape, int64_t ndim, int32_t dtype, lm_error *err);
lm_tensor *lm_randint(int64_t low, int64_t high, const int64_t *shape, int64_t ndim, int32_t dtype,
                      lm_error *err);
lm_tensor *lm_randperm(int64_t n, lm_error *err);
lm_tensor *lm_bernoulli(const lm_tensor *p, lm_error *err);

/* ---------- element-wise ops, generated from tables ---------- */
#define LM_UNARY_OPS(X)                                                                           \
  X(neg) X(abs) X(exp) X(log) X(sqrt) X(rsqrt) X(sin) X(cos) X(floor) X(ceil) X(round) X(sign)   \
  X(relu) X(sigmoid) X(tanh) X(gelu) X(logical_not) X(contiguous) X(clone) X(detach) X(isnan)    \
  X(log1p) X(expm1) X(reciprocal) X(square)
#define LM_BINARY_OPS(X)                                                                          \
  X(add) X(sub) X(mul) X(div) X(pow) X(maximum) X(minimum) X(matmul) X(eq) X(ne) X(lt) X(le)     \
  X(gt) X(ge) X(logical_and) X(logical_or) X(remainder) X(atan2)
#define LM_SCALAR_OPS(X)                                                                          \
  X(add) X(sub) X(mul) X(div) X(pow) X(rsub) X(rdiv) X(eq) X(ne) X(lt) X(le) X(gt) X(ge)        \
  X(remainder)

#define LM_DECLARE_UNARY(name) lm_tensor *lm_##name(const lm_tensor *a, lm_error *err);
#define LM_DECLARE_BINARY(name) lm_tensor *lm_##name(const lm_tensor *a, const lm_tensor *b, lm_error *err);
#define LM_DECLARE_SCALAR(name) lm_tensor *lm_##name##_scalar(const lm_tensor *a, double s, lm_error *err);
LM_UNARY_OPS(LM_DECLARE_UNARY)
LM_BINARY_OPS(LM_DECLARE_BINARY)
LM_SCALAR_OPS(LM_DECLARE_SCALAR)

lm_tensor *lm_where(const lm_tensor *cond, const lm_tensor *a, const lm_tensor *b, lm_error *err);
lm_tensor *lm_clamp(const lm_tensor *a, bool has_min, double min, bool has_max, double max, lm_error *err);
lm_tensor *lm_leaky_relu(const lm_tensor *a, double slope, lm_error *err);
lm_tensor *lm_softmax(const lm_tensor *a, int64_t dim, lm_error *err);
lm_tensor *lm_log_softmax(const lm_tensor *a, int64_t dim, lm_error *err);
lm_tensor *lm_masked_fill(const lm_tensor *a, const lm_tensor *mask, double value, lm_error *err);

/* ---------- reductions ---------- */
lm_tensor *lm_sum(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err);
lm_tensor *lm_mean(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err);
lm_tensor *lm_amax(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err);
lm_tensor *lm_amin(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool keepdim, lm_error *err);
lm_tensor *lm_var(const lm_tensor *a, const int64_t *dims, int64_t ndims, bool unbiased, bool keepdim,
                  lm_error *err);
/** dim < 0 with all_dims = true reduces the flattened tensor. */
lm_tensor *lm_argmax(const lm_tensor *a, int64_t dim, bool all_dims, bool keepdim, lm_error *err);
lm_tensor *lm_argmin(const lm_tensor *a, int64_t dim, bool all_dims, bool keepdim, lm_error *err);

/* ---------- shape ---------- */
lm_tensor *lm_reshape(const lm_tensor *a, const int64_t *shape, int64_t ndim, lm_error *err);
lm_tensor *lm_view(const lm_tensor *a, const int64_t *shape, int64_t ndim, lm_error *err);
lm_tensor *lm_expand(const lm_tensor *a, const int64_t *shape, int64_t ndim, lm_error *err);
lm_tensor *lm_permute(const lm_tensor *a, const int64_t *dims, int64_t ndim, lm_error *err);
lm_tensor *lm_transpose(const lm_tensor *a, int64_t d0, int64_t d1, lm_error *err);
lm_tensor *lm_flatten(const lm_tensor *a, int64_t start, int64_t end, lm_error *err);
lm_tensor *lm_squeeze(const lm_tensor *a, int64_t dim, bool all_dims, lm_error *err);
lm_tensor *lm_unsqueeze(const lm_tensor *a, int64_t dim, lm_error *err);
lm_tensor *lm_cat(lm_tensor *const *ts, int64_t n, int64_t dim, lm_error *err);
lm_tensor *lm_stack(lm_tensor *const *ts, int64_t n, int64_t dim, lm_error *err);
/** Splits into pieces of `size` along `dim`; writes up to `cap` handles to `out`, returns the count. */
int64_t lm_split(const lm_tensor *a, int64_t size, int64_t dim, lm_tensor **out, int64_t cap, lm_error *err);
lm_tensor *lm_index_select(const lm_tensor *a, int64_t dim, const lm_tensor *index, lm_error *err);
lm_tensor *lm_slice(const lm_tensor *a, int64_t dim, int64_t start, int64_t end, int64_t step, lm_error *err);
lm_tensor *lm_select(const lm_tensor *a, int64_t dim, int64_t index, lm_error *err);
/** Same values in NHWC ("channels last") memory order, which oneDNN convolutions run faster on CPU. */
lm_tensor *lm_channels_last(const lm_tensor *a, lm_error *err);
bool lm_is_channels_last(const lm_tensor *a);
lm_tensor *lm_one_hot(const lm_tensor *a, int64_t num_classes, lm_error *err);
/** oneDNN's opaque blocked layout ("mkldnn" tensors), for inference: convolutions, ReLU, pooling and sums
 *  stay in it; `lm_to_dense` brings a result back. Functions without a oneDNN kernel take dense input. */
lm_tensor *lm_to_mkldnn(const lm_tensor *a, lm_error *err);
lm_tensor *lm_to_dense(const lm_tensor *a, lm_error *err);
bool lm_is_mkldnn(const lm_tensor *a);

/* ---------- neural-network functions ---------- */
lm_tensor *lm_linear(const lm_tensor *x, const lm_tensor *w, const lm_tensor *b, lm_error *err);
lm_tensor *lm_conv2d(const lm_tensor *x, const lm_tensor *w, const lm_tensor *b, const int64_t *stride,
                     const int64_t *padding, const int64_t *dilation, int64_t groups, lm_error *err);
lm_tensor *lm_conv_transpose2d(const lm_tensor *x, const lm_tensor *w, const lm_tensor *b,
                               const int64_t *stride, const int64_t *padding, const int64_t *output_padding,
                               int64_t groups, const int64_t *dilation, lm_error *err);
/** An inference convolution: the weight (and bias) with an evaluation-mode batch norm folded in when
 *  `bn_var` is given (w·γ/√(σ²+ε), (b−μ)·γ/√(σ²+ε)+β), the weight reordered once into oneDNN's layout for these
 *  strides, paddings and dilations. Writes the packed weight and the (dense) bias. */
int32_t lm_mkldnn_pack_conv2d(const lm_tensor *w, const lm_tensor *b, const lm_tensor *bn_weight,
                              const lm_tensor *bn_bias, const lm_tensor *bn_mean, const lm_tensor *bn_var,
                              double bn_eps, const int64_t *stride, const int64_t *padding, const int64_t *dilation,
                              int64_t groups, lm_tensor **packed_weight, lm_tensor **packed_bias, lm_error *err);
/** A convolution of an mkldnn tensor with a weight from `lm_mkldnn_pack_conv2d`; the result stays mkldnn. */
lm_tensor *lm_mkldnn_conv2d(const lm_tensor *x, const lm_tensor *packed_weight, const lm_tensor *bias,
                            const int64_t *stride, const int64_t *padding, const int64_t *dilation, int64_t groups,
                            lm_error *err);
/** How a packed convolution runs: 0 direct; 1 Winograd F(2×2, 3×3) once it sees its first input (3×3, stride 1,
 *  at most 256×256 channels, not turned off with LUMEN_WINOGRAD=0); 2 Winograd, its weights made for the first
 *  input's size (other sizes run direct); 3 direct, oneDNN had no Winograd kernel for the first input's size. */
int32_t lm_mkldnn_conv2d_algorithm(const lm_tensor *packed_weight);
/** Whether packing makes Winograd convolutions: 0 not in this build (no oneDNN headers), 1 turned off by
 *  LUMEN_WINOGRAD=0, 2 yes. */
int32_t lm_winograd_support(void);
/** Layers of up to 128×128 channels also run whole batches of 3 or more images as Winograd F(4×4, 3×3): how many
 *  weight layouts for it (they depend on the batch size) the weight holds, at most 2. */
int32_t lm_mkldnn_conv2d_whole_batch_layouts(const lm_tensor *packed_weight);
/** Running statistics (may be NULL) are updated in place in training mode, as in PyTorch. */
lm_tensor *lm_batch_norm(const lm_tensor *x, const lm_tensor *weight, const lm_tensor *bias,
                         lm_tensor *running_mean, lm_tensor *running_var, bool training, double momentum,
                         double eps, lm_error *err);
lm_tensor *lm_max_pool2d(const lm_tensor *x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                         const int64_t *dilation, bool ceil_mode, lm_error *err);
lm_tensor *lm_avg_pool2d(const lm_tensor *x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                         bool ceil_mode, bool count_include_pad, lm_error *err);
lm_tensor *lm_adaptive_avg_pool2d(const lm_tensor *x, const int64_t *output_size, lm_error *err);
lm_tensor *lm_dropout(const lm_tensor *x, double p, bool training, lm_error *err);
/** mode 0 = nearest, 1 = bilinear. scale_h/scale_w <= 0 mean "derive from the sizes". */
lm_tensor *lm_interpolate(const lm_tensor *x, const int64_t *size, int32_t mode, bool align_corners,
                          double scale_h, double scale_w, lm_error *err);
lm_tensor *lm_cross_entropy(const lm_tensor *logits, const lm_tensor *target, const lm_tensor *weight,
                            int32_t reduction, int64_t ignore_index, double label_smoothing, lm_error *err);
lm_tensor *lm_bce_with_logits(const lm_tensor *logits, const lm_tensor *target, const lm_tensor *weight,
                              const lm_tensor *pos_weight, int32_t reduction, lm_error *err);
lm_tensor *lm_mse_loss(const lm_tensor *x, const lm_tensor *target, int32_t reduction, lm_error *err);

/* ---------- autograd and in-place updates ---------- */
int32_t lm_set_requires_grad(lm_tensor *t, bool requires_grad, lm_error *err);
bool lm_requires_grad(const lm_tensor *t);
/** Backward from `t`; `grad` may be NULL for a scalar. */
int32_t lm_backward(const lm_tensor *t, const lm_tensor *grad, bool retain_graph, lm_error *err);
/** The accumulated gradient, or NULL (with no error) when there is none. */
lm_tensor *lm_grad(const lm_tensor *t, lm_error *err);
int32_t lm_zero_grad(lm_tensor *t, lm_error *err);
/** Replaces the tensor's data (device/dtype move of a parameter, keeping its identity and grad flag). */
int32_t lm_set_data(lm_tensor *t, const lm_tensor *src, lm_error *err);
int32_t lm_copy_(lm_tensor *dst, const lm_tensor *src, lm_error *err);
int32_t lm_fill_(lm_tensor *t, double value, lm_error *err);
int32_t lm_uniform_(lm_tensor *t, double low, double high, lm_error *err);
int32_t lm_normal_(lm_tensor *t, double mean, double std, lm_error *err);
/** dst += alpha * src, in place and outside autograd. */
int32_t lm_add_(lm_tensor *dst, const lm_tensor *src, double alpha, lm_error *err);
/** In-place ops that autograd records (torchvision's `ReLU(inplace=True)` and `out += identity`). */
int32_t lm_relu_inplace(lm_tensor *t, lm_error *err);
int32_t lm_add_inplace(lm_tensor *dst, const lm_tensor *src, lm_error *err);
int32_t lm_mul_scalar_(lm_tensor *t, double s, lm_error *err);
/** Scales the gradients of `params` so that their total L2 norm is at most max_norm; returns the norm before. */
double lm_clip_grad_norm(lm_tensor *const *params, int64_t n, double max_norm, lm_error *err);

/* ---------- optimizers (libtorch's own, state kept in C++) ---------- */
lm_optimizer *lm_sgd_new(lm_tensor *const *params, int64_t n, double lr, double momentum, double dampening,
                         double weight_decay, bool nesterov, lm_error *err);
lm_optimizer *lm_adam_new(lm_tensor *const *params, int64_t n, double lr, double beta1, double beta2,
                          double eps, double weight_decay, bool amsgrad, bool decoupled, lm_error *err);
/** Adds a parameter group with the optimizer's defaults but its own learning rate and weight decay. */
int32_t lm_optimizer_add_group(lm_optimizer *o, lm_tensor *const *params, int64_t n, double lr,
                               double weight_decay, lm_error *err);
int64_t lm_optimizer_group_count(const lm_optimizer *o);
double lm_optimizer_get_lr(const lm_optimizer *o, int64_t group);
int32_t lm_optimizer_set_lr(lm_optimizer *o, int64_t group, double lr, lm_error *err);
int32_t lm_optimizer_step(lm_optimizer *o, lm_error *err);
/** Clears gradients: set_to_none drops them (PyTorch 2's default: no memset, backward writes instead of adding). */
int32_t lm_optimizer_zero_grad(lm_optimizer *o, bool set_to_none, lm_error *err);
/** Number of per-parameter state entries held (0 before the first step). */
int64_t lm_optimizer_state_count(const lm_optimizer *o);
/** Writes the optimizer's state (momenta, Adam moments and step counts, group options) to a file. */
int32_t lm_optimizer_save(const lm_optimizer *o, const char *path, lm_error *err);
/** Reads state written by lm_optimizer_save into an optimizer over the same parameters. */
int32_t lm_optimizer_load(lm_optimizer *o, const char *path, lm_error *err);
void lm_optimizer_free(lm_optimizer *o);

#ifdef __cplusplus
}
#endif
#endif

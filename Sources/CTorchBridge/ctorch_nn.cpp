// Neural-network functions and losses: one libtorch call each.
#include "ctorch_internal.hpp"

// Functions without a oneDNN kernel in this libtorch take an mkldnn input as dense.
static inline at::Tensor lm_dense(const at::Tensor &t) { return t.is_mkldnn() ? t.to_dense() : t; }

extern "C" {

lm_tensor *lm_linear(const lm_tensor *x, const lm_tensor *w, const lm_tensor *b, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::linear(x->t, w->t, lm_opt(b))); })
}

lm_tensor *lm_conv2d(const lm_tensor *x, const lm_tensor *w, const lm_tensor *b, const int64_t *stride,
                     const int64_t *padding, const int64_t *dilation, int64_t groups, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(at::conv2d(x->t, w->t, lm_opt(b), lm_dims(stride, 2), lm_dims(padding, 2), lm_dims(dilation, 2), groups));
  })
}

lm_tensor *lm_conv_transpose2d(const lm_tensor *x, const lm_tensor *w, const lm_tensor *b, const int64_t *stride,
                               const int64_t *padding, const int64_t *output_padding, int64_t groups,
                               const int64_t *dilation, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(at::conv_transpose2d(lm_dense(x->t), w->t, lm_opt(b), lm_dims(stride, 2), lm_dims(padding, 2),
                                        lm_dims(output_padding, 2), groups, lm_dims(dilation, 2)));
  })
}

int32_t lm_mkldnn_pack_conv2d(const lm_tensor *w, const lm_tensor *b, const lm_tensor *bn_weight,
                              const lm_tensor *bn_bias, const lm_tensor *bn_mean, const lm_tensor *bn_var,
                              double bn_eps, const int64_t *stride, const int64_t *padding, const int64_t *dilation,
                              int64_t groups, lm_tensor **packed_weight, lm_tensor **packed_bias, lm_error *err) {
  LM_GUARD(err, -1, {
    at::NoGradGuard no_grad;
    at::Tensor weight = w->t.detach().to(at::kFloat).contiguous();
    if (weight.dim() != 4 || weight.is_cuda()) throw std::invalid_argument("a packed convolution needs a 4-D CPU weight");
    int64_t out = weight.size(0);
    at::Tensor bias = b ? b->t.detach().to(at::kFloat) : at::zeros({out}, weight.options());
    if (bn_var) {
      if (!bn_mean || bn_var->t.numel() != out || bn_mean->t.numel() != out)
        throw std::invalid_argument("the batch norm's statistics do not match the convolution's " + std::to_string(out) + " outputs");
      at::Tensor scale = at::rsqrt(bn_var->t.detach().to(at::kFloat) + bn_eps);
      if (bn_weight) scale = scale * bn_weight->t.detach().to(at::kFloat);
      weight = weight * scale.reshape({out, 1, 1, 1});
      bias = (bias - bn_mean->t.detach().to(at::kFloat)) * scale;
      if (bn_bias) bias = bias + bn_bias->t.detach().to(at::kFloat);
    }
    at::Tensor packed = at::mkldnn_reorder_conv2d_weight(weight.contiguous().to_mkldnn(), lm_dims(padding, 2),
                                                         lm_dims(stride, 2), lm_dims(dilation, 2), groups);
    lm_tensor *result = lm_wrap(packed);
    // 3×3 stride-1 convolutions of up to 256×256 channels may run as Winograd (ctorch_winograd.cpp); the direct
    // packed weight stays for input sizes it has no kernel for.
    at::Tensor packed_b = bias.contiguous();
    if (lm_winograd_eligible(weight, stride, padding, dilation, groups))
      result->winograd = lm_winograd_make(weight, packed_b, padding);
    *packed_weight = result;
    *packed_bias = lm_wrap(packed_b);
    return 0;
  })
}

lm_tensor *lm_mkldnn_conv2d(const lm_tensor *x, const lm_tensor *packed_weight, const lm_tensor *bias,
                            const int64_t *stride, const int64_t *padding, const int64_t *dilation, int64_t groups,
                            lm_error *err) {
  LM_GUARD(err, nullptr, {
    if (!x->t.is_mkldnn()) throw std::invalid_argument("a packed convolution takes an mkldnn input");
    if (x->t.dim() != 4 || x->t.size(1) != packed_weight->t.size(1) * groups)
      throw std::invalid_argument("input of " + std::to_string(x->t.dim() == 4 ? x->t.size(1) : -1) + " channels for a convolution over " + std::to_string(packed_weight->t.size(1) * groups));
    at::Tensor out;
    if (packed_weight->winograd && lm_winograd_run(*packed_weight->winograd, x->t, bias ? &bias->t : nullptr, stride,
                                                   padding, dilation, groups, out))
      return lm_wrap(out);
    return lm_wrap(at::mkldnn_convolution(x->t, packed_weight->t, lm_opt(bias), lm_dims(padding, 2), lm_dims(stride, 2),
                                          lm_dims(dilation, 2), groups));
  })
}

int32_t lm_mkldnn_conv2d_algorithm(const lm_tensor *packed_weight) {
  return lm_winograd_state(packed_weight->winograd.get());
}

int32_t lm_mkldnn_conv2d_whole_batch_layouts(const lm_tensor *packed_weight) {
  return lm_winograd_whole_batch_layouts(packed_weight->winograd.get());
}

lm_tensor *lm_batch_norm(const lm_tensor *x, const lm_tensor *weight, const lm_tensor *bias, lm_tensor *running_mean,
                         lm_tensor *running_var, bool training, double momentum, double eps, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(at::batch_norm(x->t, lm_opt(weight), lm_opt(bias), lm_opt(running_mean), lm_opt(running_var),
                                  training, momentum, eps, /*cudnn_enabled=*/true));
  })
}

lm_tensor *lm_max_pool2d(const lm_tensor *x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                         const int64_t *dilation, bool ceil_mode, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(at::max_pool2d(x->t, lm_dims(kernel, 2), lm_dims(stride, 2), lm_dims(padding, 2),
                                  lm_dims(dilation, 2), ceil_mode));
  })
}

lm_tensor *lm_avg_pool2d(const lm_tensor *x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                         bool ceil_mode, bool count_include_pad, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(at::avg_pool2d(x->t, lm_dims(kernel, 2), lm_dims(stride, 2), lm_dims(padding, 2), ceil_mode,
                                  count_include_pad));
  })
}

lm_tensor *lm_adaptive_avg_pool2d(const lm_tensor *x, const int64_t *output_size, lm_error *err) {
  LM_GUARD(err, nullptr, {
    const at::Tensor &t = x->t;
    // oneDNN pools only when each output cell covers a whole number of input cells.
    bool even = t.dim() == 4 && output_size[0] > 0 && output_size[1] > 0 && t.size(2) % output_size[0] == 0 &&
                t.size(3) % output_size[1] == 0;
    return lm_wrap(at::adaptive_avg_pool2d(t.is_mkldnn() && !even ? t.to_dense() : t, lm_dims(output_size, 2)));
  })
}

lm_tensor *lm_dropout(const lm_tensor *x, double p, bool training, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::dropout(x->t, p, training)); })
}

lm_tensor *lm_interpolate(const lm_tensor *x, const int64_t *size, int32_t mode, bool align_corners, double scale_h,
                          double scale_w, lm_error *err) {
  LM_GUARD(err, nullptr, {
    c10::optional<double> sh = scale_h > 0 ? c10::optional<double>(scale_h) : c10::nullopt;
    c10::optional<double> sw = scale_w > 0 ? c10::optional<double>(scale_w) : c10::nullopt;
    if (x->t.dim() != 4) throw std::invalid_argument("interpolate expects a 4-D (N, C, H, W) tensor, got " + std::to_string(x->t.dim()) + "-D");
    if (mode == 0) return lm_wrap(at::upsample_nearest2d(lm_dense(x->t), lm_dims(size, 2), sh, sw));
    if (mode == 1) return lm_wrap(at::upsample_bilinear2d(lm_dense(x->t), lm_dims(size, 2), align_corners, sh, sw));
    throw std::invalid_argument("unknown interpolation mode " + std::to_string(mode));
  })
}

lm_tensor *lm_cross_entropy(const lm_tensor *logits, const lm_tensor *target, const lm_tensor *weight,
                            int32_t reduction, int64_t ignore_index, double label_smoothing, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(at::cross_entropy_loss(logits->t, target->t, lm_opt(weight), reduction, ignore_index, label_smoothing));
  })
}

lm_tensor *lm_bce_with_logits(const lm_tensor *logits, const lm_tensor *target, const lm_tensor *weight,
                              const lm_tensor *pos_weight, int32_t reduction, lm_error *err) {
  LM_GUARD(err, nullptr, {
    return lm_wrap(at::binary_cross_entropy_with_logits(logits->t, target->t, lm_opt(weight), lm_opt(pos_weight), reduction));
  })
}

lm_tensor *lm_mse_loss(const lm_tensor *x, const lm_tensor *target, int32_t reduction, lm_error *err) {
  LM_GUARD(err, nullptr, { return lm_wrap(at::mse_loss(x->t, target->t, reduction)); })
}

}  // extern "C"

// Neural-network functions and losses: one libtorch call each.
#include "ctorch_internal.hpp"

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
    return lm_wrap(at::conv_transpose2d(x->t, w->t, lm_opt(b), lm_dims(stride, 2), lm_dims(padding, 2),
                                        lm_dims(output_padding, 2), groups, lm_dims(dilation, 2)));
  })
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
  LM_GUARD(err, nullptr, { return lm_wrap(at::adaptive_avg_pool2d(x->t, lm_dims(output_size, 2))); })
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
    if (mode == 0) return lm_wrap(at::upsample_nearest2d(x->t, lm_dims(size, 2), sh, sw));
    if (mode == 1) return lm_wrap(at::upsample_bilinear2d(x->t, lm_dims(size, 2), align_corners, sh, sw));
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

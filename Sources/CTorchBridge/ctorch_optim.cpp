// libtorch's optimizers (their state lives here), gradient clipping, and device queries.
#include "ctorch_internal.hpp"

#include <torch/types.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <memory>

struct lm_optimizer {
  std::unique_ptr<torch::optim::Optimizer> opt;
};

static std::vector<at::Tensor> lm_params(lm_tensor *const *ps, int64_t n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v.push_back(ps[i]->t);
  return v;
}

extern "C" {

bool lm_cuda_is_available(void) {
  try { return torch::cuda::is_available(); } catch (...) { return false; }
}
int32_t lm_cuda_device_count(void) {
  try { return static_cast<int32_t>(torch::cuda::device_count()); } catch (...) { return 0; }
}

double lm_clip_grad_norm(lm_tensor *const *params, int64_t n, double max_norm, lm_error *err) {
  LM_GUARD(err, -1.0, { return torch::nn::utils::clip_grad_norm_(lm_params(params, n), max_norm, 2.0); })
}

lm_optimizer *lm_sgd_new(lm_tensor *const *params, int64_t n, double lr, double momentum, double dampening,
                         double weight_decay, bool nesterov, lm_error *err) {
  LM_GUARD(err, nullptr, {
    auto options = torch::optim::SGDOptions(lr).momentum(momentum).dampening(dampening).weight_decay(weight_decay).nesterov(nesterov);
    return new lm_optimizer{std::make_unique<torch::optim::SGD>(lm_params(params, n), options)};
  })
}

lm_optimizer *lm_adam_new(lm_tensor *const *params, int64_t n, double lr, double beta1, double beta2, double eps,
                          double weight_decay, bool amsgrad, bool decoupled, lm_error *err) {
  LM_GUARD(err, nullptr, {
    if (decoupled) {
      auto options = torch::optim::AdamWOptions(lr).betas(std::make_tuple(beta1, beta2)).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad);
      return new lm_optimizer{std::make_unique<torch::optim::AdamW>(lm_params(params, n), options)};
    }
    auto options = torch::optim::AdamOptions(lr).betas(std::make_tuple(beta1, beta2)).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad);
    return new lm_optimizer{std::make_unique<torch::optim::Adam>(lm_params(params, n), options)};
  })
}

int32_t lm_optimizer_add_group(lm_optimizer *o, lm_tensor *const *params, int64_t n, double lr, double weight_decay,
                               lm_error *err) {
  LM_GUARD(err, -1, {
    std::unique_ptr<torch::optim::OptimizerOptions> options = o->opt->defaults().clone();
    options->set_lr(lr);
    if (auto *s = dynamic_cast<torch::optim::SGDOptions *>(options.get())) s->weight_decay(weight_decay);
    if (auto *a = dynamic_cast<torch::optim::AdamOptions *>(options.get())) a->weight_decay(weight_decay);
    if (auto *w = dynamic_cast<torch::optim::AdamWOptions *>(options.get())) w->weight_decay(weight_decay);
    o->opt->add_param_group(torch::optim::OptimizerParamGroup(lm_params(params, n), std::move(options)));
    return 0;
  })
}

int64_t lm_optimizer_group_count(const lm_optimizer *o) { return static_cast<int64_t>(o->opt->param_groups().size()); }

double lm_optimizer_get_lr(const lm_optimizer *o, int64_t group) {
  const auto &groups = o->opt->param_groups();
  if (group < 0 || group >= static_cast<int64_t>(groups.size())) return -1.0;
  return groups[static_cast<size_t>(group)].options().get_lr();
}

int32_t lm_optimizer_set_lr(lm_optimizer *o, int64_t group, double lr, lm_error *err) {
  LM_GUARD(err, -1, {
    auto &groups = o->opt->param_groups();
    if (group < 0 || group >= static_cast<int64_t>(groups.size()))
      throw std::out_of_range("no parameter group " + std::to_string(group));
    groups[static_cast<size_t>(group)].options().set_lr(lr);
    return 0;
  })
}

int32_t lm_optimizer_step(lm_optimizer *o, lm_error *err) {
  LM_GUARD(err, -1, { o->opt->step(); return 0; })
}

int32_t lm_optimizer_zero_grad(lm_optimizer *o, bool set_to_none, lm_error *err) {
  LM_GUARD(err, -1, {
    if (!set_to_none) {
      o->opt->zero_grad();
      return 0;
    }
    for (auto &group : o->opt->param_groups())
      for (auto &p : group.params()) p.mutable_grad().reset();
    return 0;
  })
}

int64_t lm_optimizer_state_count(const lm_optimizer *o) { return static_cast<int64_t>(o->opt->state().size()); }

int32_t lm_optimizer_save(const lm_optimizer *o, const char *path, lm_error *err) {
  LM_GUARD(err, -1, {
    torch::serialize::OutputArchive archive;
    o->opt->save(archive);
    archive.save_to(std::string(path));
    return 0;
  })
}

int32_t lm_optimizer_load(lm_optimizer *o, const char *path, lm_error *err) {
  LM_GUARD(err, -1, {
    torch::serialize::InputArchive archive;
    archive.load_from(std::string(path));
    o->opt->load(archive);
    return 0;
  })
}

void lm_optimizer_free(lm_optimizer *o) { delete o; }

}  // extern "C"

// Winograd F(2×2, 3×3) and F(4×4, 3×3) for packed inference convolutions.
//
// libtorch's `mkldnn_convolution` always asks oneDNN for the direct algorithm. For 3×3, stride-1 convolutions
// oneDNN also has a Winograd kernel (`jit_fp32_wino_2x3`), which does 16 multiplications per 2×2 output tile
// where the direct one does 36: on this project's CPUs (AVX-512) ResNet's 64- to 256-channel 3×3 layers run
// about a third faster, with results within a few 1e-7 of the direct ones relative to their magnitude.
// Two things make it awkward, and this file handles them:
//  - its weights come in a layout of their own that depends on the input's height and width, so they are made
//    from the folded dense weight at the first call (the predictor's probe, at the model's input size) and the
//    dense copy is then dropped (small layers keep it, below); another input size uses the direct packed weight;
//  - the kernel takes one or two images at a time, so a batch runs as consecutive slices of its images (oneDNN's
//    blocked activation layouts keep each image contiguous).
// Layers of up to 128×128 channels also run whole batches of three or more images with the F(4×4, 3×3) kernel,
// whose weights depend on the batch size as well (`whole_batch`).
// Activations go in and out as libtorch's own mkldnn tensors (ideep), so the rest of the packed network is
// unchanged. Built only against Debian's libtorch, whose oneDNN (libdnnl.so.2) and ideep headers are the ones it
// was compiled with; elsewhere every convolution stays direct.
#include "ctorch_internal.hpp"

#include <cstring>
#include <mutex>

#ifdef LM_ONEDNN_WINOGRAD
#include <ideep.hpp>

// libtorch's bridge between its mkldnn tensors and ideep's (exported by libtorch_cpu; the header that declares
// them is not installed).
namespace at {
namespace native {
ideep::tensor &itensor_from_mkldnn(const at::Tensor &mkldnn_tensor);
at::Tensor new_with_itensor_mkldnn(ideep::tensor &&it, c10::optional<c10::ScalarType> dtype,
                                   c10::optional<c10::Device> device);
}  // namespace native
}  // namespace at
#endif

struct lm_winograd_conv {
  std::mutex lock;
  int64_t out_channels = 0, in_channels = 0, pad_h = 0, pad_w = 0;
  at::Tensor plain;   // a copy of the folded OIHW weight, until the Winograd weights are made
  at::Tensor bias;    // a copy of the folded bias, dense float [out_channels]
  at::Tensor packed_bias;  // the bias tensor handed out with the packed weight: a call with another runs direct
  int32_t state = 1;
#ifdef LM_ONEDNN_WINOGRAD
  int64_t height = -1, width = -1;  // the input size the weights were made for
  int64_t chunk = 1;                // images per kernel call: 1 or 2
  dnnl::memory weights, bias_memory;
  dnnl::memory::desc src_desc[2], dst_desc[2], scratchpad_desc[2];  // for one and for two images
  dnnl::convolution_forward primitive[2];
  dnnl::memory::format_tag src_tag = dnnl::memory::format_tag::undef, dst_tag = dnnl::memory::format_tag::undef;
  // Layers of up to 128×128 channels keep their folded weight to make F(4×4, 3×3) primitives for whole batches of
  // three or more images (a fifth faster again there; its weights take 4× the dense ones and depend on the batch
  // size, so at most two such weight layouts are kept, shared by the batch sizes that agree on one).
  struct Whole {
    int64_t images;
    std::shared_ptr<dnnl::memory> weights;  // null: no F(4×4, 3×3) kernel (or no room) for this batch size
    dnnl::memory::desc scratchpad_desc;
    dnnl::convolution_forward primitive;
  };
  std::vector<Whole> whole;
  int weight_layouts = 0;
#endif
};

int32_t lm_winograd_state(lm_winograd_conv *conv) {
  if (!conv) return 0;
  std::lock_guard<std::mutex> guard(conv->lock);
  return conv->state;
}

int32_t lm_winograd_whole_batch_layouts(lm_winograd_conv *conv) {
#ifdef LM_ONEDNN_WINOGRAD
  if (!conv) return 0;
  std::lock_guard<std::mutex> guard(conv->lock);
  return conv->weight_layouts;
#else
  return 0;
#endif
}

#ifdef LM_ONEDNN_WINOGRAD
namespace {
using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

void make_weights_or_throw(lm_winograd_conv &c, int64_t h, int64_t w);
bool run_or_throw(lm_winograd_conv &c, const at::Tensor &x, at::Tensor &out);

bool winograd_disabled() {
  const char *v = std::getenv("LUMEN_WINOGRAD");
  return v && (!std::strcmp(v, "0") || !std::strcmp(v, "off") || !std::strcmp(v, "false") || !std::strcmp(v, "no"));
}

// The Winograd primitive (`kernel`: oneDNN's implementation name, "wino_2x3" or "wino_4x3") for `n` images of h×w,
// if oneDNN has one for this shape.
bool winograd_descriptor(const lm_winograd_conv &c, int64_t n, int64_t h, int64_t w,
                         dnnl::convolution_forward::primitive_desc &out, const char *kernel = "wino_2x3") {
  int64_t oh = h + 2 * c.pad_h - 2, ow = w + 2 * c.pad_w - 2;
  if (oh <= 0 || ow <= 0) return false;
  try {
    dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd,
        memory::desc({n, c.in_channels, h, w}, dt::f32, tag::any),
        memory::desc({c.out_channels, c.in_channels, 3, 3}, dt::f32, tag::any),
        memory::desc({c.out_channels}, dt::f32, tag::x), memory::desc({n, c.out_channels, oh, ow}, dt::f32, tag::any),
        {1, 1}, {c.pad_h, c.pad_w}, {c.pad_h, c.pad_w});
    // The kernel's working buffers (transformed tiles, several MB for a large input) are given per call, as
    // libtorch's own convolutions do, instead of each primitive keeping its own for the life of the process.
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(d, attr, ideep::engine::cpu_engine());
    do {
      if (std::strstr(pd.impl_info_str(), kernel)) {
        out = pd;
        return true;
      }
    } while (pd.next_impl());
  } catch (const dnnl::error &) {
  }
  return false;
}

// The layout of `d` among those that keep each image contiguous (batch outermost), or undef.
tag batch_outer_tag(const memory::desc &d) {
  auto dims = d.dims();
  for (tag t : {tag::nChw16c, tag::nChw8c, tag::nchw, tag::nhwc})
    if (d == memory::desc(dims, dt::f32, t)) return t;
  return tag::undef;
}

// The folded weight reordered into a Winograd primitive's weight layout (a one-off transform per layout).
memory winograd_weights(const lm_winograd_conv &c, const memory::desc &layout) {
  auto &engine = ideep::engine::cpu_engine();
  dnnl::stream stream(engine);
  memory source({{c.out_channels, c.in_channels, 3, 3}, dt::f32, tag::oihw}, engine, c.plain.data_ptr<float>());
  memory weights(layout, engine);
  dnnl::reorder(source, weights).execute(stream, source, weights);
  stream.wait();
  return weights;
}

// Makes the Winograd weights for inputs of h×w (state 2), or settles on direct for good (state 3, also when oneDNN
// fails on the way: nothing half-made is kept).
void make_weights(lm_winograd_conv &c, int64_t h, int64_t w) {
  c.state = 3;
  try {
    make_weights_or_throw(c, h, w);
  } catch (const std::exception &) {  // state is still 3: it becomes 2 only at the very end
    c.weights = memory();
    c.primitive[0] = c.primitive[1] = dnnl::convolution_forward();
  }
  if (c.state == 3) c.plain = at::Tensor();
}

void make_weights_or_throw(lm_winograd_conv &c, int64_t h, int64_t w) {
  dnnl::convolution_forward::primitive_desc one, two;
  if (!winograd_descriptor(c, 1, h, w, one)) return;
  tag src = batch_outer_tag(one.src_desc()), dst = batch_outer_tag(one.dst_desc());
  if (src == tag::undef || dst == tag::undef) return;
  c.chunk = winograd_descriptor(c, 2, h, w, two) && two.weights_desc() == one.weights_desc() &&
                    batch_outer_tag(two.src_desc()) == src && batch_outer_tag(two.dst_desc()) == dst
                ? 2
                : 1;
  c.weights = winograd_weights(c, one.weights_desc());
  c.bias_memory = memory({{c.out_channels}, dt::f32, tag::x}, ideep::engine::cpu_engine());
  std::memcpy(c.bias_memory.get_data_handle(), c.bias.data_ptr<float>(), sizeof(float) * c.out_channels);
  c.src_desc[0] = one.src_desc();
  c.dst_desc[0] = one.dst_desc();
  c.scratchpad_desc[0] = one.scratchpad_desc();
  c.primitive[0] = dnnl::convolution_forward(one);
  if (c.chunk == 2) {
    c.src_desc[1] = two.src_desc();
    c.dst_desc[1] = two.dst_desc();
    c.scratchpad_desc[1] = two.scratchpad_desc();
    c.primitive[1] = dnnl::convolution_forward(two);
  }
  c.src_tag = src;
  c.dst_tag = dst;
  c.height = h;
  c.width = w;
  c.state = 2;
  // The Winograd weights replace the folded weight (another input size runs direct), which small layers keep for
  // whole-batch primitives.
  if (c.out_channels * c.in_channels > 128 * 128) c.plain = at::Tensor();
}

// The whole-batch F(4×4, 3×3) primitive for n images (lock held), made at the first batch of that size.
// (At most 32 batch sizes are remembered; a failure of oneDNN on the way leaves that batch size to the slices.)
const lm_winograd_conv::Whole *whole_batch(lm_winograd_conv &c, int64_t n) {
  if (!c.plain.defined() || n < 3) return nullptr;
  for (auto &w : c.whole)
    if (w.images == n) return w.weights ? &w : nullptr;
  if (c.whole.size() >= 32) return nullptr;
  lm_winograd_conv::Whole entry{n, nullptr, {}, {}};
  bool made = false;
  try {
    dnnl::convolution_forward::primitive_desc pd;
    if (winograd_descriptor(c, n, c.height, c.width, pd, "wino_4x3") && batch_outer_tag(pd.src_desc()) == c.src_tag &&
        batch_outer_tag(pd.dst_desc()) == c.dst_tag) {
      std::shared_ptr<memory> weights;
      for (auto &w : c.whole)
        if (w.weights && w.weights->get_desc() == pd.weights_desc()) weights = w.weights;
      if (!weights && c.weight_layouts < 2) {
        weights = std::make_shared<memory>(winograd_weights(c, pd.weights_desc()));
        made = true;
      }
      if (weights) {
        entry.scratchpad_desc = pd.scratchpad_desc();
        entry.primitive = dnnl::convolution_forward(pd);
        entry.weights = weights;
      }
    }
  } catch (const std::exception &) {
    entry.weights = nullptr;
    made = false;
  }
  if (made && entry.weights) c.weight_layouts++;
  c.whole.push_back(entry);
  return entry.weights ? &c.whole.back() : nullptr;
}
}  // namespace

int32_t lm_winograd_support(void) { return winograd_disabled() ? 1 : 2; }

bool lm_winograd_eligible(const at::Tensor &weight, const int64_t *stride, const int64_t *padding,
                          const int64_t *dilation, int64_t groups) {
  return weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 && stride[0] == 1 && stride[1] == 1 &&
         dilation[0] == 1 && dilation[1] == 1 && groups == 1 && padding[0] <= 1 && padding[1] <= 1 &&
         padding[0] >= 0 && padding[1] >= 0 && weight.size(0) % 16 == 0 && weight.size(1) % 16 == 0 &&
         weight.size(0) * weight.size(1) <= 256 * 256 && !winograd_disabled();
}

std::shared_ptr<lm_winograd_conv> lm_winograd_make(const at::Tensor &folded_weight, const at::Tensor &bias,
                                                   const int64_t *padding) {
  auto c = std::make_shared<lm_winograd_conv>();
  c->out_channels = folded_weight.size(0);
  c->in_channels = folded_weight.size(1);
  c->pad_h = padding[0];
  c->pad_w = padding[1];
  // Copies: without a batch norm to fold, the folded weight is the module's own parameter, which may change
  // after packing (the direct packed weight would not follow either; the copy keeps the two paths equal).
  c->plain = folded_weight.to(at::kFloat).contiguous().clone();
  c->bias = bias.to(at::kFloat).contiguous().clone();
  c->packed_bias = bias;
  return c;
}

bool lm_winograd_run(lm_winograd_conv &c, const at::Tensor &x, const at::Tensor *bias, const int64_t *stride,
                     const int64_t *padding, const int64_t *dilation, int64_t groups, at::Tensor &out) {
  // Only the convolution it was packed for: the same bias tensor and parameters, a float32 mkldnn input.
  if (x.dim() != 4 || x.size(1) != c.in_channels || x.size(0) < 1 || x.scalar_type() != at::kFloat || groups != 1 ||
      stride[0] != 1 || stride[1] != 1 || dilation[0] != 1 || dilation[1] != 1 || padding[0] != c.pad_h ||
      padding[1] != c.pad_w || !bias || !bias->is_same(c.packed_bias))
    return false;
  try {
    return run_or_throw(c, x, out);
  } catch (const std::exception &) {
    return false;  // oneDNN failed (memory?): the direct packed weight answers
  }
}

namespace {
bool run_or_throw(lm_winograd_conv &c, const at::Tensor &x, at::Tensor &out) {
  int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  lm_winograd_conv::Whole batch;  // a copy (handles are shared): the vector may grow once the lock is released
  bool whole = false;
  {
    std::lock_guard<std::mutex> guard(c.lock);
    if (c.state == 1) make_weights(c, h, w);
    if (c.state != 2 || h != c.height || w != c.width) return false;
    if (const auto *entry = whole_batch(c, n)) {
      batch = *entry;
      whole = true;
    }
  }
  // Past this point the state is fixed: the weights, descriptors and primitives are only read.
  at::AutoDispatchBelowAutograd below_autograd;  // ideep views of libtorch's tensors are taken below autograd
  ideep::tensor &given = at::native::itensor_from_mkldnn(x);
  memory::desc src_all({n, c.in_channels, h, w}, dt::f32, c.src_tag);
  ideep::tensor src = given;
  if (given.get_desc() != ideep::tensor::desc(src_all)) {
    src = ideep::tensor(ideep::tensor::desc(src_all));
    given.reorder_to(src);
  }
  int64_t oh = c.dst_desc[0].dims()[2], ow = c.dst_desc[0].dims()[3];
  memory::desc dst_all({n, c.out_channels, oh, ow}, dt::f32, c.dst_tag);
  ideep::tensor dst{ideep::tensor::desc(dst_all)};
  size_t src_image = src_all.get_size() / n, dst_image = dst_all.get_size() / n;
  auto &engine = ideep::engine::cpu_engine();
  dnnl::stream stream(engine);
  char *src_base = static_cast<char *>(src.get_data_handle()), *dst_base = static_cast<char *>(dst.get_data_handle());
  // Whole: one call over all n images; otherwise slices of `chunk` images (the last one may hold one).
  int64_t step = whole ? n : c.chunk;
  size_t scratch_bytes = whole ? batch.scratchpad_desc.get_size()
                               : std::max(c.scratchpad_desc[0].get_size(), c.chunk == 2 ? c.scratchpad_desc[1].get_size() : 0);
  at::Tensor scratch = at::empty({static_cast<int64_t>(std::max<size_t>(scratch_bytes, 1))}, at::kByte);
  for (int64_t i = 0; i < n; i += step) {
    int k = static_cast<int>(std::min<int64_t>(step, n - i)) - 1;
    memory s(whole ? src_all : c.src_desc[k], engine, src_base + i * src_image),
        d(whole ? dst_all : c.dst_desc[k], engine, dst_base + i * dst_image),
        pad(whole ? batch.scratchpad_desc : c.scratchpad_desc[k], engine, scratch.data_ptr());
    (whole ? batch.primitive : c.primitive[k])
        .execute(stream, {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, whole ? *batch.weights : c.weights},
                          {DNNL_ARG_BIAS, c.bias_memory}, {DNNL_ARG_DST, d}, {DNNL_ARG_SCRATCHPAD, pad}});
  }
  stream.wait();
  out = at::native::new_with_itensor_mkldnn(std::move(dst), at::kFloat, at::Device(at::kCPU));
  return true;
}
}  // namespace

#else  // built without oneDNN's headers: every packed convolution runs direct

int32_t lm_winograd_support(void) { return 0; }

bool lm_winograd_eligible(const at::Tensor &, const int64_t *, const int64_t *, const int64_t *, int64_t) {
  return false;
}
std::shared_ptr<lm_winograd_conv> lm_winograd_make(const at::Tensor &, const at::Tensor &, const int64_t *) {
  return nullptr;
}
bool lm_winograd_run(lm_winograd_conv &, const at::Tensor &, const at::Tensor *, const int64_t *, const int64_t *,
                     const int64_t *, int64_t, at::Tensor &) {
  return false;
}

#endif

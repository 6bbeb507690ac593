// Raster codecs and resampling through OpenCV.
#include "cimaging_internal.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <mutex>

#include <vector>

static std::atomic<int64_t> max_samples{int64_t(1) << 30};
int64_t ci_max_samples_value() { return max_samples.load(); }
void ci_set_max_samples(int64_t n) { max_samples.store(n > 0 ? n : (int64_t(1) << 30)); }
int64_t ci_get_max_samples(void) { return max_samples.load(); }
void ci_free(void *p) { std::free(p); }

static int32_t ci_type_of(int depth) {
  switch (depth) {
    case CV_8U: return CI_U8;
    case CV_8S: return CI_I8;
    case CV_16U: return CI_U16;
    case CV_16S: return CI_I16;
    case CV_32S: return CI_I32;
    case CV_32F: return CI_F32;
    case CV_64F: return CI_F64;
  }
  throw std::runtime_error("unsupported OpenCV depth " + std::to_string(depth));
}

static int cv_depth_of(int32_t type) {
  switch (type) {
    case CI_U8: return CV_8U;
    case CI_I8: return CV_8S;
    case CI_U16: return CV_16U;
    case CI_I16: return CV_16S;
    case CI_I32: return CV_32S;
    case CI_F32: return CV_32F;
    case CI_F64: return CV_64F;
  }
  throw std::invalid_argument("sample type " + std::to_string(type) + " cannot be encoded");
}

// OpenCV keeps colour as BGR(A); Lumen hands out RGB(A).
static cv::Mat to_rgb(const cv::Mat &m) {
  cv::Mat out;
  if (m.channels() == 3) cv::cvtColor(m, out, cv::COLOR_BGR2RGB);
  else if (m.channels() == 4) cv::cvtColor(m, out, cv::COLOR_BGRA2RGBA);
  else out = m;
  return out.isContinuous() ? out : out.clone();
}

static void fill_pixels(const std::vector<cv::Mat> &pages, ci_pixels *out) {
  const cv::Mat &first = pages.front();
  ci_check_samples(first.cols, first.rows, int64_t(pages.size()), first.channels());
  const size_t page_bytes = first.total() * first.elemSize();
  uint8_t *data = static_cast<uint8_t *>(ci_malloc(page_bytes * pages.size()));
  for (size_t i = 0; i < pages.size(); ++i) {
    cv::Mat rgb = to_rgb(pages[i]);
    std::memcpy(data + i * page_bytes, rgb.data, page_bytes);
  }
  *out = ci_pixels{};
  out->data = data;
  out->nbytes = int64_t(page_bytes * pages.size());
  out->width = first.cols;
  out->height = first.rows;
  out->frames = int32_t(pages.size());
  out->channels = first.channels();
  out->type = ci_type_of(first.depth());
}

// OpenCV reports decode failures on stderr too; Lumen reports them as errors instead.
static void quiet_opencv() {
  static std::once_flag once;
  std::call_once(once, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
}

int32_t ci_raster_decode(const uint8_t *bytes, int64_t len, ci_pixels *out, ci_error *err) {
  CI_GUARD(err, -1, {
    quiet_opencv();
    if (len <= 0) throw std::runtime_error("empty file");
    cv::Mat buf(1, int(len), CV_8U, const_cast<uint8_t *>(bytes));
    cv::Mat m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    if (m.empty()) throw std::runtime_error("OpenCV could not decode the image (corrupt or unsupported)");
    fill_pixels({m}, out);
    return 0;
  })
}

int32_t ci_raster_read_pages(const char *path, ci_pixels *out, ci_error *err) {
  CI_GUARD(err, -1, {
    quiet_opencv();
    std::vector<cv::Mat> pages;
    if (!cv::imreadmulti(path, pages, cv::IMREAD_UNCHANGED) || pages.empty())
      throw std::runtime_error("OpenCV could not decode the image stack (corrupt or unsupported)");
    for (const auto &p : pages)
      if (p.size() != pages[0].size() || p.type() != pages[0].type())
        throw std::runtime_error("the pages of the stack differ in size or sample type");
    fill_pixels(pages, out);
    return 0;
  })
}

int32_t ci_raster_encode(const char *ext, const void *data, int32_t width, int32_t height, int32_t channels,
                         int32_t type, uint8_t **out, int64_t *out_len, ci_error *err) {
  CI_GUARD(err, -1, {
    if (channels != 1 && channels != 3 && channels != 4) throw std::invalid_argument("can only encode 1, 3 or 4 channels");
    cv::Mat m(height, width, CV_MAKETYPE(cv_depth_of(type), channels), const_cast<void *>(data));
    cv::Mat bgr;
    if (channels == 3) cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    else if (channels == 4) cv::cvtColor(m, bgr, cv::COLOR_RGBA2BGRA);
    else bgr = m;
    std::vector<uint8_t> encoded;
    if (!cv::imencode(ext, bgr, encoded)) throw std::runtime_error(std::string("OpenCV cannot encode ") + ext);
    *out = static_cast<uint8_t *>(ci_malloc(encoded.size()));
    std::memcpy(*out, encoded.data(), encoded.size());
    *out_len = int64_t(encoded.size());
    return 0;
  })
}

static int cv_interp(int32_t i) {
  switch (i) {
    case CI_NEAREST: return cv::INTER_NEAREST;
    case CI_CUBIC: return cv::INTER_CUBIC;
    case CI_AREA: return cv::INTER_AREA;
    default: return cv::INTER_LINEAR;
  }
}

static int cv_border(int32_t b) {
  switch (b) {
    case CI_BORDER_REFLECT: return cv::BORDER_REFLECT_101;
    case CI_BORDER_REPLICATE: return cv::BORDER_REPLICATE;
    default: return cv::BORDER_CONSTANT;
  }
}

// OpenCV functions take at most 4 channels (CV_CN_MAX is 512, but remap and warpAffine 4); wider
// images are processed channel by channel.
template <typename F>
static void per_channel_group(const float *src, int32_t w, int32_t h, int32_t c, float *dst, int32_t dw, int32_t dh, F f) {
  if (c <= 4) {
    cv::Mat in(h, w, CV_32FC(c), const_cast<float *>(src));
    cv::Mat out(dh, dw, CV_32FC(c), dst);
    f(in, out);
    return;
  }
  std::vector<cv::Mat> planes;
  cv::split(cv::Mat(h, w, CV_32FC(c), const_cast<float *>(src)), planes);
  std::vector<cv::Mat> results(planes.size());
  for (size_t i = 0; i < planes.size(); ++i) {
    results[i] = cv::Mat(dh, dw, CV_32F);
    f(planes[i], results[i]);
  }
  cv::Mat merged(dh, dw, CV_32FC(c), dst);
  cv::merge(results, merged);
}

int32_t ci_resize(const float *src, int32_t w, int32_t h, int32_t c, float *dst, int32_t dw, int32_t dh,
                  int32_t interp, ci_error *err) {
  CI_GUARD(err, -1, {
    per_channel_group(src, w, h, c, dst, dw, dh, [&](const cv::Mat &in, cv::Mat &out) {
      cv::Mat r;
      cv::resize(in, r, cv::Size(dw, dh), 0, 0, cv_interp(interp));
      r.copyTo(out);
    });
    return 0;
  })
}

int32_t ci_warp_affine(const float *src, int32_t w, int32_t h, int32_t c, const double *m, float *dst,
                       int32_t dw, int32_t dh, int32_t interp, int32_t border, float border_value, ci_error *err) {
  CI_GUARD(err, -1, {
    cv::Mat matrix(2, 3, CV_64F, const_cast<double *>(m));
    per_channel_group(src, w, h, c, dst, dw, dh, [&](const cv::Mat &in, cv::Mat &out) {
      cv::Mat r;
      cv::warpAffine(in, r, matrix, cv::Size(dw, dh), cv_interp(interp), cv_border(border), cv::Scalar::all(border_value));
      r.copyTo(out);
    });
    return 0;
  })
}

int32_t ci_remap(const float *src, int32_t w, int32_t h, int32_t c, const float *map_x, const float *map_y,
                 float *dst, int32_t interp, int32_t border, ci_error *err) {
  CI_GUARD(err, -1, {
    cv::Mat mx(h, w, CV_32F, const_cast<float *>(map_x)), my(h, w, CV_32F, const_cast<float *>(map_y));
    per_channel_group(src, w, h, c, dst, w, h, [&](const cv::Mat &in, cv::Mat &out) {
      cv::Mat r;
      cv::remap(in, r, mx, my, cv_interp(interp), cv_border(border), cv::Scalar::all(0));
      r.copyTo(out);
    });
    return 0;
  })
}

int32_t ci_gaussian_blur(const float *src, int32_t w, int32_t h, int32_t c, double sigma, float *dst, ci_error *err) {
  CI_GUARD(err, -1, {
    per_channel_group(src, w, h, c, dst, w, h, [&](const cv::Mat &in, cv::Mat &out) {
      cv::Mat r;
      cv::GaussianBlur(in, r, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
      r.copyTo(out);
    });
    return 0;
  })
}

int32_t ci_clahe(const float *src, int32_t w, int32_t h, int32_t c, double clip_limit, int32_t tiles, float *dst,
                 ci_error *err) {
  CI_GUARD(err, -1, {
    std::vector<cv::Mat> planes;
    cv::split(cv::Mat(h, w, CV_32FC(c), const_cast<float *>(src)), planes);
    cv::Ptr<cv::CLAHE> clahe = cv::createCLAHE(clip_limit, cv::Size(tiles, tiles));
    for (auto &p : planes) {
      double lo, hi;
      cv::minMaxLoc(p, &lo, &hi);
      const double scale = hi > lo ? 65535.0 / (hi - lo) : 0.0;
      cv::Mat u16, eq;
      p.convertTo(u16, CV_16U, scale, -lo * scale);
      clahe->apply(u16, eq);
      eq.convertTo(p, CV_32F, scale > 0 ? 1.0 / scale : 0.0, lo);
    }
    cv::Mat merged(h, w, CV_32FC(c), dst);
    cv::merge(planes, merged);
    return 0;
  })
}

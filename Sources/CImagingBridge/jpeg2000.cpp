// JPEG 2000 frames (DICOM transfer syntaxes 1.2.840.10008.1.2.4.90/91 and HTJ2K) through OpenJPEG.
#include "cimaging_internal.hpp"

#include <openjpeg.h>

#include <algorithm>
#include <memory>

namespace {
struct MemoryStream {
  const uint8_t *data;
  size_t size;
  size_t pos;
};

OPJ_SIZE_T read_fn(void *buffer, OPJ_SIZE_T n, void *user) {
  auto *m = static_cast<MemoryStream *>(user);
  if (m->pos >= m->size) return OPJ_SIZE_T(-1);
  const size_t k = std::min<size_t>(n, m->size - m->pos);
  std::memcpy(buffer, m->data + m->pos, k);
  m->pos += k;
  return k;
}

OPJ_OFF_T skip_fn(OPJ_OFF_T n, void *user) {
  auto *m = static_cast<MemoryStream *>(user);
  if (n < 0) {
    const size_t back = std::min<size_t>(size_t(-n), m->pos);
    m->pos -= back;
    return -OPJ_OFF_T(back);
  }
  const size_t k = std::min<size_t>(size_t(n), m->size - m->pos);
  m->pos += k;
  return OPJ_OFF_T(k);
}

OPJ_BOOL seek_fn(OPJ_OFF_T n, void *user) {
  auto *m = static_cast<MemoryStream *>(user);
  if (n < 0 || size_t(n) > m->size) return OPJ_FALSE;
  m->pos = size_t(n);
  return OPJ_TRUE;
}

void quiet(const char *, void *) {}

struct Codec {
  opj_codec_t *codec = nullptr;
  opj_stream_t *stream = nullptr;
  opj_image_t *image = nullptr;
  ~Codec() {
    if (image) opj_image_destroy(image);
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
  }
};
}  // namespace

template <typename T>
static void store(const opj_image_t *img, int32_t samples, T *dst, size_t pixels) {
  for (int32_t s = 0; s < samples; ++s) {
    const OPJ_INT32 *src = img->comps[s].data;
    for (size_t i = 0; i < pixels; ++i) dst[i * samples + s] = T(src[i]);
  }
}

/// Decodes one JPEG 2000 codestream (or JP2 file) of `width` × `height` × `samples` into `dst`.
void ci_j2k_decode_frame(const uint8_t *bytes, size_t len, int32_t width, int32_t height, int32_t samples,
                         int32_t type, uint8_t *dst) {
  if (len < 12) throw std::runtime_error("JPEG 2000 fragment is too short");
  const bool jp2 = !(bytes[0] == 0xFF && bytes[1] == 0x4F);
  MemoryStream mem{bytes, len, 0};
  Codec c;
  c.codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  opj_set_error_handler(c.codec, quiet, nullptr);
  opj_set_warning_handler(c.codec, quiet, nullptr);
  opj_set_info_handler(c.codec, quiet, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(c.codec, &params)) throw std::runtime_error("OpenJPEG: cannot set up the decoder");
  c.stream = opj_stream_create(1 << 16, OPJ_TRUE);
  opj_stream_set_user_data(c.stream, &mem, nullptr);
  opj_stream_set_user_data_length(c.stream, len);
  opj_stream_set_read_function(c.stream, read_fn);
  opj_stream_set_skip_function(c.stream, skip_fn);
  opj_stream_set_seek_function(c.stream, seek_fn);
  if (!opj_read_header(c.stream, c.codec, &c.image) || !c.image)
    throw std::runtime_error("JPEG 2000 header is corrupt");
  const int64_t w = int64_t(c.image->x1) - c.image->x0, h = int64_t(c.image->y1) - c.image->y0;
  if (w != width || h != height || int32_t(c.image->numcomps) != samples)
    throw std::runtime_error("JPEG 2000 frame is " + std::to_string(w) + " x " + std::to_string(h) + " with " +
                             std::to_string(c.image->numcomps) + " components; the DICOM header says " +
                             std::to_string(width) + " x " + std::to_string(height) + " with " + std::to_string(samples));
  if (!opj_decode(c.codec, c.stream, c.image) || !opj_end_decompress(c.codec, c.stream))
    throw std::runtime_error("JPEG 2000 data is corrupt or truncated");
  for (int32_t s = 0; s < samples; ++s) {
    const opj_image_comp_t &comp = c.image->comps[s];
    if (!comp.data || comp.w != OPJ_UINT32(width) || comp.h != OPJ_UINT32(height))
      throw std::runtime_error("JPEG 2000 component " + std::to_string(s) + " is sub-sampled or missing");
  }
  const size_t pixels = size_t(width) * height;
  switch (type) {
    case CI_U8: store(c.image, samples, reinterpret_cast<uint8_t *>(dst), pixels); break;
    case CI_I8: store(c.image, samples, reinterpret_cast<int8_t *>(dst), pixels); break;
    case CI_U16: store(c.image, samples, reinterpret_cast<uint16_t *>(dst), pixels); break;
    case CI_I16: store(c.image, samples, reinterpret_cast<int16_t *>(dst), pixels); break;
    case CI_U32: store(c.image, samples, reinterpret_cast<uint32_t *>(dst), pixels); break;
    default: store(c.image, samples, reinterpret_cast<int32_t *>(dst), pixels); break;
  }
}

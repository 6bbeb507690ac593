// gzip/zlib streams for .nii.gz and compressed payloads.
#include "cimaging_internal.hpp"

#include <climits>
#include <vector>
#include <zlib.h>

namespace {
// Ends a zlib stream however the function leaves (an exception from a vector growing, say).
struct InflateStream {
  z_stream s{};
  bool open = false;
  ~InflateStream() { if (open) inflateEnd(&s); }
};
struct DeflateStream {
  z_stream s{};
  bool open = false;
  ~DeflateStream() { if (open) deflateEnd(&s); }
};
}  // namespace

int32_t ci_gunzip(const uint8_t *bytes, int64_t len, int32_t raw, int64_t max_out, uint8_t **out, int64_t *out_len, ci_error *err) {
  CI_GUARD(err, -1, {
    if (len < 0 || uint64_t(len) > UINT_MAX) throw std::runtime_error("compressed data larger than 4 GiB");
    InflateStream stream;
    z_stream &s = stream.s;
    if (inflateInit2(&s, raw ? -15 : 15 + 32) != Z_OK) throw std::runtime_error("zlib: cannot initialise");  // 32: gzip or zlib header
    stream.open = true;
    std::vector<uint8_t> result;
    std::vector<uint8_t> chunk(1 << 16);
    s.next_in = const_cast<uint8_t *>(bytes);
    s.avail_in = uInt(len);
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      s.next_out = chunk.data();
      s.avail_out = uInt(chunk.size());
      rc = inflate(&s, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END)
        throw std::runtime_error(rc == Z_BUF_ERROR ? "gzip stream is truncated" : "gzip stream is corrupt");
      const size_t produced = chunk.size() - s.avail_out;
      if (int64_t(result.size() + produced) > max_out)
        throw std::runtime_error("decompressed data exceeds the limit of " + std::to_string(max_out) + " bytes");
      result.insert(result.end(), chunk.data(), chunk.data() + produced);
      if (rc == Z_STREAM_END && s.avail_in > 0 && !raw) {  // concatenated gzip members
        inflateReset(&s);
        rc = Z_OK;
      }
      if (rc == Z_OK && s.avail_in == 0 && produced == 0) throw std::runtime_error("gzip stream is truncated");
    }
    *out = static_cast<uint8_t *>(ci_malloc(result.size()));
    std::memcpy(*out, result.data(), result.size());
    *out_len = int64_t(result.size());
    return 0;
  })
}

int32_t ci_gzip(const uint8_t *bytes, int64_t len, int32_t level, uint8_t **out, int64_t *out_len, ci_error *err) {
  CI_GUARD(err, -1, {
    if (len < 0 || uint64_t(len) > UINT_MAX) throw std::runtime_error("data larger than 4 GiB cannot be gzipped in one call");
    DeflateStream stream;
    z_stream &s = stream.s;
    if (deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("zlib: cannot initialise");
    stream.open = true;
    const uLong bound = deflateBound(&s, uLong(len)) + 32;
    uint8_t *buf = static_cast<uint8_t *>(ci_malloc(bound));  // throws std::bad_alloc: the stream still ends
    s.next_in = const_cast<uint8_t *>(bytes);
    s.avail_in = uInt(len);
    s.next_out = buf;
    s.avail_out = uInt(bound);
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) {
      std::free(buf);
      throw std::runtime_error("zlib: compression failed");
    }
    *out_len = int64_t(s.total_out);
    *out = buf;
    return 0;
  })
}

// DICOM through DCMTK: parsing, pixel decoding (native, JPEG, JPEG-LS, RLE, deflate) and writing
// (element access for de-identification is in dicom_elements.cpp). JPEG 2000 fragments go to jpeg2000.cpp (OpenJPEG), since DCMTK's free edition has no
// JPEG 2000 codec.
#include "dicom_internal.hpp"

#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unistd.h>
#include <vector>

// jpeg2000.cpp
void ci_j2k_decode_frame(const uint8_t *bytes, size_t len, int32_t width, int32_t height, int32_t samples,
                         int32_t type, uint8_t *dst);

static void ci_dicom_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    // Some writers encode the data set with another transfer syntax than the meta header says; read what is there.
    dcmAutoDetectDatasetXfer.set(OFTrue);
    DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation, EUC_default, EPC_default);
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

const char *ci_dcmtk_version(void) { return OFFIS_DCMTK_VERSION_STRING; }

static void check(const OFCondition &c, const std::string &what) {
  if (c.bad()) throw std::runtime_error(what + ": " + c.text());
}

ci_dicom *ci_dicom_open(const uint8_t *bytes, int64_t len, ci_error *err) {
  CI_GUARD(err, nullptr, {
    ci_dicom_init();
    if (len < 8) throw std::runtime_error("file is too short to be DICOM (" + std::to_string(len) + " bytes)");
    auto d = std::make_unique<ci_dicom>();
    DcmInputBufferStream stream;
    stream.setBuffer(bytes, offile_off_t(len));
    stream.setEos();
    d->file.transferInit();
    OFCondition c = d->file.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    d->file.transferEnd();
    check(c, "not a readable DICOM file");
    DcmDataset *ds = d->file.getDataset();
    if (!ds || ds->card() == 0) throw std::runtime_error("not a DICOM file: no data elements");
    return d.release();
  })
}

void ci_dicom_free(ci_dicom *d) { delete d; }

static bool is_bulk(DcmEVR vr) {
  switch (vr) {
    case EVR_OB: case EVR_OW: case EVR_OF: case EVR_OD: case EVR_OL: case EVR_OV: case EVR_UN: case EVR_SQ:
    case EVR_pixelSQ: case EVR_pixelItem: case EVR_item: case EVR_ox: case EVR_px:
      return true;
    default:
      return false;
  }
}

static void append_elements(DcmItem *item, const char *prefix, std::string &out) {
  if (!item) return;
  char key[16];
  for (unsigned long i = 0; i < item->card(); ++i) {
    DcmElement *e = item->getElement(i);
    if (!e || is_bulk(e->ident()) || e->getLength() > 4096) continue;
    OFString value;
    if (e->getOFStringArray(value).bad()) continue;
    for (auto &ch : value) if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
    DcmTag tag = e->getTag();
    std::snprintf(key, sizeof key, "%04x,%04x", tag.getGTag(), tag.getETag());
    out += prefix;
    out += key;
    out += '\t';
    out += tag.getTagName();
    out += '\t';
    out += DcmVR(e->ident()).getVRName();
    out += '\t';
    out += value.c_str();
    out += '\n';
  }
}

char *ci_dicom_attributes(ci_dicom *d, ci_error *err) {
  CI_GUARD(err, nullptr, {
    std::string out;
    append_elements(d->file.getDataset(), "", out);
    append_elements(d->file.getMetaInfo(), "meta:", out);
    DcmXfer xfer(d->file.getDataset()->getOriginalXfer());
    out += std::string("xfer:0000,0000\tTransferSyntaxName\tLO\t") + xfer.getXferName() + "\n";
    char *result = static_cast<char *>(ci_malloc(out.size() + 1));
    std::memcpy(result, out.c_str(), out.size() + 1);
    return result;
  })
}

static Uint16 get_u16(DcmItem *ds, const DcmTagKey &key, Uint16 fallback, bool required, const char *name) {
  Uint16 v = 0;
  if (ds->findAndGetUint16(key, v).good()) return v;
  if (required) throw std::runtime_error(std::string("missing or invalid ") + name);
  return fallback;
}

static bool is_j2k(E_TransferSyntax xfer) {
  switch (xfer) {
    case EXS_JPEG2000LosslessOnly: case EXS_JPEG2000: case EXS_JPEG2000MulticomponentLosslessOnly:
    case EXS_JPEG2000Multicomponent:
      return true;
    default:
      return false;
  }
}

static bool is_htj2k_uid(const OFString &uid) {
  return uid == "1.2.840.10008.1.2.4.201" || uid == "1.2.840.10008.1.2.4.202" || uid == "1.2.840.10008.1.2.4.203";
}

// Sign-extends or masks stored values to `bits_stored` bits in place.
template <typename T>
static void fix_bits(T *p, size_t n, int bits_stored, bool is_signed) {
  const int width = int(sizeof(T) * 8);
  if (bits_stored >= width || bits_stored <= 0) return;
  using U = typename std::make_unsigned<T>::type;
  const U mask = U((U(1) << bits_stored) - 1);
  const U sign = U(U(1) << (bits_stored - 1));
  for (size_t i = 0; i < n; ++i) {
    U v = U(p[i]) & mask;
    if (is_signed && (v & sign)) v = U(v | ~mask);
    p[i] = T(v);
  }
}

int32_t ci_dicom_pixels(ci_dicom *d, ci_pixels *out, ci_error *err) {
  CI_GUARD(err, -1, {
    ci_dicom_init();
    DcmDataset *ds = d->file.getDataset();
    DcmElement *pixel_element = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, pixel_element).bad() || !pixel_element)
      throw std::runtime_error("no Pixel Data (7FE0,0010): this DICOM object has no image");
    const Uint16 rows = get_u16(ds, DCM_Rows, 0, true, "Rows (0028,0010)");
    const Uint16 cols = get_u16(ds, DCM_Columns, 0, true, "Columns (0028,0011)");
    const Uint16 bits_allocated = get_u16(ds, DCM_BitsAllocated, 0, true, "Bits Allocated (0028,0100)");
    const Uint16 bits_stored = get_u16(ds, DCM_BitsStored, bits_allocated, false, "");
    const Uint16 representation = get_u16(ds, DCM_PixelRepresentation, 0, false, "");
    const Uint16 samples = get_u16(ds, DCM_SamplesPerPixel, 1, false, "");
    const Uint16 planar = get_u16(ds, DCM_PlanarConfiguration, 0, false, "");
    Sint32 frames = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
    OFString photometric;
    ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    if (samples != 1 && samples != 3 && samples != 4)
      throw std::runtime_error("unsupported Samples per Pixel (0028,0002) " + std::to_string(samples));
    if (bits_allocated != 1 && bits_allocated != 8 && bits_allocated != 16 && bits_allocated != 32)
      throw std::runtime_error("unsupported Bits Allocated (0028,0100) " + std::to_string(bits_allocated));
    if (bits_stored > bits_allocated || bits_stored == 0)
      throw std::runtime_error("Bits Stored (0028,0101) " + std::to_string(bits_stored) + " does not fit Bits Allocated " +
                               std::to_string(bits_allocated));
    ci_check_samples(cols, rows, frames, samples);
    const bool is_signed = representation == 1;
    int32_t type;
    switch (bits_allocated) {
      case 1: case 8: type = is_signed ? CI_I8 : CI_U8; break;
      case 16: type = is_signed ? CI_I16 : CI_U16; break;
      default: type = is_signed ? CI_I32 : CI_U32; break;
    }
    const size_t pixels_per_frame = size_t(rows) * cols;
    const size_t count = pixels_per_frame * size_t(frames) * samples;
    const size_t nbytes = count * ci_type_size(type);
    std::unique_ptr<uint8_t, decltype(&std::free)> data(static_cast<uint8_t *>(ci_malloc(nbytes)), &std::free);

    E_TransferSyntax xfer = ds->getOriginalXfer();
    OFString xfer_uid;
    d->file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, xfer_uid);
    DcmXfer xfer_info(xfer);
    const bool j2k = is_j2k(xfer) || is_htj2k_uid(xfer_uid);
    if (xfer_info.isEncapsulated() || j2k) {
      if (j2k) {
        DcmPixelData *pix = static_cast<DcmPixelData *>(pixel_element);
        DcmPixelSequence *seq = nullptr;
        check(pix->getEncapsulatedRepresentation(xfer, nullptr, seq), "JPEG 2000 pixel data");
        if (!seq || seq->card() < 2) throw std::runtime_error("JPEG 2000 pixel data has no fragments");
        // Item 0 is the basic offset table; then one fragment per frame, or all fragments form one frame.
        const unsigned long fragments = seq->card() - 1;
        std::vector<std::vector<uint8_t>> frame_bytes;
        if (fragments == unsigned(frames)) {
          for (unsigned long i = 1; i <= fragments; ++i) {
            DcmPixelItem *item = nullptr;
            Uint8 *p = nullptr;
            check(seq->getItem(item, i), "JPEG 2000 fragment");
            if (item->getLength() > 0) check(item->getUint8Array(p), "JPEG 2000 fragment");
            frame_bytes.emplace_back(p, p + (p ? item->getLength() : 0));
          }
        } else if (frames == 1) {
          std::vector<uint8_t> all;
          for (unsigned long i = 1; i <= fragments; ++i) {
            DcmPixelItem *item = nullptr;
            Uint8 *p = nullptr;
            check(seq->getItem(item, i), "JPEG 2000 fragment");
            if (item->getLength() > 0 && item->getUint8Array(p).good() && p) all.insert(all.end(), p, p + item->getLength());
          }
          frame_bytes.push_back(std::move(all));
        } else {
          throw std::runtime_error("JPEG 2000 frames split over several fragments are not supported (" +
                                   std::to_string(fragments) + " fragments for " + std::to_string(frames) + " frames)");
        }
        const size_t frame_size = pixels_per_frame * samples * ci_type_size(type);
        for (size_t f = 0; f < frame_bytes.size(); ++f)
          ci_j2k_decode_frame(frame_bytes[f].data(), frame_bytes[f].size(), cols, rows, samples, type,
                              data.get() + f * frame_size);
        if (samples == 3 && (photometric == "YBR_ICT" || photometric == "YBR_RCT")) photometric = "RGB";
        if (bits_allocated > 8) {
          if (type == CI_I16 || type == CI_U16) fix_bits(reinterpret_cast<int16_t *>(data.get()), count, bits_stored, is_signed);
        }
      } else {
        OFCondition c = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (c.bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit))
          throw std::runtime_error(std::string("cannot decode the pixel data (") + xfer_info.getXferName() + "): " + c.text());
        ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);  // the codec may convert YBR to RGB
        pixel_element = nullptr;
        ds->findAndGetElement(DCM_PixelData, pixel_element);
        if (!pixel_element) throw std::runtime_error("decoded pixel data is missing");
      }
    }
    if (!j2k) {
      // Native (or just decompressed) pixel data in local byte order.
      const bool subsampled = photometric == "YBR_FULL_422" && samples == 3 && bits_allocated == 8 && !xfer_info.isEncapsulated();
      size_t expected = bits_allocated == 1 ? (count + 7) / 8 : nbytes;
      if (subsampled) expected = pixels_per_frame * frames * 2;
      const Uint8 *raw = nullptr;
      Uint16 *raw16 = nullptr;
      unsigned long available = 0;
      if (bits_allocated == 16) {
        check(pixel_element->getUint16Array(raw16), "Pixel Data");
        raw = reinterpret_cast<const Uint8 *>(raw16);
        available = pixel_element->getLength();
      } else {
        Uint8 *p8 = nullptr;
        if (pixel_element->ident() == EVR_OW && bits_allocated == 8) {
          check(pixel_element->getUint16Array(raw16), "Pixel Data");
          raw = reinterpret_cast<const Uint8 *>(raw16);
        } else {
          check(pixel_element->getUint8Array(p8), "Pixel Data");
          raw = p8;
        }
        available = pixel_element->getLength();
      }
      if (!raw || available < expected)
        throw std::runtime_error("Pixel Data is truncated: " + std::to_string(available) + " bytes, " +
                                 std::to_string(expected) + " expected for " + std::to_string(frames) + " frame(s) of " +
                                 std::to_string(cols) + " x " + std::to_string(rows));
      uint8_t *dst = data.get();
      if (bits_allocated == 1) {
        for (size_t i = 0; i < count; ++i) dst[i] = (raw[i / 8] >> (i % 8)) & 1;
      } else if (subsampled) {
        // Y1 Y2 Cb Cr per pair of pixels; chroma repeated (pydicom does the same).
        for (size_t f = 0; f < size_t(frames); ++f)
          for (size_t r = 0; r < rows; ++r)
            for (size_t c = 0; c < cols; ++c) {
              const size_t pair = (f * pixels_per_frame + r * cols + c) / 2;
              const uint8_t *q = raw + pair * 4;
              uint8_t *o = dst + (f * pixels_per_frame + r * cols + c) * 3;
              o[0] = q[(c % 2)];
              o[1] = q[2];
              o[2] = q[3];
            }
        photometric = "YBR_FULL";
      } else if (samples > 1 && planar == 1 && !xfer_info.isEncapsulated()) {
        const size_t size = ci_type_size(type);
        for (size_t f = 0; f < size_t(frames); ++f)
          for (size_t s = 0; s < samples; ++s)
            for (size_t i = 0; i < pixels_per_frame; ++i)
              std::memcpy(dst + ((f * pixels_per_frame + i) * samples + s) * size,
                          raw + ((f * samples + s) * pixels_per_frame + i) * size, size);
      } else {
        std::memcpy(dst, raw, nbytes);
      }
      if (bits_allocated == 8 || bits_allocated == 1) fix_bits(reinterpret_cast<int8_t *>(dst), count, bits_allocated == 1 ? 8 : bits_stored, is_signed);
      if (bits_allocated == 16) fix_bits(reinterpret_cast<int16_t *>(dst), count, bits_stored, is_signed);
      if (bits_allocated == 32) {
        // DCMTK swaps OW data as 16-bit words; a big-endian 32-bit sample also needs its halves exchanged.
        if (xfer_info.isBigEndian() && !xfer_info.isEncapsulated() && pixel_element->ident() != EVR_OL) {
          uint16_t *w = reinterpret_cast<uint16_t *>(dst);
          for (size_t i = 0; i < count; ++i) std::swap(w[2 * i], w[2 * i + 1]);
        }
        fix_bits(reinterpret_cast<int32_t *>(dst), count, bits_stored, is_signed);
      }
    }
    *out = ci_pixels{};
    out->data = data.release();
    out->nbytes = int64_t(nbytes);
    out->width = cols;
    out->height = rows;
    out->frames = frames;
    out->channels = samples;
    out->type = type;
    std::snprintf(out->photometric, sizeof out->photometric, "%s", photometric.c_str());
    return 0;
  })
}

static std::vector<uint8_t> save_to_memory(DcmFileFormat &file, E_TransferSyntax xfer) {
  char path[] = "/tmp/lumen-dicom-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("cannot create a temporary file");
  close(fd);
  OFCondition c = file.saveFile(path, xfer, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0, EWM_updateMeta);
  std::vector<uint8_t> bytes;
  if (c.good()) {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::remove(path);
  check(c, "cannot write DICOM");
  return bytes;
}

static void hand_out(const std::vector<uint8_t> &bytes, uint8_t **out, int64_t *out_len) {
  *out = static_cast<uint8_t *>(ci_malloc(bytes.size()));
  std::memcpy(*out, bytes.data(), bytes.size());
  *out_len = int64_t(bytes.size());
}

int32_t ci_dicom_write(const char *attributes, const void *pixels, int32_t width, int32_t height, int32_t frames,
                       int32_t channels, int32_t type, uint8_t **out, int64_t *out_len, ci_error *err) {
  CI_GUARD(err, -1, {
    ci_dicom_init();
    if (type != CI_U8 && type != CI_U16 && type != CI_I16) throw std::invalid_argument("can only write 8 or 16-bit pixels");
    ci_check_samples(width, height, frames, channels);
    DcmFileFormat file;
    DcmDataset *ds = file.getDataset();
    std::stringstream ss(attributes ? attributes : "");
    std::string line;
    while (std::getline(ss, line)) {
      const size_t tab = line.find('\t');
      if (tab == std::string::npos) continue;
      DcmTag tag;
      const std::string name = line.substr(0, tab);
      check(DcmTag::findTagFromName(name.c_str(), tag), "unknown DICOM keyword '" + name + "'");
      check(ds->putAndInsertString(tag, line.substr(tab + 1).c_str()), "cannot set " + name);
    }
    const int bits = type == CI_U8 ? 8 : 16;
    ds->putAndInsertUint16(DCM_Rows, Uint16(height));
    ds->putAndInsertUint16(DCM_Columns, Uint16(width));
    ds->putAndInsertUint16(DCM_SamplesPerPixel, Uint16(channels));
    ds->putAndInsertUint16(DCM_BitsAllocated, Uint16(bits));
    ds->putAndInsertUint16(DCM_BitsStored, Uint16(bits));
    ds->putAndInsertUint16(DCM_HighBit, Uint16(bits - 1));
    ds->putAndInsertUint16(DCM_PixelRepresentation, type == CI_I16 ? 1 : 0);
    if (channels > 1) ds->putAndInsertUint16(DCM_PlanarConfiguration, 0);
    if (frames > 1) ds->putAndInsertString(DCM_NumberOfFrames, std::to_string(frames).c_str());
    const size_t count = size_t(width) * height * frames * channels;
    if (bits == 8) check(ds->putAndInsertUint8Array(DCM_PixelData, static_cast<const Uint8 *>(pixels), count), "Pixel Data");
    else check(ds->putAndInsertUint16Array(DCM_PixelData, static_cast<const Uint16 *>(pixels), count), "Pixel Data");
    hand_out(save_to_memory(file, EXS_LittleEndianExplicit), out, out_len);
    return 0;
  })
}

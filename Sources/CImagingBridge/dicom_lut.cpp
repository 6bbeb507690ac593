// DICOM lookup tables through DCMTK: the Modality LUT Sequence (0028,3000) and VOI LUT Sequence
// (0028,3010), read as PS3.3 C.11.1 and C.11.2 define them; applying them is Swift's job.
#include "dicom_internal.hpp"

#include <vector>

// The raw 16-bit words of a US, SS or OW element (empty when absent).
static std::vector<uint16_t> words(DcmItem *item, const DcmTagKey &key, DcmEVR &vr) {
  DcmElement *e = nullptr;
  if (item->findAndGetElement(key, e, OFFalse).bad() || !e) return {};
  vr = e->ident();
  const unsigned long bytes = e->getLength();
  Uint16 *u = nullptr;
  if (e->getUint16Array(u).good() && u) return std::vector<uint16_t>(u, u + bytes / 2);
  Sint16 *s = nullptr;
  if (e->getSint16Array(s).good() && s) {
    std::vector<uint16_t> out(bytes / 2);
    std::memcpy(out.data(), s, out.size() * 2);
    return out;
  }
  // Single-valued or VM-n US/SS elements: value by value.
  std::vector<uint16_t> out;
  for (unsigned long i = 0; i < e->getVM(); ++i) {
    Uint16 v16 = 0;
    Sint16 s16 = 0;
    if (e->getUint16(v16, i).good()) out.push_back(v16);
    else if (e->getSint16(s16, i).good()) out.push_back(uint16_t(s16));
    else break;
  }
  return out;
}

int32_t ci_dicom_lut(ci_dicom *d, int32_t kind, int32_t index, ci_lut *out, ci_error *err) {
  CI_GUARD(err, -1, {
    *out = ci_lut{};
    DcmDataset *ds = d->file.getDataset();
    const DcmTagKey sequence = kind == CI_LUT_MODALITY ? DCM_ModalityLUTSequence : DCM_VOILUTSequence;
    const char *name = kind == CI_LUT_MODALITY ? "Modality LUT Sequence (0028,3000)" : "VOI LUT Sequence (0028,3010)";
    DcmItem *item = nullptr;
    if (ds->findAndGetSequenceItem(sequence, item, index).bad() || !item) return 0;
    DcmEVR descriptor_vr = EVR_UNKNOWN, data_vr = EVR_UNKNOWN;
    const std::vector<uint16_t> descriptor = words(item, DCM_LUTDescriptor, descriptor_vr);
    if (descriptor.size() != 3)
      throw std::runtime_error(std::string(name) + ": LUT Descriptor (0028,3002) has " + std::to_string(descriptor.size()) +
                               " values, 3 expected");
    Uint16 representation = 0;
    ds->findAndGetUint16(DCM_PixelRepresentation, representation);
    // PS3.3 C.11.1.1.1: 0 entries means 65536; the first mapped value is signed when the input is.
    const int32_t entries = descriptor[0] == 0 ? 65536 : descriptor[0];
    const bool signed_first = descriptor_vr == EVR_SS || representation == 1;
    const int32_t first = signed_first ? int32_t(int16_t(descriptor[1])) : int32_t(descriptor[1]);
    const int32_t bits = descriptor[2];
    if (bits < 1 || bits > 16)
      throw std::runtime_error(std::string(name) + ": LUT Descriptor bits " + std::to_string(bits) + " is not 1 to 16");
    const std::vector<uint16_t> data = words(item, DCM_LUTData, data_vr);
    if (data.size() < size_t(entries))
      throw std::runtime_error(std::string(name) + ": LUT Data (0028,3006) has " + std::to_string(data.size()) +
                               " values, the descriptor declares " + std::to_string(entries));
    out->data = static_cast<uint16_t *>(ci_malloc(size_t(entries) * 2));
    std::memcpy(out->data, data.data(), size_t(entries) * 2);
    out->entries = entries;
    out->first_mapped = first;
    out->bits = bits;
    return 1;
  })
}

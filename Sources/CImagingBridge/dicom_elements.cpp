// Generic element access on a parsed DICOM file (DCMTK): list every element (sequences included), set
// or delete one by its path, and write the file back. No policy lives here: what to change is decided in
// Swift (LumenImaging's DeIdentifier).
//
// A path names an element through the items that hold it: "0010,0020" at the top level,
// "0008,1140[0]/0008,1155" inside item 0 of a sequence. Group 0002 at the top level is the file meta
// information.
#include "dicom_internal.hpp"

#include <dcmtk/dcmdata/dcostrmb.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace {

struct Step {
  DcmTagKey key;
  long item;  // -1 on the last step
};

DcmTagKey parse_tag(const std::string &text) {
  unsigned g = 0, e = 0;
  char tail = 0;
  if (text.size() != 9 || std::sscanf(text.c_str(), "%4x,%4x%c", &g, &e, &tail) != 2)
    throw std::invalid_argument("invalid element path step '" + text + "' (expected gggg,eeee)");
  return DcmTagKey(Uint16(g), Uint16(e));
}

std::vector<Step> parse_path(const char *path) {
  if (!path || !*path) throw std::invalid_argument("empty element path");
  std::vector<Step> steps;
  std::string rest(path);
  while (true) {
    const size_t slash = rest.find('/');
    std::string part = rest.substr(0, slash);
    long item = -1;
    const size_t bracket = part.find('[');
    if (bracket != std::string::npos) {
      const std::string index = part.size() > bracket + 2 && part.back() == ']' ? part.substr(bracket + 1, part.size() - bracket - 2) : "";
      if (index.empty() || index.size() > 9 || index.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument(std::string("invalid item index in element path '") + path + "'");
      item = std::stol(index);
      part = part.substr(0, bracket);
    }
    steps.push_back({parse_tag(part), item});
    if (slash == std::string::npos) break;
    if (item < 0) throw std::invalid_argument(std::string("a sequence step needs an item index in '") + path + "'");
    rest = rest.substr(slash + 1);
  }
  if (steps.back().item >= 0) throw std::invalid_argument(std::string("an element path must end at an element: '") + path + "'");
  return steps;
}

// The item that holds the path's last element. With `create`, missing sequences are created and an
// index equal to the item count appends an item; without it, a missing step gives nullptr.
DcmItem *holder(ci_dicom *d, const std::vector<Step> &steps, bool create) {
  if (steps.size() == 1 && steps[0].key.getGroup() == 0x0002) return d->file.getMetaInfo();
  DcmItem *item = d->file.getDataset();
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    DcmSequenceOfItems *seq = nullptr;
    if (item->findAndGetSequence(steps[i].key, seq, OFFalse).bad() || !seq) {
      if (!create) return nullptr;
      auto fresh = std::make_unique<DcmSequenceOfItems>(DcmTag(steps[i].key, EVR_SQ));
      if (item->insert(fresh.get(), OFTrue).bad()) throw std::runtime_error("cannot create a sequence");
      seq = fresh.release();
    }
    const long count = long(seq->card());
    if (steps[i].item > count || (steps[i].item == count && !create)) {
      if (!create) return nullptr;
      throw std::out_of_range("item " + std::to_string(steps[i].item) + " of a sequence of " + std::to_string(count) + " items");
    }
    if (steps[i].item == count) {
      auto fresh = std::make_unique<DcmItem>();
      if (seq->append(fresh.get()).bad()) throw std::runtime_error("cannot append a sequence item");
      fresh.release();
    }
    item = seq->getItem(static_cast<unsigned long>(steps[i].item));
    if (!item) throw std::runtime_error("missing sequence item");
  }
  return item;
}

bool is_bulk(DcmEVR vr) {
  switch (vr) {
    case EVR_OB: case EVR_OW: case EVR_OF: case EVR_OD: case EVR_OL: case EVR_OV: case EVR_UN: case EVR_ox:
    case EVR_px: case EVR_pixelSQ: case EVR_pixelItem: case EVR_PixelData: case EVR_OverlayData:
      return true;
    default:
      return false;
  }
}

// Tabs, line ends, '%' and other control bytes as %XX, so that a value stays on its line.
void append_escaped(std::string &out, const char *value, size_t length) {
  char buf[4];
  for (size_t i = 0; i < length; ++i) {
    const unsigned char ch = static_cast<unsigned char>(value[i]);
    if (ch < 0x20 || ch == '%' || ch == 0x7f) {
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    } else {
      out += char(ch);
    }
  }
}

void list_item(DcmItem *item, const std::string &prefix, std::string &out, int depth) {
  if (!item) return;
  if (depth > 64) throw std::runtime_error("sequences nested more than 64 deep");
  char key[16];
  for (unsigned long i = 0; i < item->card(); ++i) {
    DcmElement *e = item->getElement(i);
    if (!e) continue;
    DcmTag tag = e->getTag();
    std::snprintf(key, sizeof key, "%04x,%04x", tag.getGTag(), tag.getETag());
    const std::string path = prefix + key;
    const DcmEVR vr = e->ident();
    out += path;
    out += '\t';
    out += tag.getTagName();
    out += '\t';
    out += DcmVR(vr).getVRName();
    out += '\t';
    if (vr == EVR_SQ) {
      auto *seq = static_cast<DcmSequenceOfItems *>(e);
      out += "S\t" + std::to_string(seq->card()) + "\n";
      for (unsigned long j = 0; j < seq->card(); ++j)
        list_item(seq->getItem(j), path + "[" + std::to_string(j) + "]/", out, depth + 1);
    } else if (is_bulk(vr)) {
      out += "B\t" + std::to_string(e->getLength()) + "\n";
    } else {
      OFString value;
      out += "V\t";
      if (e->getOFStringArray(value).good()) append_escaped(out, value.c_str(), value.length());
      out += '\n';
    }
  }
}

std::vector<uint8_t> encode(DcmFileFormat &file) {
  E_TransferSyntax xfer = file.getDataset()->getOriginalXfer();
  if (xfer == EXS_Unknown) xfer = EXS_LittleEndianExplicit;
  std::vector<char> buffer(1 << 20);
  DcmOutputBufferStream stream(buffer.data(), offile_off_t(buffer.size()));
  std::vector<uint8_t> bytes;
  auto drain = [&] {
    void *chunk = nullptr;
    offile_off_t length = 0;
    stream.flushBuffer(chunk, length);
    if (length > 0) bytes.insert(bytes.end(), static_cast<uint8_t *>(chunk), static_cast<uint8_t *>(chunk) + length);
  };
  file.transferInit();
  OFCondition c;
  do {
    c = file.write(stream, xfer, EET_ExplicitLength, nullptr, EGL_recalcGL, EPD_noChange, 0, 0, 0, EWM_updateMeta);
    drain();
  } while (c == EC_StreamNotifyClient);
  file.transferEnd();
  if (c.bad()) throw std::runtime_error(std::string("cannot write DICOM: ") + c.text());
  return bytes;
}

}  // namespace

char *ci_dicom_elements(ci_dicom *d, ci_error *err) {
  CI_GUARD(err, nullptr, {
    std::string out;
    list_item(d->file.getMetaInfo(), "", out, 0);
    list_item(d->file.getDataset(), "", out, 0);
    char *result = static_cast<char *>(ci_malloc(out.size() + 1));
    std::memcpy(result, out.c_str(), out.size() + 1);
    return result;
  })
}

int32_t ci_dicom_put(ci_dicom *d, const char *path, const char *vr, const char *value, ci_error *err) {
  CI_GUARD(err, -1, {
    const std::vector<Step> steps = parse_path(path);
    DcmItem *item = holder(d, steps, true);
    const DcmTagKey key = steps.back().key;
    const std::string text = value ? value : "";
    DcmElement *e = nullptr;
    if (item->findAndGetElement(key, e, OFFalse).good() && e) {
      if (e->ident() == EVR_SQ) {
        if (!text.empty()) throw std::invalid_argument(std::string("a sequence takes no text value: ") + path);
        static_cast<DcmSequenceOfItems *>(e)->clear();
        return 0;
      }
      if (is_bulk(e->ident())) throw std::invalid_argument(std::string("cannot put text into a binary element: ") + path);
      if (e->putString(text.c_str()).bad()) throw std::runtime_error(std::string("cannot set ") + path);
      return 0;
    }
    DcmTag tag(key);
    if (vr && *vr) {
      DcmVR given(vr);
      if (given.getEVR() == EVR_UNKNOWN || given.getEVR() == EVR_UNKNOWN2B) throw std::invalid_argument(std::string("unknown VR '") + vr + "'");
      tag.setVR(given);
    }
    if (tag.getEVR() == EVR_SQ) {
      if (!text.empty()) throw std::invalid_argument(std::string("a sequence takes no text value: ") + path);
      auto seq = std::make_unique<DcmSequenceOfItems>(tag);
      if (item->insert(seq.get(), OFTrue).bad()) throw std::runtime_error(std::string("cannot insert ") + path);
      seq.release();
      return 0;
    }
    if (is_bulk(tag.getEVR())) throw std::invalid_argument(std::string("give a text VR for ") + path + " (its VR is " + tag.getVRName() + ")");
    DcmElement *fresh = nullptr;
    if (DcmItem::newDicomElementWithVR(fresh, tag).bad() || !fresh) throw std::runtime_error(std::string("cannot create ") + path);
    std::unique_ptr<DcmElement> owned(fresh);
    if (owned->putString(text.c_str()).bad()) throw std::runtime_error(std::string("cannot set ") + path);
    if (item->insert(owned.get(), OFTrue).bad()) throw std::runtime_error(std::string("cannot insert ") + path);
    owned.release();
    return 0;
  })
}

int32_t ci_dicom_delete(ci_dicom *d, const char *path, ci_error *err) {
  CI_GUARD(err, -1, {
    const std::vector<Step> steps = parse_path(path);
    DcmItem *item = holder(d, steps, false);
    if (!item) return 0;
    return item->findAndDeleteElement(steps.back().key, OFFalse, OFFalse).good() ? 1 : 0;
  })
}

int32_t ci_dicom_save(ci_dicom *d, uint8_t **out, int64_t *out_len, ci_error *err) {
  CI_GUARD(err, -1, {
    const std::vector<uint8_t> bytes = encode(d->file);
    *out = static_cast<uint8_t *>(ci_malloc(bytes.size()));
    std::memcpy(*out, bytes.data(), bytes.size());
    *out_len = int64_t(bytes.size());
    return 0;
  })
}

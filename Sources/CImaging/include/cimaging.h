/* cimaging.h: the C ABI over OpenCV (raster codecs, resampling), DCMTK (DICOM parsing, JPEG,
 * JPEG-LS, RLE, deflate), OpenJPEG (JPEG 2000 fragments) and zlib that Lumen's Swift code calls.
 *
 * Rules as in ctorch.h: a `ci_` prefix, opaque handles, an explicit `ci_error *` out-parameter.
 * A failing call returns NULL or -1 and fills the error: `failed` set and `message` malloc'ed, which the
 * caller owns and frees with free() (Swift: `Native.message` reads and frees it). Every C++ exception
 * (bad_alloc included) is caught at this boundary by one guard macro (CI_GUARD). Buffers handed out are
 * malloc'ed and freed with ci_free.
 */
#ifndef CIMAGING_H
#define CIMAGING_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Error out-parameter: `failed` is non-zero after a failure; `message` (malloc'ed then, owned by the
 * caller, freed with free()) says why. Initialise it to zero before a call. */
typedef struct ci_error {
  int32_t failed;
  char *message;
} ci_error;

/* sample types (stable, shared with Swift) */
enum { CI_U8 = 0, CI_I8 = 1, CI_U16 = 2, CI_I16 = 3, CI_U32 = 4, CI_I32 = 5, CI_F32 = 6, CI_F64 = 7 };

/** Decoded pixels, frames × height × width × channels, channels interleaved (RGB order). */
typedef struct ci_pixels {
  void *data; /* malloc'ed; ci_free */
  int64_t nbytes;
  int32_t width, height, frames, channels;
  int32_t type;
  char photometric[32]; /* DICOM only: the photometric interpretation of `data` after decoding */
} ci_pixels;

void ci_free(void *p);
/** Largest number of samples (width × height × frames × channels) a reader will allocate. */
void ci_set_max_samples(int64_t n);
int64_t ci_get_max_samples(void);

/* ---------- raster (OpenCV) ---------- */
/** Decodes one PNG/JPEG/BMP/WebP/TIFF image from memory, keeping its bit depth and channels. */
int32_t ci_raster_decode(const uint8_t *bytes, int64_t len, ci_pixels *out, ci_error *err);
/** Reads every page of a (multi-page) TIFF file as frames; all pages must share size and type. */
int32_t ci_raster_read_pages(const char *path, ci_pixels *out, ci_error *err);
/** Encodes one image (`ext` ".png", ".jpg", ".tiff", …; data interleaved, RGB order). */
int32_t ci_raster_encode(const char *ext, const void *data, int32_t width, int32_t height, int32_t channels,
                         int32_t type, uint8_t **out, int64_t *out_len, ci_error *err);

/* ---------- resampling and filters on float32 HWC images ---------- */
enum { CI_NEAREST = 0, CI_LINEAR = 1, CI_CUBIC = 2, CI_AREA = 3 };
enum { CI_BORDER_CONSTANT = 0, CI_BORDER_REFLECT = 1, CI_BORDER_REPLICATE = 2 };
int32_t ci_resize(const float *src, int32_t w, int32_t h, int32_t c, float *dst, int32_t dw, int32_t dh,
                  int32_t interp, ci_error *err);
/** dst(x, y) = src(M⁻¹ · (x, y, 1)): `m` is the 2×3 forward matrix, as cv::warpAffine takes it. */
int32_t ci_warp_affine(const float *src, int32_t w, int32_t h, int32_t c, const double *m, float *dst,
                       int32_t dw, int32_t dh, int32_t interp, int32_t border, float border_value, ci_error *err);
/** dst(x, y) = src(map_x(x, y), map_y(x, y)); maps are h × w. */
int32_t ci_remap(const float *src, int32_t w, int32_t h, int32_t c, const float *map_x, const float *map_y,
                 float *dst, int32_t interp, int32_t border, ci_error *err);
int32_t ci_gaussian_blur(const float *src, int32_t w, int32_t h, int32_t c, double sigma, float *dst, ci_error *err);
/** Contrast-limited adaptive histogram equalisation per channel, on values scaled to 16 bits. */
int32_t ci_clahe(const float *src, int32_t w, int32_t h, int32_t c, double clip_limit, int32_t tiles, float *dst,
                 ci_error *err);

/* ---------- DICOM (DCMTK, OpenJPEG) ---------- */
typedef struct ci_dicom ci_dicom;
/** Parses a DICOM file (Part 10 or a bare data set) from memory. */
ci_dicom *ci_dicom_open(const uint8_t *bytes, int64_t len, ci_error *err);
void ci_dicom_free(ci_dicom *d);
/** Top-level attributes as lines "gggg,eeee\tKeyword\tVR\tvalue\n" (multi-values joined by '\\'),
 *  bulk and sequence values left out; then "meta:TransferSyntaxUID" lines for the file meta. */
char *ci_dicom_attributes(ci_dicom *d, ci_error *err);
/** Decodes the pixel data: stored values (sign-extended to the sample type), samples interleaved. */
int32_t ci_dicom_pixels(ci_dicom *d, ci_pixels *out, ci_error *err);
/* Element access (dicom_elements.cpp). A path names an element through the items holding it:
 * "0010,0020" at the top level (group 0002: the file meta information), "0008,1140[0]/0008,1155" in
 * item 0 of a sequence. */
/** Every element, sequences recursed, meta first, one line each: "path\tKeyword\tVR\tkind\tvalue\n",
 *  kind "V" (value: the text, multi-values joined by '\\', control bytes and '%' as %XX), "S" (value:
 *  the item count) or "B" (binary; value: the length in bytes). */
char *ci_dicom_elements(ci_dicom *d, ci_error *err);
/** Sets an element's text value, creating it (and the sequences and items on its path; an index equal
 *  to the item count appends one) when missing; `vr` (e.g. "LO") is needed only for tags the dictionary
 *  does not know. An empty value on a sequence removes its items. */
int32_t ci_dicom_put(ci_dicom *d, const char *path, const char *vr, const char *value, ci_error *err);
/** Removes an element (a sequence with its items): 1 when removed, 0 when absent, -1 on error. */
int32_t ci_dicom_delete(ci_dicom *d, const char *path, ci_error *err);
/** Writes the (edited) file as Part 10 in its original transfer syntax (explicit VR little endian for
 *  a bare data set), the meta information updated from the data set. */
int32_t ci_dicom_save(ci_dicom *d, uint8_t **out, int64_t *out_len, ci_error *err);
/** A DICOM lookup table (PS3.3 C.11): `entries` values (malloc'ed; ci_free), the first input value
 *  mapped and the bits of each output value. */
typedef struct ci_lut {
  uint16_t *data;
  int32_t entries, first_mapped, bits;
} ci_lut;
enum { CI_LUT_MODALITY = 0, CI_LUT_VOI = 1 };
/** Item `index` of the Modality LUT Sequence (0028,3000, `kind` CI_LUT_MODALITY) or the VOI LUT Sequence
 *  (0028,3010, CI_LUT_VOI): 1 when found (`out` filled), 0 when absent, -1 when malformed. */
int32_t ci_dicom_lut(ci_dicom *d, int32_t kind, int32_t index, ci_lut *out, ci_error *err);
/** Builds a Part-10 file (explicit VR little endian) from attributes and pixels: `attributes` is a
 *  "Keyword\tvalue\n" list; `pixels` has `type` CI_U8, CI_U16 or CI_I16. Used by the synthesiser. */
int32_t ci_dicom_write(const char *attributes, const void *pixels, int32_t width, int32_t height, int32_t frames,
                       int32_t channels, int32_t type, uint8_t **out, int64_t *out_len, ci_error *err);
const char *ci_dcmtk_version(void);

/* ---------- zlib ---------- */
/** Inflates gzip or zlib data (raw deflate when `raw` is set, as in zip entries); fails when the
 *  result would exceed `max_out` bytes. */
int32_t ci_gunzip(const uint8_t *bytes, int64_t len, int32_t raw, int64_t max_out, uint8_t **out, int64_t *out_len, ci_error *err);
int32_t ci_gzip(const uint8_t *bytes, int64_t len, int32_t level, uint8_t **out, int64_t *out_len, ci_error *err);

#ifdef __cplusplus
}
#endif
#endif

"""Modality and VOI values against pydicom: `lumen image convert --hu` equals `apply_modality_lut` (Modality LUT
Sequence, else Rescale Slope/Intercept; never inverted for MONOCHROME1) and `--voi` equals `apply_voi_lut`
(VOI LUT Sequence, else the window), on pydicom's own test files (the wheel's and pydicom-data's, found by
`get_testdata_file`) and on generated ones; 32-bit integers exactly."""
import glob, os, subprocess

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut, apply_windowing
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

LUMEN = os.environ.get("LUMEN_BIN", "lumen")
# Named files that must be present (from the pydicom wheel and the pydicom-data package): each exercises a rule.
REQUIRED = {
    "mlut_18.dcm": "Modality LUT Sequence",
    "vlut_04.dcm": "VOI LUT Sequence",
    "RG1_UNCR.dcm": "MONOCHROME1 with a rescale",
    "rtdose.dcm": "32-bit unsigned, multi-frame",
    "CT_small.dcm": "CT rescale to HU and a window",
    "MR_small.dcm": "MR window",
}


def grey_files():
    """Every single-channel file of pydicom's test data that pydicom decodes, plus the required ones."""
    roots = {os.path.dirname(get_testdata_file(name)) for name in REQUIRED}
    files = {}
    for root in roots:
        for path in glob.glob(os.path.join(root, "**", "*.dcm"), recursive=True):
            try:
                ds = pydicom.dcmread(path)
                if ds.get("SamplesPerPixel", 1) != 1 or "PixelData" not in ds:
                    continue
                ds.pixel_array
            except Exception:
                continue
            files[os.path.basename(path)] = path
    missing = set(REQUIRED) - set(files)
    assert not missing, f"reference files missing or not decodable by pydicom: {sorted(missing)}"
    return sorted(files.values())


FILES = grey_files()
# Files pydicom decodes that Lumen refuses, with the reason (the refusal itself is checked in test_imaging.py).
REFUSED = {"SC_rgb_jpeg.dcm"}
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91"}


def convert(path, out, *flags):
    proc = subprocess.run([LUMEN, "image", "convert", str(path), str(out), *flags], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return np.load(out)


def test_the_files_cover_every_rule():
    names = {os.path.basename(p) for p in FILES}
    assert set(REQUIRED) <= names
    assert len(FILES) >= 40, len(FILES)


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_modality_values_equal_pydicom(path, tmp_path):
    ds = pydicom.dcmread(path)
    stored = ds.pixel_array
    if str(ds.file_meta.TransferSyntaxUID) in LOSSY:
        # Lossy JPEG decoders may differ by one (test_imaging.py bounds that): apply pydicom's modality LUT
        # to Lumen's own stored values, so the modality step itself is compared exactly.
        stored = convert(path, tmp_path / "s.npy").astype(stored.dtype)
    expected = apply_modality_lut(stored, ds)
    ours = convert(path, tmp_path / "m.npy", "--hu")
    assert ours.shape == expected.shape
    if ("RescaleSlope" in ds) != ("RescaleIntercept" in ds):
        pytest.fail("a file with only one of Rescale Slope/Intercept: decide the rule before comparing")
    # Exact: Lumen computes in double precision and keeps integers as integers.
    np.testing.assert_array_equal(ours.astype(np.float64), expected.astype(np.float64))


@pytest.mark.parametrize("path", [p for p in FILES if pydicom.dcmread(p, stop_before_pixels=True).get("BitsAllocated") == 32], ids=os.path.basename)
def test_32_bit_stored_values_are_exact(path, tmp_path):
    ds = pydicom.dcmread(path)
    ours = convert(path, tmp_path / "s.npy")
    assert ours.dtype.itemsize == 4 and ours.dtype.kind in "ui"
    np.testing.assert_array_equal(ours.astype(np.int64), ds.pixel_array.astype(np.int64))


def voi_reference(ds):
    """pydicom's apply_voi_lut on the modality values, scaled to 0…1 by the output range pydicom maps to: the
    LUT's 2^bits − 1, or for a window the values it gives far below and far above the window."""
    modality = apply_modality_lut(ds.pixel_array, ds)
    out = apply_voi_lut(modality, ds)
    if "VOILUTSequence" in ds:
        return np.asarray(out, np.float64) / (2 ** int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1)
    lo, hi = apply_windowing(np.array([-1e12, 1e12]), ds)
    return (np.asarray(out, np.float64) - lo) / (hi - lo)


VOI_FILES = [p for p in FILES if {"VOILUTSequence", "WindowCenter"} & set(pydicom.dcmread(p, stop_before_pixels=True).dir())
             and pydicom.dcmread(p, stop_before_pixels=True).get("PhotometricInterpretation") in ("MONOCHROME1", "MONOCHROME2")]


@pytest.mark.parametrize("path", VOI_FILES, ids=os.path.basename)
def test_voi_values_equal_pydicom(path, tmp_path):
    ds = pydicom.dcmread(path)
    expected = voi_reference(ds)
    ours = convert(path, tmp_path / "v.npy", "--voi")
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)


def generated(tmp_path, name, stored, signed, bits, syntax=ExplicitVRLittleEndian, photometric="MONOCHROME2", **attributes):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = stored.dtype.itemsize * 8, bits, bits - 1, signed
    for key, value in attributes.items():
        setattr(ds, key, value)
    ds.PixelData = stored.tobytes()
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True, implicit_vr=syntax == ImplicitVRLittleEndian, little_endian=True)
    return path


def lut(first, bits, values, vr="US"):
    item = Dataset()
    item.add_new(0x00283002, "SS" if first < 0 else "US", [len(values) % 65536, first, bits])
    item.add_new(0x00283006, vr, np.asarray(values, np.uint16).tobytes() if vr == "OW" else [int(v) for v in values])
    return Sequence([item])


@pytest.mark.parametrize("seed", range(6))
def test_generated_files_equal_pydicom(seed, tmp_path):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(3, 20)), int(rng.integers(3, 20)))
    cases = {
        # Modality LUT Sequences: signed input with a negative first value, OW data, implicit VR; 8-bit outputs.
        "mlut_signed.dcm": (rng.integers(-600, 600, size=shape, dtype=np.int16), 1, 16,
                            dict(ModalityLUTSequence=lut(-400, 16, rng.integers(0, 65535, size=700), "OW")), ImplicitVRLittleEndian),
        "mlut_8bit.dcm": (rng.integers(0, 4095, size=shape, dtype=np.uint16), 0, 12,
                          dict(ModalityLUTSequence=lut(50, 8, rng.integers(0, 255, size=3000))), ExplicitVRLittleEndian),
        # VOI LUT Sequence with a window too (the LUT wins, as in pydicom).
        "vlut.dcm": (rng.integers(0, 4095, size=shape, dtype=np.uint16), 0, 12,
                     dict(VOILUTSequence=lut(200, 16, rng.integers(0, 65535, size=2500)), WindowCenter=900, WindowWidth=300), ExplicitVRLittleEndian),
        # Fractional rescale of signed values, MONOCHROME1: modality values are not inverted.
        "mono1.dcm": (rng.integers(-2048, 2047, size=shape, dtype=np.int16), 1, 12,
                      dict(RescaleSlope=round(float(rng.uniform(0.1, 3)), 6), RescaleIntercept=round(float(rng.uniform(-500, 500)), 4),
                           WindowCenter=round(float(rng.uniform(-100, 100)), 3), WindowWidth=round(float(rng.uniform(50, 900)), 3)), ExplicitVRLittleEndian),
        # 32-bit integers beyond float32's 2^24, unsigned and signed, with integer rescales.
        "u32.dcm": (rng.integers(2**24, 2**32 - 1, size=shape, dtype=np.uint32), 0, 32, dict(RescaleSlope=1, RescaleIntercept=-7), ExplicitVRLittleEndian),
        "s32.dcm": (rng.integers(-2**31, 2**31 - 1, size=shape, dtype=np.int32), 1, 32, dict(RescaleSlope=1, RescaleIntercept=0), ExplicitVRLittleEndian),
    }
    for name, (stored, signed, bits, attributes, syntax) in cases.items():
        photometric = "MONOCHROME1" if name == "mono1.dcm" else "MONOCHROME2"
        path = generated(tmp_path, name, stored, signed, bits, syntax, photometric, **attributes)
        ds = pydicom.dcmread(path)
        np.testing.assert_array_equal(convert(path, tmp_path / "s.npy").astype(np.float64), ds.pixel_array.astype(np.float64), err_msg=name)
        np.testing.assert_array_equal(convert(path, tmp_path / "m.npy", "--hu").astype(np.float64),
                                      apply_modality_lut(ds.pixel_array, ds).astype(np.float64), err_msg=name)
        if "VOILUTSequence" in ds or "WindowCenter" in ds:
            np.testing.assert_allclose(convert(path, tmp_path / "v.npy", "--voi"), voi_reference(ds), rtol=0, atol=1e-9, err_msg=name)

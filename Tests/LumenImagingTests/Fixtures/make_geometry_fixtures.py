"""Writes the modality-LUT, VOI-LUT, 32-bit and geometry fixtures of LumenImagingTests with the reference
tools, beside their expected values: pydicom's apply_modality_lut / apply_voi_lut arrays (`*.expected.npy`)
and SimpleITK's origin, spacing and direction (`oblique.expected.json`, LPS as ITK keeps it).
Run from this folder with the interop venv: ../../../.venv-interop/bin/python make_geometry_fixtures.py"""
import json

import nibabel as nib
import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

rng = np.random.default_rng(13)


def base(rows, cols, bits, signed, name, photometric="MONOCHROME2"):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[name])
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = signed
    return ds


def save(ds, name, arr, syntax=ExplicitVRLittleEndian):
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = arr.tobytes()
    ds.save_as(name, enforce_file_format=True, implicit_vr=syntax == ImplicitVRLittleEndian, little_endian=True)
    return pydicom.dcmread(name)


def lut_item(first, bits, values, vr):
    item = Dataset()
    item.add_new(0x00283002, "US" if first >= 0 else "SS", [len(values) % 65536, first, bits])
    item.add_new(0x00283006, vr, np.asarray(values, dtype=np.uint16).tobytes() if vr == "OW" else [int(v) for v in values])
    return item


# Signed 16-bit stored values through a Modality LUT Sequence with a negative first mapped value
# (implicit VR: the LUT Data's VR is left to the reader).
stored = rng.integers(-300, 400, size=(14, 11), dtype=np.int16)
ds = base(14, 11, 16, 1, "mlut_signed")
ds.ModalityLUTSequence = Sequence([lut_item(-200, 16, rng.integers(0, 4096, size=512), "OW")])
ds.ModalityLUTSequence[0].ModalityLUTType = "HU"
ds = save(ds, "mlut_signed.dcm", stored, ImplicitVRLittleEndian)
np.save("mlut_signed.expected.npy", apply_modality_lut(ds.pixel_array, ds)[None])

# Unsigned 12-bit stored values with a VOI LUT Sequence of 16-bit outputs (US data) and a window too.
stored = rng.integers(0, 4096, size=(9, 13), dtype=np.uint16)
ds = base(9, 13, 16, 0, "voi_lut")
ds.BitsStored, ds.HighBit = 12, 11
ds.WindowCenter, ds.WindowWidth = 2000, 1000
# 16-bit outputs: pydicom 3.0.2 indexes 8-bit VOI LUTs through a uint8 array, which wraps inputs past 255.
ds.VOILUTSequence = Sequence([lut_item(100, 16, rng.integers(0, 65536, size=3000), "US")])
ds = save(ds, "voi_lut.dcm", stored)
np.save("voi_lut.expected.npy", apply_voi_lut(ds.pixel_array, ds)[None].astype(np.float64))

# 32-bit signed values that float32 cannot hold (beyond 2^24), with an integer rescale.
stored = rng.integers(-2**31, 2**31 - 1, size=(6, 7), dtype=np.int32)
stored[0, :3] = [2**24 + 1, -(2**31), 2**31 - 1]
ds = base(6, 7, 32, 1, "int32")
ds.RescaleSlope, ds.RescaleIntercept = 1, 0
ds = save(ds, "int32.dcm", stored)
np.save("int32.expected.npy", ds.pixel_array[None].astype(np.float64))

# An oblique, left-handed NIfTI volume (RAS affine with a rotation and a flipped axis), qform = sform.
theta, phi = np.radians(20), np.radians(-35)
rx = np.array([[1, 0, 0], [0, np.cos(theta), -np.sin(theta)], [0, np.sin(theta), np.cos(theta)]])
rz = np.array([[np.cos(phi), -np.sin(phi), 0], [np.sin(phi), np.cos(phi), 0], [0, 0, 1]])
rotation = rz @ rx @ np.diag([1, -1, 1])
affine = np.eye(4)
affine[:3, :3] = rotation @ np.diag([0.7, 1.3, 2.5])
affine[:3, 3] = [12.5, -40.25, 61.0]
vol = rng.integers(-1000, 2000, size=(5, 4, 3), dtype=np.int16)
img = nib.Nifti1Image(vol, affine)
img.set_qform(affine, code=1)
img.set_sform(affine, code=1)
nib.save(img, "oblique.nii.gz")
ref = sitk.ReadImage("oblique.nii.gz")
with open("oblique.expected.json", "w") as f:
    json.dump({"tool": f"SimpleITK {sitk.Version_VersionString()}", "origin": ref.GetOrigin(), "spacing": ref.GetSpacing(),
               "direction": ref.GetDirection(),
               "orientation": sitk.DICOMOrientImageFilter_GetOrientationFromDirectionCosines(ref.GetDirection())}, f, indent=1)

"""Writes the small reader fixtures of LumenImagingTests and their expected arrays (`*.expected.npy`),
made with the reference tools: pydicom (DICOM), nibabel (NIfTI), Pillow and OpenCV-free numpy (raster).
Run from this folder with the interop venv: ../../../.venv-interop/bin/python make_fixtures.py
The expected array is what pydicom's pixel_array / nibabel's get_fdata / Pillow return, in Lumen's layout
(frames, rows, columns[, samples])."""
import numpy as np
import nibabel as nib
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, JPEG2000Lossless, generate_uid
from PIL import Image

rng = np.random.default_rng(7)


def base(rows, cols, photometric="MONOCHROME2", samples=1, bits=16, signed=0, frames=1):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[f"{rows}{cols}{photometric}{bits}{frames}"])
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Fixture^Patient"
    ds.PatientID = "FIX001"
    ds.Modality = "CT"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = signed
    if samples > 1:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelSpacing = [0.5, 0.75]
    ds.SliceThickness = 2.0
    return ds


def save(ds, name, syntax, arr):
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = arr.tobytes()
    ds.save_as(name, enforce_file_format=True, implicit_vr=(syntax == ImplicitVRLittleEndian), little_endian=True)


# CT, 16-bit unsigned stored values with a rescale to HU
ct = rng.integers(0, 2400, size=(48, 40), dtype=np.uint16)
for syntax, name in [(ExplicitVRLittleEndian, "ct_explicit.dcm"), (ImplicitVRLittleEndian, "ct_implicit.dcm")]:
    ds = base(48, 40)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    save(ds, name, syntax, ct)
ds = base(48, 40)
ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.PixelData = ct.tobytes()
ds.compress(RLELossless, ct)
ds.save_as("ct_rle.dcm", enforce_file_format=True)
ds = base(48, 40)
ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.PixelData = ct.tobytes()
ds.compress(JPEG2000Lossless, ct)
ds.save_as("ct_j2k.dcm", enforce_file_format=True)
np.save("ct.expected.npy", ct[None])

# signed 12-bit MR with a fractional rescale
mr = rng.integers(-2048, 2047, size=(32, 32), dtype=np.int16)
ds = base(32, 32, bits=16, signed=1)
ds.BitsStored, ds.HighBit = 12, 11
ds.Modality = "MR"
ds.RescaleSlope, ds.RescaleIntercept = 0.5, 3.25
save(ds, "mr_signed12.dcm", ExplicitVRLittleEndian, mr)
np.save("mr_signed12.expected.npy", mr[None])

# MONOCHROME1, 8-bit, 3 frames
mono = rng.integers(0, 255, size=(3, 20, 24), dtype=np.uint8)
ds = base(20, 24, photometric="MONOCHROME1", bits=8, frames=3)
ds.Modality = "CR"
save(ds, "cr_mono1_3frames.dcm", ExplicitVRLittleEndian, mono)
np.save("cr_mono1_3frames.expected.npy", mono)

# RGB, 8-bit
rgb = rng.integers(0, 255, size=(16, 18, 3), dtype=np.uint8)
ds = base(16, 18, photometric="RGB", samples=3, bits=8)
ds.Modality = "OT"
save(ds, "rgb.dcm", ExplicitVRLittleEndian, rgb)
np.save("rgb.expected.npy", rgb[None])

# NIfTI-1 int16 and NIfTI-2 gz float with scaling
vol = rng.integers(-500, 1500, size=(12, 10, 6), dtype=np.int16)  # x, y, z
affine = np.diag([0.8, 0.9, 2.5, 1.0])
affine[:3, 3] = [-10, 5, 30]
img = nib.Nifti1Image(vol, affine)
nib.save(img, "vol.nii")
img2 = nib.Nifti2Image(vol, affine)
img2.header.set_slope_inter(2.0, -7.5)
nib.save(img2, "vol2_scaled.nii.gz")
np.save("vol.expected.npy", np.asarray(nib.load("vol.nii").get_fdata(), dtype=np.float32).transpose(2, 1, 0))
np.save("vol2_scaled.expected.npy", np.asarray(nib.load("vol2_scaled.nii.gz").get_fdata(), dtype=np.float32).transpose(2, 1, 0))

# raster
g8 = rng.integers(0, 255, size=(21, 17), dtype=np.uint8)
Image.fromarray(g8).save("gray8.png")
np.save("gray8.expected.npy", g8[None])
g16 = rng.integers(0, 65535, size=(15, 13), dtype=np.uint16)
Image.fromarray(g16).save("gray16.png")
np.save("gray16.expected.npy", np.asarray(Image.open("gray16.png")).astype(np.uint16)[None])
c = np.zeros((24, 32, 3), dtype=np.uint8)
c[:, :16] = [200, 30, 40]
c[:, 16:] = [20, 180, 220]
Image.fromarray(c).save("rgb.bmp")
np.save("rgb_bmp.expected.npy", c[None])
Image.fromarray(c).save("rgb.jpg", quality=95)
np.save("rgb_jpg.expected.npy", np.asarray(Image.open("rgb.jpg"))[None])
Image.fromarray(c).save("rgb.webp", lossless=True)
pages = [Image.fromarray(rng.integers(0, 4000, size=(9, 11), dtype=np.uint16)) for _ in range(3)]
pages[0].save("stack16.tif", save_all=True, append_images=pages[1:])
np.save("stack16.expected.npy", np.stack([np.asarray(p) for p in pages]))
print("fixtures written")

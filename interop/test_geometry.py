"""Patient geometry against SimpleITK and nibabel: DICOM series (axial, sagittal, coronal, oblique; files in
shuffled order, Instance Numbers that disagree with positions) read by `lumen image info` give SimpleITK's
affine; `lumen image convert` to NIfTI keeps geometry and Hounsfield units for nibabel, SimpleITK and Lumen;
gantry-tilted series are refused with a clear message."""
import json, os, subprocess

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

LUMEN = os.environ.get("LUMEN_BIN", "lumen")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
TOLERANCE = 1e-4


def rotation(ax, ay, az):
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    return (np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]) @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
            @ np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]]))


OBLIQUE = rotation(np.radians(17), np.radians(-11), np.radians(28))
# Image Orientation (Patient): row direction, then column direction (LPS).
ORIENTATIONS = {
    "axial": [1, 0, 0, 0, 1, 0],
    "sagittal": [0, 1, 0, 0, 0, -1],
    "coronal": [1, 0, 0, 0, 0, -1],
    "oblique": list(OBLIQUE[:, 0]) + list(OBLIQUE[:, 1]),
}


def write_series(folder, orientation, rng, slices=7, rows=12, cols=9, gap=2.5, tilt_degrees=0.0, origin=(-87.5, 41.25, 112.0)):
    """A CT series written by pydicom: slice k at origin + k·gap·normal (+ a shift along the column direction
    for a gantry tilt), files named and numbered in an order unrelated to their positions."""
    os.makedirs(folder, exist_ok=True)
    row, col = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal = np.cross(row, col)
    series, study, frame = generate_uid(), generate_uid(), generate_uid()
    names = rng.permutation(slices)
    instances = rng.permutation(slices) + 1
    volume = rng.integers(0, 3000, size=(slices, rows, cols), dtype=np.uint16)
    for k in range(slices):
        position = np.array(origin) + k * gap * normal + k * gap * np.tan(np.radians(tilt_degrees)) * col
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, ds.file_meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.FrameOfReferenceUID = series, study, frame
        ds.Modality, ds.PatientID, ds.PatientName = "CT", "GEOM", "Geometry^Test"
        ds.InstanceNumber = int(instances[k])
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in orientation]
        ds.PixelSpacing = [0.7, 0.9]  # between rows, between columns
        ds.SliceThickness = gap
        if tilt_degrees:
            ds.GantryDetectorTilt = tilt_degrees
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = volume[k].tobytes()
        ds.save_as(os.path.join(folder, f"IMG{names[k]:04d}"), enforce_file_format=True)
    return volume


def lumen(*args, check=True):
    proc = subprocess.run([LUMEN, *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def lumen_geometry(path):
    info = json.loads(lumen("image", "info", "--json", str(path)).stdout)
    numbers = {key: [float(v) for v in info[key].split()] for key in ("origin", "spacing", "direction")}
    return info, affine(numbers["origin"], numbers["spacing"], numbers["direction"])


def affine(origin, spacing, direction):
    m = np.eye(4)
    m[:3, :3] = np.array(direction, float).reshape(3, 3) @ np.diag(spacing)
    m[:3, 3] = origin
    return m


def sitk_affine(image):
    return affine(image.GetOrigin(), image.GetSpacing(), image.GetDirection())


def sitk_series(folder):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_series_geometry_equals_simpleitk(name, tmp_path):
    rng = np.random.default_rng(len(name))
    write_series(tmp_path / "series", ORIENTATIONS[name], rng)
    reference = sitk_series(tmp_path / "series")
    info, ours = lumen_geometry(tmp_path / "series")
    expected = sitk_affine(reference)
    assert np.abs(ours - expected).max() < TOLERANCE, f"{name}: Lumen\n{ours}\nSimpleITK\n{expected}"
    assert info["orientation"] == sitk.DICOMOrientImageFilter_GetOrientationFromDirectionCosines(reference.GetDirection())
    # Voxels in the order SimpleITK stacks them, in HU.
    lumen("image", "convert", str(tmp_path / "series"), str(tmp_path / "hu.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "hu.npy").astype(np.float64), sitk.GetArrayFromImage(reference).astype(np.float64))


@pytest.mark.parametrize("name", list(ORIENTATIONS))
def test_series_to_nifti_keeps_geometry_and_hounsfield_units(name, tmp_path):
    rng = np.random.default_rng(100 + len(name))
    write_series(tmp_path / "series", ORIENTATIONS[name], rng)
    reference = sitk_series(tmp_path / "series")
    lps = sitk_affine(reference)
    out = tmp_path / "volume.nii.gz"
    lumen("image", "convert", str(tmp_path / "series"), str(out))
    # nibabel: the RAS affine is SimpleITK's LPS one with x and y negated; voxels are HU.
    img = nib.load(out)
    assert np.abs(img.affine - LPS_TO_RAS @ lps).max() < TOLERANCE, f"{name}: nibabel\n{img.affine}\nexpected\n{LPS_TO_RAS @ lps}"
    assert int(img.header["qform_code"]) > 0 and int(img.header["sform_code"]) > 0
    assert np.abs(img.get_qform() - img.get_sform()).max() < TOLERANCE
    hu = sitk.GetArrayFromImage(reference).astype(np.float64)
    np.testing.assert_array_equal(np.asarray(img.get_fdata()).transpose(2, 1, 0), hu)
    assert "".join(nib.aff2axcodes(img.affine)) == sitk.DICOMOrientImageFilter_GetOrientationFromDirectionCosines(reference.GetDirection())
    # SimpleITK reads the NIfTI back onto the same grid.
    back = sitk.ReadImage(str(out))
    assert np.abs(sitk_affine(back) - lps).max() < TOLERANCE
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back).astype(np.float64), hu)
    # And so does Lumen, with the HU range nibabel sees.
    info, ours = lumen_geometry(out)
    assert np.abs(ours - lps).max() < TOLERANCE
    assert (float(info["min"]), float(info["max"])) == (hu.min(), hu.max())


def test_ct_file_to_nifti_gives_the_hounsfield_units_lumen_reports(tmp_path):
    path = get_testdata_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    hu = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    assert (ds.RescaleSlope, ds.RescaleIntercept) != (1, 0), "the test needs a file whose stored values are not HU"
    info, ours = lumen_geometry(path)
    assert (float(info["min"]), float(info["max"])) == (hu.min(), hu.max())
    out = tmp_path / "ct.nii.gz"
    lumen("image", "convert", path, str(out))
    img = nib.load(out)
    data = np.asarray(img.get_fdata())
    np.testing.assert_array_equal(data.reshape(data.shape[0], data.shape[1]).T, hu)
    # In-plane placement equals SimpleITK's reading of the DICOM file (a single slice has no z step to compare).
    reference = sitk_affine(sitk.ReadImage(path))
    assert np.abs(ours[:, [0, 1, 3]] - reference[:, [0, 1, 3]]).max() < TOLERANCE
    assert np.abs(img.affine[:, [0, 1, 3]] - (LPS_TO_RAS @ reference)[:, [0, 1, 3]]).max() < TOLERANCE


def test_nifti_written_by_nibabel_is_read_in_lps_as_simpleitk_reads_it(tmp_path):
    rng = np.random.default_rng(5)
    for i in range(6):
        ras = np.eye(4)
        flips = np.diag(rng.choice([-1.0, 1.0], size=3))
        ras[:3, :3] = rotation(*rng.uniform(-0.6, 0.6, size=3)) @ flips @ np.diag(rng.uniform(0.4, 3.0, size=3))
        ras[:3, 3] = rng.uniform(-150, 150, size=3)
        img = nib.Nifti1Image(rng.integers(-100, 100, size=(6, 5, 4), dtype=np.int16), ras)
        img.set_qform(ras, code=1)
        img.set_sform(ras, code=1)
        path = tmp_path / f"n{i}.nii.gz"
        nib.save(img, path)
        info, ours = lumen_geometry(path)
        reference = sitk.ReadImage(str(path))
        assert np.abs(ours - sitk_affine(reference)).max() < TOLERANCE, f"file {i}"
        assert info["orientation"] == sitk.DICOMOrientImageFilter_GetOrientationFromDirectionCosines(reference.GetDirection())
        assert info["orientation"] == "".join(nib.aff2axcodes(ras))


def test_gantry_tilt_is_refused_with_a_clear_message(tmp_path):
    write_series(tmp_path / "tilted", ORIENTATIONS["axial"], np.random.default_rng(9), tilt_degrees=15)
    for args in (["image", "info", str(tmp_path / "tilted")], ["image", "convert", str(tmp_path / "tilted"), str(tmp_path / "t.nii.gz")]):
        proc = lumen(*args, check=False)
        assert proc.returncode != 0
        assert "gantry tilt" in proc.stderr and "15°" in proc.stderr and str(tmp_path / "tilted") in proc.stderr, proc.stderr
    assert not (tmp_path / "t.nii.gz").exists()

"""Lumen's readers against the reference tools: every test file shipped in the pydicom and nibabel wheels
that those libraries decode is read by `lumen image convert … .npy` and compared with their arrays."""
import glob, json, os, subprocess

import numpy as np
import pytest

import nibabel as nib
import pydicom

LUMEN = os.environ.get("LUMEN_BIN", "lumen")
# Files pydicom decodes that Lumen (DCMTK) refuses, with the reason; the test checks the refusal is clean.
MALFORMED = {"SC_rgb_jpeg.dcm": "data set written in implicit VR while its meta header says explicit VR (JPEG Baseline)"}
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91"}


def pydicom_files():
    root = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    files = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.dcm"), recursive=True)):
        try:
            ds = pydicom.dcmread(path)
            ds.pixel_array
        except Exception:
            continue  # pydicom itself cannot decode it (no pixels, or no decoder installed)
        files.append(path)
    return files


def nibabel_files():
    root = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
    files = []
    for path in sorted(glob.glob(os.path.join(root, "*.nii")) + glob.glob(os.path.join(root, "*.nii.gz"))):
        try:
            img = nib.load(path)
            if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
                continue
            data = img.get_fdata()
            if data.ndim > 4 or data.size == 0:
                continue
        except Exception:
            continue
        files.append(path)
    return files


def convert(path, out, *flags):
    proc = subprocess.run([LUMEN, "image", "convert", path, str(out), *flags], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return np.load(out)


@pytest.mark.parametrize("path", pydicom_files(), ids=os.path.basename)
def test_dicom_pixels_equal_pydicom(path, tmp_path):
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array
    if os.path.basename(path) in MALFORMED:
        proc = subprocess.run([LUMEN, "image", "convert", path, str(tmp_path / "x.npy")], capture_output=True, text=True)
        assert proc.returncode != 0 and path in proc.stderr and not (tmp_path / "x.npy").exists()
        return
    ours = convert(path, tmp_path / "x.npy")
    assert ours.shape == expected.shape
    syntax = str(ds.file_meta.TransferSyntaxUID)
    diff = np.abs(ours.astype(np.float64) - expected.astype(np.float64))
    if syntax in LOSSY and expected.ndim >= 3 and expected.shape[-1] == 3:
        # Lossy colour: JPEG libraries round their YCbCr to RGB conversion differently.
        assert diff.max() <= 3 and diff.mean() < 0.5, f"lossy colour {syntax}: largest difference {diff.max()}, mean {diff.mean()}"
    elif syntax in LOSSY:
        assert diff.max() <= 1, f"lossy {syntax}: largest difference {diff.max()}"
    else:
        assert diff.max() == 0, f"largest difference {diff.max()}"


# Modality and VOI values (Modality LUT Sequence, rescale, MONOCHROME1, VOI LUT Sequence) are compared with
# pydicom in test_modality.py.


@pytest.mark.parametrize("path", nibabel_files(), ids=os.path.basename)
def test_nifti_voxels_equal_nibabel(path, tmp_path):
    img = nib.load(path)
    expected = np.asarray(img.get_fdata())
    ours = convert(path, tmp_path / "v.npy").astype(np.float64)
    if expected.ndim == 4:
        x, y, z, t = expected.shape
        expected = expected.transpose(3, 2, 1, 0).reshape(t * z, y, x)
    elif expected.ndim == 3:
        expected = expected.transpose(2, 1, 0)
        if expected.shape[0] == 1:
            expected = expected[0]
    else:
        expected = expected.T
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)


def test_nifti_affine_matches_nibabel():
    for path in nibabel_files():
        img = nib.load(path)
        info = json.loads(subprocess.run([LUMEN, "image", "info", "--json", path], capture_output=True, text=True, check=True).stdout)
        spacing = [float(s) for s in info["spacing_mm"].split(" x ")]
        zooms = [abs(z) if z else 1.0 for z in img.header.get_zooms()[:3]] + [1.0] * (3 - len(img.header.get_zooms()[:3]))
        np.testing.assert_allclose(spacing, zooms, rtol=1e-3, err_msg=path)
        # Lumen keeps LPS: its affine with x and y negated is nibabel's RAS affine.
        numbers = {key: np.array([float(v) for v in info[key].split()]) for key in ("origin", "spacing", "direction")}
        ours = np.eye(4)
        ours[:3, :3] = numbers["direction"].reshape(3, 3) @ np.diag(numbers["spacing"])
        ours[:3, 3] = numbers["origin"]
        expected = img.affine if img.affine.shape == (4, 4) else None
        checked = np.abs(np.diag([-1.0, -1.0, 1.0, 1.0]) @ ours - expected).max()
        assert checked < 1e-4, f"{path}: largest affine difference {checked}\nLumen (RAS)\n{np.diag([-1.0, -1.0, 1.0, 1.0]) @ ours}\nnibabel\n{expected}"


def test_deidentified_imports_are_valid_dicom_without_identity(tmp_path):
    subprocess.run([LUMEN, "init", str(tmp_path)], check=True, capture_output=True)
    subprocess.run([LUMEN, "data", "synth", "ct", str(tmp_path / "ct"), "--patients", "3", "--slices", "2", "--size", "32"], check=True, capture_output=True)
    proc = subprocess.run([LUMEN, "data", "import", str(tmp_path / "ct"), "--name", "ct", "--workspace", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(subprocess.run([LUMEN, "data", "show", "ct", "--json", "--workspace", str(tmp_path)], capture_output=True, text=True, check=True).stdout)
    assert len(manifest["entries"]) == 6
    subprocess.run([LUMEN, "data", "export", "ct", str(tmp_path / "export"), "--workspace", str(tmp_path)], check=True, capture_output=True)
    for entry in manifest["entries"]:
        ds = pydicom.dcmread(tmp_path / "export" / entry["path"])
        original = pydicom.dcmread(tmp_path / "ct" / entry["path"])
        assert str(ds.PatientName) != str(original.PatientName)
        assert ds.PatientID != original.PatientID and ds.PatientID == entry["group"]
        for keyword in ["InstitutionName", "PatientBirthDate", "AccessionNumber", "ReferringPhysicianName"]:
            assert not ds.get(keyword), keyword
        assert ds.StudyInstanceUID != original.StudyInstanceUID
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
        assert ds.StudyDate != original.StudyDate
        np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)

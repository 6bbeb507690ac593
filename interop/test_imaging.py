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


PYDICOM_ROOT = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
# Test files with pixel data that pydicom itself cannot decode here, so there is no reference array: each is listed with
# why, so that a file cannot drop out of the parity test unnoticed (test_every_reference_file_is_accounted_for).
PYDICOM_CANNOT = {
    "ExplVR_BigEndNoMeta.dcm": "no file meta information (pydicom refuses it without force=True)",
    "ExplVR_LitEndNoMeta.dcm": "no file meta information",
    "no_meta.dcm": "no file meta information",
    "rtstruct.dcm": "no file meta information",
    "JPEG-lossy.dcm": "12-bit lossy JPEG that no installed pydicom plugin decodes",
    "JPEG2000-embedded-sequence-delimiter.dcm": "JPEG 2000 stream that no installed pydicom plugin decodes",
    "MR_truncated.dcm": "pixel data shorter than Rows x Columns (truncated on purpose)",
    "badVR.dcm": "an IS value '1A' that pydicom cannot parse",
    "meta_missing_tsyntax.dcm": "file meta without a transfer syntax",
    "nested_priv_SQ.dcm": "pixel data without Bits Allocated",
}
DROPPED = {}  # relative path -> reason, filled by pydicom_files()


def pydicom_files():
    files = []
    for path in sorted(glob.glob(os.path.join(PYDICOM_ROOT, "**", "*.dcm"), recursive=True)):
        name = os.path.relpath(path, PYDICOM_ROOT)
        try:
            ds = pydicom.dcmread(path)
            if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
                DROPPED[name] = "no pixel data"
                continue
            ds.pixel_array
        except Exception as e:
            DROPPED[name] = f"pydicom: {type(e).__name__}"
            continue
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


PYDICOM_FILES = pydicom_files()


def test_every_reference_file_is_accounted_for():
    """Every pydicom test file is compared with pydicom, has no pixel data, or is listed in PYDICOM_CANNOT with why."""
    undecodable = {name for name, why in DROPPED.items() if why != "no pixel data"}
    assert undecodable == set(PYDICOM_CANNOT), (f"not listed: {sorted(undecodable - set(PYDICOM_CANNOT))}; "
                                                f"listed but decodable now (add them back): {sorted(set(PYDICOM_CANNOT) - undecodable)}")
    assert len(PYDICOM_FILES) >= 50, f"only {len(PYDICOM_FILES)} files compared"


@pytest.mark.parametrize("name", sorted(PYDICOM_CANNOT))
def test_files_pydicom_cannot_decode_are_read_or_refused_cleanly(name, tmp_path):
    """What pydicom cannot decode, Lumen decodes or refuses with the file named: never a crash or a partial file."""
    path = os.path.join(PYDICOM_ROOT, name)
    out = tmp_path / "x.npy"
    proc = subprocess.run([LUMEN, "image", "convert", path, str(out)], capture_output=True, text=True)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.stderr}"
    if proc.returncode == 0:
        assert np.load(out).size > 0
    else:
        assert os.path.basename(path) in proc.stderr and not out.exists(), proc.stderr


@pytest.mark.parametrize("path", PYDICOM_FILES, ids=os.path.basename)
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


def hospital_file(path, patient, accession, sop, series, study):
    """A CT slice as hospitals send them: identifiers in the tags, in sequences, in private tags and in the
    file meta, written by pydicom (independently of Lumen's writer)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "PACS_" + patient[-4:]
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID = meta.MediaStorageSOPClassUID, sop, series, study
    ds.FrameOfReferenceUID = study + ".1"
    ds.Modality, ds.PatientName, ds.PatientID, ds.PatientBirthDate = "CT", "Doe^Jane", patient, "19610203"
    ds.AccessionNumber, ds.InstitutionName, ds.ReferringPhysicianName = accession, "St. Example Hospital", "House^Gregory"
    ds.StudyDate, ds.SeriesDate, ds.StudyTime, ds.StudyID, ds.OperatorsName = "20240229", "20240229", "120000", "S77", "Tech^Tom"
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    ds.OtherPatientIDsSequence[0].PatientID = "OLD-" + patient
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = ds.SOPClassUID, series + ".99"
    ds.ReferencedImageSequence = Sequence([ref])
    ds.add_new(0x00090010, "LO", "ACME 1.0")
    ds.add_new(0x00091001, "LO", patient)
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.arange(64, dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_deidentified_imports_are_valid_dicom_without_identity(tmp_path):
    """pydicom reads every file a de-identified import stored and finds no identifying value, consistent
    pseudonyms and UIDs, dates moved by one per-patient offset, and the pixels unchanged."""
    from datetime import date
    subprocess.run([LUMEN, "init", str(tmp_path)], check=True, capture_output=True)
    root = tmp_path / "export-MRN1234567"
    originals = []
    for p, patient in enumerate(["MRN1234567", "MRN7654321"]):
        study, series = f"1.2.826.0.1.3680043.9.{p}", f"1.2.826.0.1.3680043.9.{p}.1"
        for i in range(2):
            folder = root / "lesion" / f"{patient}_Doe" / f"ACC99{p}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{patient}_ACC99{p}_{i}.dcm"
            hospital_file(path, patient, f"ACC99{p}", f"{series}.{i}", series, study)
            originals.append(path)
    proc = subprocess.run([LUMEN, "data", "import", str(root), "--name", "ct", "--keep-mapping", "--workspace", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(subprocess.run([LUMEN, "data", "show", "ct", "--json", "--workspace", str(tmp_path)], capture_output=True, text=True, check=True).stdout)
    assert len(manifest["entries"]) == 4
    mapping_path = next(line for line in proc.stdout.splitlines() if line.startswith("original names kept in ")).split(" ")[4]
    mapping = {m["stored"]: m["original"] for m in json.load(open(mapping_path))["files"]}
    subprocess.run([LUMEN, "data", "export", "ct", str(tmp_path / "export"), "--workspace", str(tmp_path)], check=True, capture_output=True)
    shifts, by_patient = {}, {}
    for entry in manifest["entries"]:
        assert "MRN" not in entry["path"] and "ACC" not in entry["path"] and "Doe" not in entry["path"]
        ds = pydicom.dcmread(tmp_path / "export" / entry["path"])
        original = pydicom.dcmread(root / mapping[entry["path"]])
        assert ds.PatientID == entry["group"] and ds.PatientID.startswith("LUMEN-") and ds.PatientID != original.PatientID
        by_patient.setdefault(original.PatientID, set()).add(ds.PatientID)
        assert str(ds.PatientName).startswith("ANONYMOUS^")
        assert ds.PatientIdentityRemoved == "YES" and ds.LongitudinalTemporalInformationModified == "MODIFIED"
        assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100", "113107"]
        for keyword in ["PatientBirthDate", "AccessionNumber", "ReferringPhysicianName", "StudyID"]:
            assert keyword in ds and not ds.get(keyword), keyword  # type 2: present, empty
        for keyword in ["InstitutionName", "OperatorsName", "OtherPatientIDsSequence"]:
            assert keyword not in ds, keyword
        assert "SourceApplicationEntityTitle" not in ds.file_meta
        assert not any(elem.tag.is_private for elem in ds.iterall())
        text = repr(ds) + repr(ds.file_meta)
        for secret in ["MRN", "Doe", "Jane", "ACC99", "Example Hospital", "House", "Tech", "19610203", "20240229", "1.2.826.0.1.3680043.9"]:
            assert secret not in text, secret
        for uid in [ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.FrameOfReferenceUID]:
            assert uid.startswith("2.25.") and len(uid) <= 64 and uid.is_valid, uid
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID and ds.SOPClassUID == original.SOPClassUID
        assert ds.ReferencedImageSequence[0].ReferencedSOPClassUID == original.SOPClassUID
        assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID.startswith("2.25.")
        shift = (date.fromisoformat(ds.StudyDate[:4] + "-" + ds.StudyDate[4:6] + "-" + ds.StudyDate[6:]) - date(2024, 2, 29)).days
        assert -3650 <= shift <= -365 and ds.SeriesDate == ds.StudyDate and ds.StudyTime == "120000"
        shifts.setdefault(original.PatientID, set()).add(shift)
        np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)
    assert all(len(v) == 1 for v in by_patient.values()) and len({next(iter(v)) for v in by_patient.values()}) == 2
    assert all(len(v) == 1 for v in shifts.values()), shifts

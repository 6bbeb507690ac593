"""Batch inference to Parquet: `lumen predict MODEL DATASET --out r.parquet` (written through pyarrow) holds the same
rows as the CSV output, with typed columns, and pandas/pyarrow read it."""
import csv, os, subprocess, sys

import pyarrow.parquet as pq
import pytest

LUMEN = os.environ.get("LUMEN_BIN", "lumen")


def lumen(*args, env=None, cwd=None):
    proc = subprocess.run([LUMEN, *args], capture_output=True, text=True, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ws = tmp_path_factory.mktemp("batch")
    lumen("init", str(ws))
    lumen("data", "synth", "ct", str(ws / "ct"), "--patients", "4", "--slices", "3", "--size", "32")
    lumen("data", "import", str(ws / "ct"), "--name", "ct", "--split", "0.5,0.25,0.25", "--no-deidentify", "--workspace", str(ws))
    (ws / "exp.yaml").write_text("data:\n  dataset: ct\n  image_size: 24\n  window: lung\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 8\n  epochs: 1\n  threads: 1\n")
    lumen("train", str(ws / "exp.yaml"), "--register", "ctm", "--workspace", str(ws))
    return ws


def test_parquet_equals_csv(trained):
    ws = trained
    env = dict(os.environ, LUMEN_PYTHON=sys.executable)
    lumen("predict", "ctm", "ct", "--out", str(ws / "r.csv"), "--no-log", "--workspace", str(ws))
    out = lumen("predict", "ctm", "ct", "--out", str(ws / "r.parquet"), "--no-log", "--workspace", str(ws), env=env)
    assert "images predicted into" in out
    assert not (ws / "r.parquet.partial.csv").exists(), "the intermediate CSV is removed"
    table = pq.read_table(ws / "r.parquet")
    rows = list(csv.DictReader(open(ws / "r.csv")))
    assert table.num_rows == len(rows) > 0
    assert table.schema.field("path").type == "string" and table.schema.field("p_lesion").type == "double"
    by_path = {r["path"]: r for r in rows}
    for rec in table.to_pylist():
        ref = by_path[rec["path"]]
        assert rec["label"] == ref["label"]
        assert abs(rec["p_lesion"] - float(ref["p_lesion"])) < 1e-6 and abs(rec["p_normal"] - float(ref["p_normal"])) < 1e-6


def test_parquet_refused_without_pyarrow(trained, tmp_path):
    ws = trained
    fake = tmp_path / "python-without-pyarrow"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    proc = subprocess.run([LUMEN, "predict", "ctm", "ct", "--out", str(tmp_path / "x.parquet"), "--workspace", str(ws)],
                          capture_output=True, text=True, env=dict(os.environ, LUMEN_PYTHON=str(fake)))
    assert proc.returncode != 0 and "pip install pyarrow" in proc.stderr + proc.stdout
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "x.parquet.partial.csv").exists(), "refused before predicting"

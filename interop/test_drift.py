"""Lumen's drift statistics against SciPy's on the same columns: `lumen monitor tables REF.csv CUR.csv --json`
computes each column's test; SciPy computes the same statistic (K-S with the asymptotic p-value, the 1-D
Wasserstein distance normed by the reference's standard deviation, chi-squared goodness of fit,
Jensen-Shannon distance) and the verdicts follow Evidently's default thresholds."""
import json, os, subprocess

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

LUMEN = os.environ.get("LUMEN_BIN", "lumen")


def run(ref, cur, tmp_path):
    paths = []
    for name, table in (("ref.csv", ref), ("cur.csv", cur)):
        cols = list(table)
        lines = [",".join(cols)] + [",".join(str(table[c][i]) for c in cols) for i in range(len(table[cols[0]]))]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        paths.append(str(path))
    proc = subprocess.run([LUMEN, "monitor", "tables", *paths, "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return {f["feature"]: f for f in json.loads(proc.stdout)["features"]}


@pytest.mark.parametrize("seed", range(6))
def test_small_reference_uses_ks_and_chi2_like_scipy(seed, tmp_path):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(50, 900)), int(rng.integers(30, 600))
    shift = [0.0, 0.1, 0.3, 1.0, 0.05, 0.5][seed]
    ref = {"a": np.round(rng.normal(0, 1, n), 6), "b": np.round(rng.exponential(2, n), 6),
           "site": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])}
    cur = {"a": np.round(rng.normal(shift, 1, m), 6), "b": np.round(rng.exponential(2 + shift, m), 6),
           "site": rng.choice(["x", "y", "z"], m, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4])}
    ours = run(ref, cur, tmp_path)
    for col in ("a", "b"):
        d, p_auto = stats.ks_2samp(ref[col], cur[col])
        # Lumen's p-value is the limiting Kolmogorov distribution's (Smirnov's asymptotic formula).
        p = stats.kstwobign.sf(np.sqrt(n * m / (n + m)) * d)
        assert ours[col]["test"] == "ks"
        assert abs(ours[col]["statistic"] - d) < 1e-9, (col, ours[col], d)
        assert abs(ours[col]["pValue"] - p) < 1e-9 + 1e-7 * p, (col, ours[col]["pValue"], p)
        assert ours[col]["drifted"] == (p <= 0.05)
        # The verdict agrees with SciPy's default (exact) test except right at the threshold.
        if not 0.03 < p_auto < 0.07:
            assert ours[col]["drifted"] == (p_auto < 0.05), (col, ours[col]["pValue"], p_auto)
    categories = sorted(set(ref["site"]) | set(cur["site"]))
    observed = np.array([np.sum(cur["site"] == c) for c in categories], dtype=float)
    expected = np.array([np.sum(ref["site"] == c) for c in categories], dtype=float) / n * m
    chi, p = stats.chisquare(observed, expected)
    assert ours["site"]["test"] == "chi2"
    assert abs(ours["site"]["statistic"] - chi) < 1e-6 * max(1, chi) and abs(ours["site"]["pValue"] - p) < 1e-6 * max(1, p), (ours["site"], chi, p)


@pytest.mark.parametrize("seed", range(4))
def test_large_reference_uses_normed_wasserstein_and_jensen_shannon_like_scipy(seed, tmp_path):
    rng = np.random.default_rng(100 + seed)
    n, m = 2500, 1200
    shift = [0.0, 0.05, 0.2, 0.6][seed]
    ref = {"a": np.round(rng.normal(0, 2, n), 6), "label": rng.choice(["normal", "pneumonia"], n, p=[0.6, 0.4])}
    cur = {"a": np.round(rng.normal(shift * 2, 2, m), 6), "label": rng.choice(["normal", "pneumonia"], m, p=[0.6 - shift / 2, 0.4 + shift / 2])}
    ours = run(ref, cur, tmp_path)
    w = stats.wasserstein_distance(ref["a"], cur["a"]) / max(np.std(ref["a"]), 0.001)
    assert ours["a"]["test"] == "wasserstein" and abs(ours["a"]["statistic"] - w) < 1e-9, (ours["a"], w)
    assert ours["a"]["drifted"] == (w >= 0.1)
    counts = lambda v: np.array([np.sum(v == c) for c in ["normal", "pneumonia"]], dtype=float)
    js = jensenshannon(counts(ref["label"]), counts(cur["label"]))
    assert ours["label"]["test"] == "jensen-shannon" and abs(ours["label"]["statistic"] - js) < 1e-9, (ours["label"], js)
    assert ours["label"]["drifted"] == (js >= 0.1)


def test_bad_tables_are_refused(tmp_path):
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3\n")
    (tmp_path / "c.csv").write_text("a,b\n1,2\n")
    proc = subprocess.run([LUMEN, "monitor", "tables", str(tmp_path / "r.csv"), str(tmp_path / "c.csv")], capture_output=True, text=True)
    assert proc.returncode != 0 and "line 3 has 1 fields" in proc.stderr

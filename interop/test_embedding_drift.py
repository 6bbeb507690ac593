"""Lumen's embedding drift against Evidently's own methods and scikit-learn: `lumen monitor embeddings REF.csv CUR.csv
[--components K] --json` runs Evidently 0.7's four embedding drift methods (evidently.legacy ... embedding_drift_methods)
with their defaults. The share of drifted components (`ratio()`), the distance of the means (`distance()`) and the MMD
statistic (`mmd()`, which uses every row up to 1000) equal Evidently's to 1e-9; the PCA equals scikit-learn's up to the
sign of each component. The domain classifier is an exactly solved L2 logistic regression on a deterministic split
(even rows train, odd rows test), so its ROC AUC equals scikit-learn's LogisticRegression on that split, while
Evidently's `model()` (an SGDClassifier on a random split) only agrees on the verdict away from the threshold."""
import json, os, subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from evidently.legacy.metrics.data_drift.embedding_drift_methods import distance, mmd, model, ratio

LUMEN = os.environ.get("LUMEN_BIN", "lumen")
ALPHA = 1e-4  # the domain classifier's L2 strength: mean log-loss + alpha/2 * ||w||^2 (SGDClassifier's default alpha)
Z95 = 1.6448536269514722  # one-sided 95 % normal quantile of the AUC threshold for small references


def write(path, rows):
    d = rows.shape[1]
    lines = [",".join(f"e{j}" for j in range(d))] + [",".join(repr(float(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run(ref, cur, tmp_path, components=0, permutations=200):
    """`lumen monitor embeddings --json`; fewer MMD permutations where only the statistic is compared (a debug build
    takes seconds for 200 permutations of 1000 rows)."""
    args = [LUMEN, "monitor", "embeddings", write(tmp_path / "ref.csv", ref), write(tmp_path / "cur.csv", cur),
            "--components", str(components), "--permutations", str(permutations), "--json"]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    return {m["method"]: m for m in out["drift"]["methods"]}, out


def embeddings(seed, n, m, d, shift):
    """Correlated vectors of an embedding's scale (entries about ±0.3: a random mixing with decaying scales, so the
    PCA has distinct eigenvalues); the current table is moved by `shift` reference standard deviations times a random
    weight per dimension. At this scale Evidently's unscaled SGDClassifier converges well enough to compare verdicts."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) * np.geomspace(0.3, 0.03, d)[:, None]
    ref = rng.normal(size=(n, d)) @ mix + rng.normal(0, 0.2, d)
    cur = rng.normal(size=(m, d)) @ mix + ref.mean(0)
    cur += shift * ref.std(0) * rng.uniform(0, 1, d)
    return np.round(ref, 8), np.round(cur, 8)


def frame(a):
    return pd.DataFrame(a, columns=[f"e{j}" for j in range(a.shape[1])])


def domain_classifier(x, y):
    """scikit-learn's exact solution of Lumen's objective on the even/odd split; the ROC AUC of its decision function."""
    xtr, ytr = np.vstack([x[0::2], y[0::2]]), np.r_[np.ones(len(x[0::2])), np.zeros(len(y[0::2]))]
    xte, yte = np.vstack([x[1::2], y[1::2]]), np.r_[np.ones(len(x[1::2])), np.zeros(len(y[1::2]))]
    clf = LogisticRegression(C=1 / (ALPHA * len(xtr)), tol=1e-10, max_iter=10000).fit(xtr, ytr)
    return roc_auc_score(yte, clf.decision_function(xte)), len(x[1::2]), len(y[1::2])


def mmd2u(x, y):
    """Unbiased MMD^2 with the Gaussian kernel exp(-|a-b|^2 / sigma^2), sigma the median reference-current distance."""
    sigma2 = np.median(cdist(x, y)) ** 2
    k = np.exp(-cdist(np.vstack([x, y]), np.vstack([x, y]), "sqeuclidean") / sigma2)
    m, n = len(x), len(y)
    kx, ky, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    return (kx.sum() - np.trace(kx)) / (m * (m - 1)) + (ky.sum() - np.trace(ky)) / (n * (n - 1)) - 2 * kxy.mean()


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(1.0, abs(b))


# (seed, reference rows, current rows, dimensions, shift, PCA components): ≤ 500 rows a side, so that Lumen's MMD
# uses every row like Evidently's; 16 dimensions checks the numeric column order (e2 before e10).
CASES = [(0, 200, 150, 4, 0.0, 0), (1, 300, 240, 8, 0.3, 0), (2, 120, 90, 16, 1.0, 0),
         (3, 500, 500, 12, 0.1, 3), (4, 400, 333, 6, 0.0, 2), (5, 257, 311, 10, 0.5, 5), (6, 180, 220, 16, 0.05, 4)]


@pytest.mark.parametrize("seed,n,m,d,shift,k", CASES)
def test_methods_match_evidently_and_sklearn(seed, n, m, d, shift, k, tmp_path):
    ref, cur = embeddings(seed, n, m, d, shift)
    ours, out = run(ref, cur, tmp_path, k, permutations=50)
    drift = out["drift"]
    assert (drift["referenceCount"], drift["currentCount"], drift["components"]) == (n, m, k or d), drift
    assert set(ours) == {"domain_classifier", "ratio", "mmd", "distance"}
    assert drift["drifted"] == ours["domain_classifier"]["drifted"]
    pca_components = k or None
    if k:
        pca = PCA(n_components=k).fit(ref)
        x, y = pca.transform(ref), pca.transform(cur)
        evr = out["explainedVarianceRatio"]
        assert len(evr) == k and np.allclose(evr, pca.explained_variance_ratio_, rtol=1e-6, atol=0), (evr, pca.explained_variance_ratio_)
    else:
        x, y = ref, cur
        assert "explainedVarianceRatio" not in out or out["explainedVarianceRatio"] is None

    # Domain classifier: scikit-learn's AUC on the same split, the small-sample threshold, and Evidently's verdict.
    dc = ours["domain_classifier"]
    auc, p, q = domain_classifier(x, y)
    threshold = 0.5 + Z95 * np.sqrt((p + q + 1) / (12 * p * q))
    assert abs(dc["statistic"] - auc) < 0.005, (dc, auc)
    assert abs(dc["threshold"] - threshold) < 1e-12, (dc, threshold)
    assert dc["drifted"] == (dc["statistic"] > dc["threshold"])
    if abs(auc - threshold) > 0.005:
        assert dc["drifted"] == (auc > threshold), (dc, auc)
    # model() adds a target column to the frames it is given: hand it copies.
    e_auc, e_drifted, _ = model(threshold=threshold, bootstrap=None, pca_components=pca_components)(frame(cur), frame(ref))
    if abs(e_auc - threshold) > 0.05 and abs(dc["statistic"] - threshold) > 0.05:
        assert dc["drifted"] == e_drifted, (dc, e_auc)

    # Ratio of drifted components: Evidently's exactly, and SciPy's normed Wasserstein per component.
    e_share, e_drifted, _ = ratio(pca_components=pca_components)(frame(cur), frame(ref))
    share = np.mean([stats.wasserstein_distance(x[:, j], y[:, j]) / max(np.std(x[:, j]), 0.001) >= 0.1 for j in range(x.shape[1])])
    assert close(ours["ratio"]["statistic"], e_share) and close(ours["ratio"]["statistic"], share), (ours["ratio"], e_share, share)
    assert ours["ratio"]["threshold"] == 0.2 and ours["ratio"]["drifted"] == e_drifted

    # Distance of the means: Evidently's exactly.
    e_dist, e_drifted, _ = distance(pca_components=pca_components)(frame(cur), frame(ref))
    assert close(ours["distance"]["statistic"], e_dist), (ours["distance"], e_dist)
    assert close(ours["distance"]["statistic"], np.linalg.norm(x.mean(0) - y.mean(0)))
    assert ours["distance"]["threshold"] == 0.2 and ours["distance"]["drifted"] == e_drifted

    # MMD: Evidently's statistic (every row, n ≤ 1000) and NumPy's; the p-value is a permutation test's (1 + k) / 51.
    e_mmd, _, _ = mmd(pca_components=pca_components)(frame(cur), frame(ref))
    own = max(mmd2u(x, y), 0.0)
    assert close(ours["mmd"]["statistic"], e_mmd) and close(ours["mmd"]["statistic"], own), (ours["mmd"], e_mmd, own)
    pv = ours["mmd"]["pValue"]
    assert 0 < pv <= 1 and abs(pv * 51 - round(pv * 51)) < 1e-9 and round(pv * 51) >= 1, pv
    assert ours["mmd"]["drifted"] == (pv < 0.05)


@pytest.mark.parametrize("seed,shift", [(10, 0.0), (11, 0.4)])
def test_large_reference_uses_the_fixed_auc_threshold(seed, shift, tmp_path):
    n, m, d = 1200, 700, 6
    ref, cur = embeddings(seed, n, m, d, shift)
    ours, out = run(ref, cur, tmp_path, permutations=20)
    dc = ours["domain_classifier"]
    auc, _, _ = domain_classifier(ref, cur)
    assert dc["threshold"] == 0.55 and abs(dc["statistic"] - auc) < 0.005, (dc, auc)
    assert dc["drifted"] == (dc["statistic"] > 0.55) and out["drift"]["drifted"] == dc["drifted"]
    e_auc, e_drifted, _ = model()(frame(cur), frame(ref))
    if abs(e_auc - 0.55) > 0.05 and abs(dc["statistic"] - 0.55) > 0.05:
        assert dc["drifted"] == e_drifted, (dc, e_auc)
    e_share, e_drifted, _ = ratio()(frame(cur), frame(ref))
    assert close(ours["ratio"]["statistic"], e_share) and ours["ratio"]["drifted"] == e_drifted, (ours["ratio"], e_share)
    e_dist, e_drifted, _ = distance()(frame(cur), frame(ref))
    assert close(ours["distance"]["statistic"], e_dist) and ours["distance"]["drifted"] == e_drifted, (ours["distance"], e_dist)
    # Over 500 rows a side Lumen's MMD takes 500 evenly spaced rows (row i * count // 500) of each: NumPy on those.
    sub = lambda a: a[[i * len(a) // 500 for i in range(500)]]
    own = max(mmd2u(sub(ref), sub(cur)), 0.0)
    assert close(ours["mmd"]["statistic"], own), (ours["mmd"], own)


def test_pca_projection_matches_sklearn_up_to_sign(tmp_path):
    """A current table of one point repeated: the distance of the means is then the norm of that point's projection
    on the first K components, for K = 1, 2, …, so each component's coordinate agrees up to its sign."""
    ref, _ = embeddings(20, 300, 10, 8, 0.0)
    pca = PCA(n_components=5).fit(ref)
    rng = np.random.default_rng(21)
    for point in (ref.mean(0) + ref.std(0) * rng.normal(size=8) for _ in range(3)):
        point = np.round(point, 6)
        proj = pca.transform(point[None, :])[0]
        scale = np.linalg.norm(point - pca.mean_)
        for k in range(1, 6):
            ours, out = run(ref, np.tile(point, (6, 1)), tmp_path, k, permutations=10)
            assert np.allclose(out["explainedVarianceRatio"], pca.explained_variance_ratio_[:k], rtol=1e-6, atol=0)
            want = np.linalg.norm(proj[:k])
            assert abs(ours["distance"]["statistic"] - want) < 1e-6 * scale, (k, ours["distance"], want)


def test_mmd_permutation_test_separates_shift_from_noise(tmp_path):
    """Seed 30 (300 reference, 250 current rows of 8 dimensions), Lumen's default 200 permutations: the unchanged
    distribution gave p = 86/201 ≈ 0.43, the one moved by half a standard deviation the smallest possible, 1/201."""
    ref, same = embeddings(30, 300, 250, 8, 0.0)
    ours, _ = run(ref, same, tmp_path)
    assert ours["mmd"]["pValue"] > 0.05 and not ours["mmd"]["drifted"], ours["mmd"]
    ref, moved = embeddings(30, 300, 250, 8, 0.5)
    ours, _ = run(ref, moved, tmp_path)
    assert ours["mmd"]["pValue"] < 0.05 and ours["mmd"]["drifted"], ours["mmd"]


def test_bad_tables_are_refused(tmp_path):
    good = write(tmp_path / "good.csv", np.arange(12, dtype=float).reshape(6, 2))
    (tmp_path / "text.csv").write_text("e0,e1\n1,2\n3,x\n4,5\n5,6\n")
    (tmp_path / "wide.csv").write_text("e0,e1,e2\n" + "1,2,3\n" * 5)
    (tmp_path / "ragged.csv").write_text("e0,e1\n1,2\n3\n4,5\n5,6\n")
    for bad, words in (("text.csv", ["text.csv", "not numeric"]), ("wide.csv", ["wide.csv", "good.csv", "width"]),
                       ("ragged.csv", ["ragged.csv", "line 3"])):
        for args in ((good, str(tmp_path / bad)), (str(tmp_path / bad), good)):
            proc = subprocess.run([LUMEN, "monitor", "embeddings", *args, "--json"], capture_output=True, text=True)
            assert proc.returncode != 0 and all(w in proc.stderr for w in words), (args, proc.stderr)

"""`lumen evaluate` against scikit-learn: every metric scikit-learn has, recomputed from the predictions
in Lumen's JSON report, agrees to 1e-6."""
import json, os, subprocess

import numpy as np
import pytest

import sklearn  # a missing package fails the run (never a skip)
from sklearn import metrics

LUMEN = os.environ.get("LUMEN_BIN", "lumen")


def lumen(*args, cwd=None):
    proc = subprocess.run([LUMEN, *args], capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    ws = tmp_path_factory.mktemp("eval")
    lumen("init", str(ws))
    lumen("data", "synth", "ct", str(ws / "ct"), "--patients", "20", "--slices", "4", "--size", "48", "--seed", "2")
    lumen("data", "import", str(ws / "ct"), "--name", "ct", "--split", "0.5,0,0.5", "--seed", "1", "--workspace", str(ws))
    (ws / "exp.yaml").write_text("data: {dataset: ct, image_size: 24, window: lung, val_split: test}\nmodel: {name: simple-cnn}\n"
                                 "trainer: {epochs: 2, batch_size: 8, lr: 0.003, threads: 1}\n")
    lumen("train", str(ws / "exp.yaml"), "--register", "ct-cnn", "--workspace", str(ws))
    # scikit-learn's default pos_label=1 is the second class in sorted order ("normal"): chosen with --positive here.
    lumen("evaluate", "ct-cnn/1", "--data", "ct", "--split", "test", "--bootstrap", "200", "--positive", "normal", "--out", str(ws / "report.json"), "--workspace", str(ws))
    # By default the finding is the class not named like a negative one ("lesion", the first in sorted order).
    lumen("evaluate", "ct-cnn/1", "--data", "ct", "--split", "test", "--bootstrap", "0", "--out", str(ws / "default.json"), "--workspace", str(ws))
    lumen("evaluate", "ct-cnn/1", "--data", "ct", "--split", "test", "--bootstrap", "200", "--positive", "lesion", "--out", str(ws / "lesion.json"), "--workspace", str(ws))
    report = json.loads((ws / "report.json").read_text())
    report["lesion"] = json.loads((ws / "lesion.json").read_text())
    report["default"] = json.loads((ws / "default.json").read_text())
    return report


def test_default_positive_class_is_the_finding_not_normal(report):
    default = report["default"]
    assert default["classes"] == ["lesion", "normal"] and default["positive"] == 0
    assert abs(default["rocAUC"] - report["lesion"]["rocAUC"]) <= 1e-12


def test_metrics_equal_scikit_learn(report):
    y = np.array([p["label"] for p in report["predictions"]])
    proba = np.array([p["probabilities"] for p in report["predictions"]])
    pred = proba.argmax(axis=1)
    assert report["samples"] == len(y) > 20
    close = lambda a, b: abs(a - b) <= 1e-6
    assert close(report["accuracy"], metrics.accuracy_score(y, pred))
    assert close(report["balancedAccuracy"], metrics.balanced_accuracy_score(y, pred))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    for i, c in enumerate(report["perClass"]):
        assert close(c["precision"], precision[i]) and close(c["recall"], recall[i]) and close(c["f1"], f1[i]) and c["support"] == support[i]
    for avg in ["macro", "weighted"]:
        p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, labels=[0, 1], average=avg, zero_division=0)
        assert close(report[avg]["precision"], p) and close(report[avg]["recall"], r) and close(report[avg]["f1"], f), avg
    assert close(report["rocAUC"], metrics.roc_auc_score(y, proba[:, 1]))
    assert close(report["prAUC"], metrics.average_precision_score(y, proba[:, 1]))
    assert report["confusionMatrix"] == metrics.confusion_matrix(y, pred, labels=[0, 1]).tolist()
    # Specificity of class 1 is the recall of class 0 in a binary task.
    assert close(report["perClass"][1]["specificity"], recall[0])
    # Youden's J: the threshold maximises TPR - FPR over sklearn's ROC curve.
    fpr, tpr, thresholds = metrics.roc_curve(y, proba[:, 1])
    t = report["threshold"]
    assert close(t["sensitivity"] - (1 - t["specificity"]), max(tpr - fpr))
    for name, ci in report["confidenceIntervals"].items():
        assert ci["low"] <= ci["value"] + 1e-9 and ci["value"] <= ci["high"] + 1e-9, name


def test_positive_class_equals_scikit_learn_pos_label(report):
    lesion = report["lesion"]
    assert lesion["classes"] == ["lesion", "normal"] and lesion["positive"] == 0
    y = np.array([p["label"] for p in lesion["predictions"]])
    proba = np.array([p["probabilities"] for p in lesion["predictions"]])
    pred = proba.argmax(axis=1)
    close = lambda a, b: abs(a - b) <= 1e-6
    assert close(lesion["rocAUC"], metrics.roc_auc_score(y == 0, proba[:, 0]))
    assert close(lesion["prAUC"], metrics.average_precision_score(y, proba[:, 0], pos_label=0))
    sensitivity = metrics.recall_score(y, pred, pos_label=0)
    specificity = metrics.recall_score(y, pred, pos_label=1)
    assert close(lesion["confidenceIntervals"]["sensitivity"]["value"], sensitivity)
    assert close(lesion["confidenceIntervals"]["specificity"]["value"], specificity)
    fpr, tpr, _ = metrics.roc_curve(y, proba[:, 0], pos_label=0)
    t = lesion["threshold"]
    assert close(t["sensitivity"] - (1 - t["specificity"]), max(tpr - fpr))


@pytest.fixture(scope="module")
def multilabel_report(tmp_path_factory):
    """Two independent findings per image (a bright top half, a bright left half), labels written as top|left."""
    from PIL import Image
    ws = tmp_path_factory.mktemp("multilabel")
    lumen("init", str(ws))
    (ws / "img").mkdir()
    rng = np.random.default_rng(0)
    rows = ["path,label"]
    for i in range(80):
        top, left = rng.random() < 0.5, rng.random() < 0.5
        a = rng.integers(0, 60, (32, 32)).astype(np.uint8)
        a[:16] += 120 if top else 0
        a[:, :16] += 90 if left else 0
        Image.fromarray(a).save(ws / "img" / f"{i:03d}.png")
        rows.append(f"img/{i:03d}.png," + ("|".join(n for n, b in (("top", top), ("left", left)) if b) or "none"))
    (ws / "labels.csv").write_text("\n".join(rows) + "\n")
    lumen("data", "import", str(ws / "labels.csv"), "--name", "ml", "--split", "0.6,0,0.4", "--workspace", str(ws))
    (ws / "exp.yaml").write_text("data: {dataset: ml, image_size: 32, val_split: test}\nmodel: {name: simple-cnn}\n"
                                 "trainer: {epochs: 3, batch_size: 8, lr: 0.01, threads: 1}\n")
    lumen("train", str(ws / "exp.yaml"), "--register", "ml", "--workspace", str(ws))
    out = lumen("evaluate", "ml", "--data", "ml", "--split", "test", "--out", str(ws / "report.json"), "--workspace", str(ws))
    assert "macro ROC-AUC" in out
    return json.loads((ws / "report.json").read_text())


def test_multilabel_metrics_equal_scikit_learn(multilabel_report):
    r = multilabel_report
    y = np.array([p["labels"] for p in r["predictions"]])
    proba = np.array([p["probabilities"] for p in r["predictions"]])
    pred = (proba >= r["threshold"]).astype(int)
    assert r["classes"] == ["left", "none", "top"] and y.shape == (r["samples"], 3) and r["samples"] > 20
    close = lambda a, b: abs(float(a) - b) <= 1e-6
    p, rec, f1, support = metrics.precision_recall_fscore_support(y, pred, average=None, zero_division=0)
    assert len(r["perLabel"]) == 3
    for i, label in enumerate(r["perLabel"]):
        assert close(label["precision"], p[i]) and close(label["recall"], rec[i]) and close(label["f1"], f1[i]) and label["support"] == support[i]
        # Seeded data: every label has both outcomes, so every AUC is compared (none drops out).
        assert 0 < y[:, i].sum() < len(y), i
        assert close(label["rocAUC"], metrics.roc_auc_score(y[:, i], proba[:, i]))
        assert close(label["averagePrecision"], metrics.average_precision_score(y[:, i], proba[:, i]))
    assert close(r["microF1"], metrics.f1_score(y, pred, average="micro", zero_division=0))
    assert close(r["macroF1"], metrics.f1_score(y, pred, average="macro", zero_division=0))
    assert close(r["subsetAccuracy"], metrics.accuracy_score(y, pred))
    assert close(r["hammingLoss"], metrics.hamming_loss(y, pred))
    assert close(r["macroAUC"], metrics.roc_auc_score(y, proba, average="macro"))

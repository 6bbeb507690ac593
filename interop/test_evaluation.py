"""`lumen evaluate` against scikit-learn: every metric scikit-learn has, recomputed from the predictions
in Lumen's JSON report, agrees to 1e-6."""
import json, os, subprocess

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
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
    lumen("evaluate", "ct-cnn/1", "--data", "ct", "--split", "test", "--bootstrap", "200", "--out", str(ws / "report.json"), "--workspace", str(ws))
    return json.loads((ws / "report.json").read_text())


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

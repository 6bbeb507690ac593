"""`lumen evaluate` of a U-Net against scikit-learn and SciPy: from the predicted masks Lumen writes
(--save-masks) and the true masks, every per-image Dice, IoU and pixel accuracy equals scikit-learn's
f1_score, jaccard_score and accuracy_score, and HD95 equals MedPy's definition computed with SciPy
(surface = mask XOR its erosion by the 4-connected cross; Euclidean distance transform; 95th percentile
of both directed surface distances), to 1e-6."""
import json, os, subprocess

import numpy as np
import pytest

from PIL import Image
from scipy import ndimage
from sklearn import metrics

LUMEN = os.environ.get("LUMEN_BIN", "lumen")


def lumen(*args):
    proc = subprocess.run([LUMEN, *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    ws = tmp_path_factory.mktemp("seg")
    lumen("init", str(ws))
    lumen("data", "synth", "cells", str(ws / "cells"), "--count", "16", "--size", "64", "--seed", "3")
    lumen("data", "import", str(ws / "cells/images"), "--masks", str(ws / "cells/masks"), "--name", "cells", "--split", "0.5,0,0.5", "--workspace", str(ws))
    (ws / "seg.yaml").write_text("data: {dataset: cells, image_size: 64, val_split: test, augment: [flip]}\n"
                                 "model: {name: unet, unet_width: 8, unet_depth: 3}\ntrainer: {epochs: 3, batch_size: 4, lr: 0.003, threads: 1}\n")
    lumen("train", str(ws / "seg.yaml"), "--register", "cells-unet", "--workspace", str(ws))
    out = lumen("evaluate", "cells-unet", "--data", "cells", "--split", "test", "--out", str(ws / "report.json"),
                "--save-masks", str(ws / "pred"), "--workspace", str(ws))
    assert "mean foreground Dice" in out
    return ws, json.loads((ws / "report.json").read_text(), parse_constant=float)


def value(v):
    return float(v) if not isinstance(v, str) else float(v.replace("Infinity", "inf"))


def surface_distances(result, reference):
    cross = ndimage.generate_binary_structure(2, 1)
    result_border = result ^ ndimage.binary_erosion(result, structure=cross, iterations=1)
    reference_border = reference ^ ndimage.binary_erosion(reference, structure=cross, iterations=1)
    return ndimage.distance_transform_edt(~reference_border)[result_border]


def hd95(result, reference):
    return np.percentile(np.hstack((surface_distances(result, reference), surface_distances(reference, result))), 95)


def test_per_image_metrics_equal_scikit_learn_and_scipy(evaluated):
    ws, report = evaluated
    assert len(report["images"]) == 8
    close = lambda a, b: abs(a - b) <= 1e-6
    pooled_pred, pooled_truth = [], []
    for image in report["images"]:
        pred = np.array(Image.open(ws / "pred" / (image["path"] + ".png")))
        truth = (np.array(Image.open(ws / "cells/masks" / image["path"])) > 0).astype(np.int64)
        assert pred.shape == truth.shape == (64, 64)
        pooled_pred.append(pred.ravel()); pooled_truth.append(truth.ravel())
        assert close(image["pixelAccuracy"], metrics.accuracy_score(truth.ravel(), pred.ravel()))
        for c in (0, 1):
            dice, iou, hd = value(image["dice"][c]), value(image["iou"][c]), value(image["hd95"][c])
            if not (pred == c).any() and not (truth == c).any():
                assert np.isnan(dice) and np.isnan(iou)
                continue
            assert close(dice, metrics.f1_score(truth.ravel(), pred.ravel(), labels=[c], average=None, zero_division=0)[0]), (image["path"], c)
            assert close(iou, metrics.jaccard_score(truth.ravel(), pred.ravel(), labels=[c], average=None, zero_division=0)[0]), (image["path"], c)
            if (pred == c).any() and (truth == c).any():
                assert close(hd, hd95(pred == c, truth == c)), (image["path"], c, hd, hd95(pred == c, truth == c))
            else:
                assert np.isnan(hd)
    pred, truth = np.concatenate(pooled_pred), np.concatenate(pooled_truth)
    foreground = report["classes"][1]
    assert close(value(foreground["pooledDice"]), metrics.f1_score(truth, pred, labels=[1], average=None)[0])
    assert close(value(foreground["pooledIoU"]), metrics.jaccard_score(truth, pred, labels=[1], average=None)[0])
    assert close(report["pixelAccuracy"], metrics.accuracy_score(truth, pred))

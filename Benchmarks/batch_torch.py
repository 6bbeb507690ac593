"""The PyTorch side of the batch-inference benchmark (Benchmarks/batch_bench.py): what `lumen predict NAME FOLDER
--out results.csv` does, written the usual way: a Dataset over the image files (PIL open, the version's evaluation
preprocessing rebuilt from torchvision transforms, as Benchmarks/serving_fastapi.py does), a DataLoader (batch 32,
2 workers), torchvision's ResNet-18 with the registered weights, eval + inference_mode, softmax (or sigmoid), and the
same CSV: path,label,probability,p_<class>…,prediction_id,error, one row per image, paths relative to FOLDER, sorted.
Usage: python batch_torch.py SPEC.json WEIGHTS.safetensors FOLDER OUT.csv [BATCH_SIZE] [WORKERS]
Prints one JSON line: images, startup_s (imports, model load, file listing: from the first line of this script),
run_s (DataLoader iteration, network, CSV written: the work without the startup).
"""
import time

T0 = time.perf_counter()

import csv, json, os, sys, uuid  # noqa: E402

import torch  # noqa: E402
from PIL import Image  # noqa: E402

SPEC_PATH, WEIGHTS, FOLDER, OUT = sys.argv[1:5]
BATCH = int(sys.argv[5]) if len(sys.argv) > 5 else 32
WORKERS = int(sys.argv[6]) if len(sys.argv) > 6 else 2
torch.set_num_threads(os.cpu_count() or 1)

with open(SPEC_PATH) as f:
    SPEC = json.load(f)
CLASSES = SPEC["classes"]
CHANNELS = SPEC["inputChannels"]
if SPEC["architecture"]["name"] != "resnet18":
    raise SystemExit(f"batch_torch.py predicts with resnet18, not {SPEC['architecture']['name']}")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import build_transform, load_model  # noqa: E402


class ImageFiles(torch.utils.data.Dataset):
    """Every image file under a folder (any depth, hidden files left out), sorted by relative path."""
    EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

    def __init__(self, folder, transform):
        self.folder, self.transform = folder, transform
        self.paths = sorted(
            os.path.relpath(os.path.join(d, f), folder)
            for d, dirs, files in os.walk(folder)
            for f in files if not f.startswith(".") and f.lower().endswith(self.EXTENSIONS))

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(os.path.join(self.folder, self.paths[i])) as img:
            return self.transform(img), i


model = load_model(CLASSES, CHANNELS, WEIGHTS)
dataset = ImageFiles(FOLDER, build_transform(SPEC["preprocessing"]["steps"]))
loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, num_workers=WORKERS)
sigmoid = SPEC.get("output") == "sigmoid"
T1 = time.perf_counter()

n = 0
with open(OUT, "w", newline="") as f, torch.inference_mode():
    out = csv.writer(f, lineterminator="\n")
    out.writerow(["path", "label", "probability"] + ["p_" + c for c in CLASSES] + ["prediction_id", "error"])
    for x, index in loader:
        logits = model(x)
        probs = (torch.sigmoid(logits) if sigmoid else torch.softmax(logits, dim=1)).tolist()
        for i, p in zip(index.tolist(), probs):
            top = max(range(len(p)), key=p.__getitem__)
            out.writerow([dataset.paths[i], CLASSES[top], f"{p[top]:.6f}"] + [f"{v:.6f}" for v in p] + [str(uuid.uuid4()), ""])
        n += len(probs)
T2 = time.perf_counter()
print(json.dumps({"images": n, "startup_s": T1 - T0, "run_s": T2 - T1, "threads": torch.get_num_threads(), "workers": WORKERS,
                  "batch_size": BATCH}))

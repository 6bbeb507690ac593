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
import torchvision  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from torchvision import transforms as T  # noqa: E402

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


# The model and the preprocessing, as in Benchmarks/serving_fastapi.py (copied: that module starts a FastAPI app).
def load_model():
    model = torchvision.models.resnet18(num_classes=len(CLASSES))
    if CHANNELS != 3:
        model.conv1 = torch.nn.Conv2d(CHANNELS, 64, kernel_size=7, stride=2, padding=3, bias=False)
    state = load_file(WEIGHTS)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"checkpoint does not fit resnet18: missing {missing}, unexpected {unexpected}")
    return model.eval()


def channels(n):
    def convert(img):
        if isinstance(img, torch.Tensor):
            if img.shape[0] == n:
                return img
            if n == 1:  # ITU-R BT.601 luma, as PIL's convert("L")
                return (0.299 * img[0:1] + 0.587 * img[1:2] + 0.114 * img[2:3]) if img.shape[0] >= 3 else img[0:1]
            return img[0:1].expand(n, -1, -1)
        if n == 1:
            return img if img.mode in ("L", "F", "I", "I;16") else img.convert("L")
        return img.convert("RGB")
    return convert


def min_max(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)


def z_score(x):
    s = x.std(unbiased=False)
    return (x - x.mean()) / s if s > 0 else torch.zeros_like(x)


def percentile(low, high):
    def apply(x):
        lo, hi = torch.quantile(x.flatten(), low / 100), torch.quantile(x.flatten(), high / 100)
        return ((x.clamp(lo, hi) - lo) / (hi - lo)) if hi > lo else torch.zeros_like(x)
    return apply


def window(center, width):
    return lambda x: ((x - (center - width / 2)) / width).clamp(0, 1)


def build_transform(steps):
    pil, tensor = [], []
    for step in steps:
        (kind, args), = step.items()
        stage = tensor if tensor else pil
        if kind == "resize":
            if args.get("keepAspect"):
                size, pad = (args["width"], args["height"]), int(args.get("padValue", 0))
                stage.append(T.Lambda(lambda img, size=size, pad=pad: ImageOps.pad(img, size, color=pad)))
            else:
                stage.append(T.Resize((args["height"], args["width"]), antialias=True))
        elif kind == "centerCrop":
            stage.append(T.CenterCrop((args["height"], args["width"])))
        elif kind == "channels":
            stage.append(T.Lambda(channels(args["_0"])))
        elif kind == "normalize":
            (norm, params), = args["_0"].items()
            tensor.append({"minMax": lambda: T.Lambda(min_max), "zscore": lambda: T.Lambda(z_score),
                           "percentile": lambda: T.Lambda(percentile(params["low"], params["high"])),
                           "fixed": lambda: T.Normalize(params["mean"], params["std"])}[norm]())
        elif kind == "window":
            tensor.append(T.Lambda(window(args["center"], args["width"])))
        else:
            raise SystemExit(f"batch_torch.py: preprocessing step '{kind}' is not supported")
    return T.Compose(pil + [T.PILToTensor(), T.Lambda(lambda x: x.float())] + tensor)


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


model = load_model()
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

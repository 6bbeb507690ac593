"""The reference model server of the serving benchmark (Benchmarks/serving_bench.py): a FastAPI app the way
small hospital projects write theirs. Each uvicorn worker loads the model at import; `POST /predict` takes one
uploaded image, decodes it with PIL, applies torchvision transforms and runs the network on that one image
(no batching; the async handler runs it inline, so a worker answers one request at a time); `GET /health`.

The model is a Lumen-registered version, read from two files named in the environment:
  SERVING_WEIGHTS  the checkpoint (safetensors, torchvision key names: conv1.weight, layer1.0.conv1.weight, fc.weight…)
  SERVING_SPEC     the version's ModelSpec JSON (`lumen models show NAME/VERSION`): classes, input channels and
                   size, output kind and the evaluation preprocessing, which is rebuilt here from torchvision transforms.
  SERVING_TORCH_THREADS  optional: torch.set_num_threads (default: PyTorch's own choice, as such projects leave it)
Run: SERVING_WEIGHTS=… SERVING_SPEC=… uvicorn serving_fastapi:app --app-dir Benchmarks --workers 2
"""
import io, json, os

import torch
import torchvision
from fastapi import FastAPI, File, HTTPException, UploadFile
from PIL import Image, ImageOps
from safetensors.torch import load_file
from torchvision import transforms as T

if os.environ.get("SERVING_TORCH_THREADS"):
    torch.set_num_threads(int(os.environ["SERVING_TORCH_THREADS"]))

with open(os.environ["SERVING_SPEC"]) as f:
    SPEC = json.load(f)
CLASSES = SPEC["classes"]
CHANNELS = SPEC["inputChannels"]
if SPEC["architecture"]["name"] != "resnet18":
    raise SystemExit(f"serving_fastapi.py serves resnet18, not {SPEC['architecture']['name']}")


def load_model():
    model = torchvision.models.resnet18(num_classes=len(CLASSES))
    if CHANNELS != 3:
        model.conv1 = torch.nn.Conv2d(CHANNELS, 64, kernel_size=7, stride=2, padding=3, bias=False)
    state = load_file(os.environ["SERVING_WEIGHTS"])
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Checkpoints without BatchNorm's step counters are fine; any other difference is not.
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
    """The spec's evaluation pipeline as torchvision transforms: geometric and channel steps on the PIL image,
    then the raw pixel values as a float tensor (as Lumen reads them), then the intensity steps."""
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
            raise SystemExit(f"serving_fastapi.py: preprocessing step '{kind}' is not supported")
    return T.Compose(pil + [T.PILToTensor(), T.Lambda(lambda x: x.float())] + tensor)


model = load_model()
preprocess = build_transform(SPEC["preprocessing"]["steps"])
app = FastAPI(title="ResNet-18 classifier")


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/predict")
async def predict(file: UploadFile = File(...)):
    data = await file.read()
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as e:
        raise HTTPException(status_code=400, detail=f"cannot read the image: {e}")
    x = preprocess(image).unsqueeze(0)
    with torch.no_grad():
        logits = model(x)[0]
    probs = torch.sigmoid(logits) if SPEC.get("output") == "sigmoid" else torch.softmax(logits, dim=0)
    probs = probs.tolist()
    return {"file": file.filename, "probabilities": dict(zip(CLASSES, probs)), "label": CLASSES[max(range(len(probs)), key=probs.__getitem__)]}

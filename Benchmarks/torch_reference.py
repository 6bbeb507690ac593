"""The PyTorch side of the benchmarks (serving_fastapi.py, batch_torch.py): a registered Lumen version's ResNet-18
and its preprocessing (the ModelSpec's steps) rebuilt with torchvision, so that both tools compute the same thing."""
import torch
import torchvision
from PIL import ImageOps
from safetensors.torch import load_file
from torchvision import transforms as T


def load_model(classes, channels_in, weights):
    """torchvision's ResNet-18 with a version's classes and input channels and its safetensors weights (every key)."""
    model = torchvision.models.resnet18(num_classes=len(classes))
    if channels_in != 3:
        model.conv1 = torch.nn.Conv2d(channels_in, 64, kernel_size=7, stride=2, padding=3, bias=False)
    state = load_file(weights)
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
            raise SystemExit(f"torch_reference.py: preprocessing step '{kind}' is not supported")
    return T.Compose(pil + [T.PILToTensor(), T.Lambda(lambda x: x.float())] + tensor)

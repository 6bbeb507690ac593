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
from fastapi import FastAPI, File, HTTPException, UploadFile
from PIL import Image

if os.environ.get("SERVING_TORCH_THREADS"):
    torch.set_num_threads(int(os.environ["SERVING_TORCH_THREADS"]))

with open(os.environ["SERVING_SPEC"]) as f:
    SPEC = json.load(f)
CLASSES = SPEC["classes"]
CHANNELS = SPEC["inputChannels"]
if SPEC["architecture"]["name"] != "resnet18":
    raise SystemExit(f"serving_fastapi.py serves resnet18, not {SPEC['architecture']['name']}")


from torch_reference import build_transform, load_model  # noqa: E402


model = load_model(CLASSES, CHANNELS, os.environ["SERVING_WEIGHTS"])
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

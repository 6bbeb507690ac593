"""Training benchmark (make bench): one epoch end to end (load + augment + step) of ResNet-18 on 64×64
images, `lumen train` against PyTorch + a torchvision DataLoader with 2 workers, on the same files."""
import json, os, re, shutil, subprocess, sys, tempfile, time

import numpy as np
from PIL import Image

LUMEN, TORCH_PY = (os.path.abspath(a) if os.sep in a else a for a in sys.argv[1:3])
N = int(os.environ.get("TRAIN_BENCH_FILES", "2000"))
root = tempfile.mkdtemp(prefix="lumen-train-bench-")
try:
    folder = os.path.join(root, "images")
    rng = np.random.default_rng(1)
    for i in range(N):
        label = f"class{i % 2}"
        os.makedirs(os.path.join(folder, "train", label), exist_ok=True)
        img = rng.integers(0, 255, size=(64, 64), dtype=np.uint8)
        Image.fromarray(img).save(os.path.join(folder, "train", label, f"{i:05d}.png"))
    ws = os.path.join(root, "ws")
    subprocess.run([LUMEN, "init", ws], check=True, capture_output=True)
    subprocess.run([LUMEN, "data", "import", folder, "--name", "bench", "--workspace", ws], check=True, capture_output=True)
    with open(os.path.join(root, "exp.yaml"), "w") as f:
        f.write("data: {dataset: bench, image_size: 64, augment: [flip], normalize: minmax, cache: false, workers: 2, val_split: none}\n"
                "model: {name: resnet18}\n"
                # The reference's optimizer: plain SGD (torch.optim.SGD(lr=0.01): no momentum, no weight decay).
                "trainer: {epochs: 1, batch_size: 32, optimizer: sgd, lr: 0.01, momentum: 0, weight_decay: 0, schedule: none}\n")
    results = {"lumen": [], "pytorch": []}
    for _ in range(int(os.environ.get("ROUNDS", "3"))):
        out = subprocess.run([LUMEN, "train", os.path.join(root, "exp.yaml"), "--workspace", ws], check=True, capture_output=True, text=True).stdout
        results["lumen"].append(float(re.search(r"train_images_per_s ([0-9.]+)", out).group(1)))
        torch_out = subprocess.run([TORCH_PY, os.path.join(os.path.dirname(__file__), "torch_train_bench.py"), os.path.join(folder, "train")],
                                   check=True, capture_output=True, text=True).stdout
        results["pytorch"].append(json.loads(torch_out)["images_per_s"])
    lumen, torch = float(np.median(results["lumen"])), float(np.median(results["pytorch"]))
    print(f"\n| task | Lumen img/s | PyTorch + DataLoader img/s | ratio | target |\n| --- | --- | --- | --- | --- |")
    print(f"| ResNet-18 epoch, 64×64, {N} PNG files, 2 loader workers | {lumen:.1f} | {torch:.1f} | {lumen / torch:.2f}× | ≥ 1.2× {'met' if lumen / torch >= 1.2 else 'NOT met'} |")
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/training.json", "w") as f:
        json.dump(results, f, indent=2)
finally:
    shutil.rmtree(root, ignore_errors=True)

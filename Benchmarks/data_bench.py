"""Data benchmark (make bench): import and hash 10,000 PNG files with `lumen data import` against `dvc add`
of the same folder, and one loader epoch (decode + augment + batch, 2 workers) against a PyTorch DataLoader
with torchvision transforms. Same files, same machine, same run; prints the ratios."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

import numpy as np
from PIL import Image

LUMEN, DATA_BENCH, DVC, TORCH_PY = (os.path.abspath(a) if os.sep in a else a for a in sys.argv[1:5])
N = int(os.environ.get("DATA_BENCH_FILES", "10000"))
SIZE = 64
root = tempfile.mkdtemp(prefix="lumen-data-bench-")
try:
    folder = os.path.join(root, "images")
    rng = np.random.default_rng(0)
    for i in range(N):
        label = f"class{i % 10}"
        os.makedirs(os.path.join(folder, label), exist_ok=True)
        base = rng.integers(0, 255, size=(SIZE // 8, SIZE // 8), dtype=np.uint8)
        img = np.kron(base, np.ones((8, 8), dtype=np.uint8)) + rng.integers(0, 8, size=(SIZE, SIZE), dtype=np.uint8)
        Image.fromarray(img).save(os.path.join(folder, label, f"{i:05d}.png"))
    print(f"data bench: {N} PNG files of {SIZE}x{SIZE} written", file=sys.stderr)

    # Import: lumen (hash, validate by decoding, store content-addressed) vs dvc add (hash, cache). A single
    # round of about a second is at the mercy of this noisy 2-core machine: 3 alternating rounds, each on a
    # fresh workspace / repository, and the medians compared.
    ROUNDS = int(os.environ.get("DATA_BENCH_ROUNDS", "3"))
    lumen_times, dvc_times = [], []
    for r in range(ROUNDS):
        ws = os.path.join(root, f"ws{r}")
        subprocess.run([LUMEN, "init", ws], check=True, capture_output=True)
        t = time.perf_counter()
        subprocess.run([LUMEN, "data", "import", folder, "--name", "bench", "--workspace", ws], check=True, capture_output=True)
        lumen_times.append(time.perf_counter() - t)
        repo = os.path.join(root, f"dvcrepo{r}")
        os.makedirs(repo)
        shutil.copytree(folder, os.path.join(repo, "images"))
        subprocess.run([DVC, "init", "--no-scm", "-q"], cwd=repo, check=True)
        t = time.perf_counter()
        subprocess.run([DVC, "add", "-q", "images"], cwd=repo, check=True)
        dvc_times.append(time.perf_counter() - t)
        shutil.rmtree(repo, ignore_errors=True)
        if r > 0:
            shutil.rmtree(ws, ignore_errors=True)  # the first workspace serves the loader below
        print(f"data bench: import round {r + 1}: lumen {lumen_times[-1]:.2f} s, dvc add {dvc_times[-1]:.2f} s", file=sys.stderr)
    lumen_import, dvc_import = statistics.median(lumen_times), statistics.median(dvc_times)
    ws = os.path.join(root, "ws0")

    # Loader: one epoch, 2 workers, batch 32, flip + rotation + normalisation.
    lumen_loader = json.loads(subprocess.run([DATA_BENCH, ws, "bench", "1", "2", "32"], check=True, capture_output=True, text=True).stdout)
    torch_loader = json.loads(subprocess.run([TORCH_PY, os.path.join(os.path.dirname(__file__), "torch_loader_bench.py"), folder], check=True, capture_output=True, text=True).stdout)

    rows = [
        ("import + hash (median of %d)" % ROUNDS, f"{N} files", f"{lumen_import:.2f} s", f"{dvc_import:.2f} s (dvc add)", dvc_import / lumen_import, 3.0),
        ("loader epoch", "2 workers", f"{lumen_loader['images_per_s']:.0f} img/s", f"{torch_loader['images_per_s']:.0f} img/s (DataLoader)",
         lumen_loader["images_per_s"] / torch_loader["images_per_s"], 1.5),
    ]
    print("\n| task | size | Lumen | reference | ratio (× faster) | target |\n| --- | --- | --- | --- | --- | --- |")
    for name, size, ours, ref, ratio, target in rows:
        print(f"| {name} | {size} | {ours} | {ref} | {ratio:.2f}× | ≥ {target}× {'met' if ratio >= target else 'NOT met'} |")
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/data.json", "w") as f:
        json.dump({"files": N, "lumen_import_s": lumen_import, "dvc_import_s": dvc_import, "lumen_import_rounds_s": lumen_times, "dvc_import_rounds_s": dvc_times, "lumen_loader": lumen_loader, "torch_loader": torch_loader}, f, indent=2)
finally:
    shutil.rmtree(root, ignore_errors=True)

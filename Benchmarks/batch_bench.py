"""make bench (batch inference): `lumen predict NAME@ALIAS FOLDER --out results.csv` against a PyTorch script doing the
same job the usual way (Benchmarks/batch_torch.py: Dataset + DataLoader(batch 32, 2 workers) + torchvision ResNet-18,
same weights, same preprocessing, same CSV), on the same PNG files, in the same run. Issue target: Lumen's throughput
at least 1.5× PyTorch's.

Trains and registers a ResNet-18 on 32 grey 224×224 PNGs (as Benchmarks/serving_bench.py does: one epoch, registered,
aliased champion) in a temporary workspace, then writes M distinct grey 224×224 PNGs to predict. Both tools run as
fresh processes, timed from process start to exit (imports, model load, reading, preprocessing, network, CSV written);
the PyTorch script also times itself without its startup (imports and model load), reported alongside for honesty.
One unmeasured warm-up of each (on the 32 training images) first; then ROUNDS rounds, which tool goes first
alternating, a fresh output file each time; medians. Checks that the two CSVs have the same rows and probabilities
within 1e-3 (the max |Δp| is printed). Peak RSS: each tool's process tree (PyTorch: main + DataLoader workers) summed
from /proc every 0.1 s, and the kernel's ru_maxrss of the main process (os.wait4).
Appends one JSON line to bench-results/batch.jsonl.
Usage: python batch_bench.py LUMEN_BIN [PYTHON]   (PYTHON: a venv with torch, torchvision, pillow, safetensors;
default: the interpreter running this script)
Environment: BATCH_BENCH_IMAGES (512), BATCH_BENCH_ROUNDS or ROUNDS (3), BATCH_BENCH_THREADS (lumen --threads; default
its own: every core), BATCH_BENCH_KEEP=1 keeps the temporary folder.
"""
import csv, hashlib, json, os, re, shutil, subprocess, sys, tempfile, threading, time

import numpy as np
from PIL import Image

LUMEN = os.path.abspath(sys.argv[1]) if os.sep in sys.argv[1] else sys.argv[1]
PYTHON = sys.argv[2] if len(sys.argv) > 2 else sys.executable
IMAGES = int(os.environ.get("BATCH_BENCH_IMAGES", "512"))
ROUNDS = int(os.environ.get("BATCH_BENCH_ROUNDS", os.environ.get("ROUNDS", "3")))
THREADS = os.environ.get("BATCH_BENCH_THREADS")
BATCH = 32
WORKERS = 2
TARGET = 1.5  # lumen img/s / pytorch img/s
TOLERANCE = 1e-3
HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_SCRIPT = os.path.join(HERE, "batch_torch.py")


def tree(pid):
    """A process and all its descendants."""
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                stack += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(cmd, log_prefix):
    """Runs cmd to completion: (wall seconds from start to exit, peak RSS of its process tree summed (kB), processes
    seen at most, ru_maxrss of the main process (kB), stdout, stderr). Raises on a non-zero exit."""
    out_path, err_path = log_prefix + ".out", log_prefix + ".err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        peak = {"rss": 0, "processes": 0}
        done = threading.Event()

        def sample():
            while not done.is_set():
                pids = tree(proc.pid)
                peak["processes"] = max(peak["processes"], len(pids))
                peak["rss"] = max(peak["rss"], sum(rss_kb(p) for p in pids))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    stdout, stderr = open(out_path).read(), open(err_path).read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    return wall, peak["rss"], peak["processes"], usage.ru_maxrss, stdout, stderr


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["path"]: r for r in rows}, len(rows)


def compare(lumen_csv, torch_csv, classes):
    """(same set of rows, max |Δp| over every row and class, rows whose label differs, lumen rows with an error)."""
    a, na = read_csv(lumen_csv)
    b, nb = read_csv(torch_csv)
    same = set(a) == set(b) and na == len(a) and nb == len(b)
    errors = sum(1 for r in a.values() if r.get("error"))
    diff, labels = 0.0, 0
    for path in set(a) & set(b):
        if a[path].get("error"):
            continue
        for c in classes:
            diff = max(diff, abs(float(a[path]["p_" + c]) - float(b[path]["p_" + c])))
        labels += a[path]["label"] != b[path]["label"]
    return same, diff, labels, errors, na, nb


def median(values):
    v = sorted(values)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2 if v else float("nan")


def grey_image(rng, i, positive):
    """A grey 224×224 picture: a soft central glow with noise, a bright disc at an image-dependent place for class1."""
    yy, xx = np.mgrid[0:224, 0:224]
    img = 60 + 80 * np.exp(-((xx - 112) ** 2 + (yy - 112) ** 2) / (2 * 70.0 ** 2)) + rng.normal(0, 12, (224, 224))
    if positive:
        img += 50 * (((xx - 40 - (7 * i) % 140) ** 2 + (yy - 60 - (13 * i) % 110) ** 2) < 20 ** 2)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


root = tempfile.mkdtemp(prefix="lumen-batch-bench-")
try:
    # 1. The model, as in serving_bench.py: ResNet-18, one epoch on 24 of 32 grey 224×224 PNGs, registered, champion.
    train = os.path.join(root, "train")
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:224, 0:224]
    for i in range(32):
        label = f"class{i % 2}"
        os.makedirs(os.path.join(train, label), exist_ok=True)
        img = 60 + 80 * np.exp(-((xx - 112) ** 2 + (yy - 112) ** 2) / (2 * 70.0 ** 2)) + rng.normal(0, 12, (224, 224))
        if label == "class1":
            img += 50 * (((xx - 80 - 4 * i) ** 2 + (yy - 140) ** 2) < 20 ** 2)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(train, label, f"{i:03d}.png"))
    ws = os.path.join(root, "ws")
    subprocess.run([LUMEN, "init", ws], check=True, capture_output=True)
    subprocess.run([LUMEN, "data", "import", train, "--name", "bench", "--split", "0.75,0.25", "--workspace", ws], check=True, capture_output=True)
    config = os.path.join(root, "train.yaml")
    with open(config, "w") as f:
        f.write("data:\n  dataset: bench\n  image_size: 224\n  positive_class: class1\nmodel:\n  name: resnet18\ntrainer:\n  batch_size: 8\n  epochs: 1\n")
    print("batch bench: training and registering the ResNet-18…", file=sys.stderr)
    subprocess.run([LUMEN, "train", config, "--register", "bench", "--workspace", ws], check=True, capture_output=True, text=True)
    subprocess.run([LUMEN, "models", "alias", "bench", "champion", "--version", "1", "--workspace", ws], check=True, capture_output=True)
    shown = subprocess.run([LUMEN, "models", "show", "bench/1", "--workspace", ws], check=True, capture_output=True, text=True).stdout
    spec = json.loads(re.search(r"^\s*spec (\{.*\})\s*$", shown, re.M).group(1))
    artifacts = ".lumen/artifacts"
    for line in open(os.path.join(ws, ".lumen", "config.yaml")):
        if line.startswith("artifacts:"):
            artifacts = line.split(":", 1)[1].split("#")[0].strip()
    digest = spec["checkpoint"]["sha256"]
    weights = os.path.join(ws, artifacts, "sha256", digest[:2], digest[2:])
    assert hashlib.sha256(open(weights, "rb").read()).hexdigest() == digest, f"{weights} does not hash to {digest}"
    spec_path = os.path.join(root, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    classes = spec["classes"]

    # 2. The images to predict: M distinct grey 224×224 PNGs, half with a disc.
    folder = os.path.join(root, "predict")
    os.makedirs(folder)
    rng = np.random.default_rng(2)
    for i in range(IMAGES):
        grey_image(rng, i, i % 2 == 1).save(os.path.join(folder, f"img_{i:05d}.png"))
    png_kb = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)) / IMAGES / 1024

    def lumen_cmd(source, out):
        return ([LUMEN, "predict", "bench@champion", source, "--out", out, "--no-log", "--batch-size", str(BATCH)]
                + (["--threads", THREADS] if THREADS else []) + ["--workspace", ws])

    def torch_cmd(source, out):
        return [PYTHON, TORCH_SCRIPT, spec_path, weights, source, out, str(BATCH), str(WORKERS)]

    def run(tool, source, tag):
        out = os.path.join(root, f"{tool}-{tag}.csv")
        if os.path.exists(out):
            os.remove(out)
        cmd = lumen_cmd(source, out) if tool == "lumen" else torch_cmd(source, out)
        wall, tree_rss, processes, maxrss, stdout, stderr = timed(cmd, os.path.join(root, f"{tool}-{tag}"))
        r = {"tool": tool, "wall_s": wall, "peak_rss_kb": tree_rss, "processes": processes, "maxrss_kb": maxrss, "csv": out}
        if tool == "lumen":
            m = re.search(r"(\d+) images predicted into .* in ([0-9.]+) s \(([0-9.]+) img/s\)", stdout)
            if not m:
                raise RuntimeError(f"lumen predict printed no summary:\n{stdout[-2000:]}\n{stderr[-2000:]}")
            r.update(images=int(m.group(1)), internal_s=float(m.group(2)), summary=m.group(0))
            if "could not be read" in stdout:
                print(f"batch bench: WARNING: lumen: {stdout.strip().splitlines()[-1]}", file=sys.stderr)
        else:
            inner = json.loads(stdout.strip().splitlines()[-1])
            r.update(images=inner["images"], startup_s=inner["startup_s"], run_s=inner["run_s"], threads=inner["threads"])
        return r

    # 3. Warm-up (page cache, shared libraries), unmeasured: each tool once on the training images; they must agree.
    print("batch bench: warm-up…", file=sys.stderr)
    warm = {tool: run(tool, train, "warmup") for tool in ("lumen", "torch")}
    warm_check = compare(warm["lumen"]["csv"], warm["torch"]["csv"], classes)

    # 4. The rounds, which goes first alternating.
    runs = {"lumen": [], "torch": []}
    checks = []
    for r in range(ROUNDS):
        for tool in (("lumen", "torch") if r % 2 == 0 else ("torch", "lumen")):
            x = run(tool, folder, f"round{r + 1}")
            x.update(round=r + 1, first=(tool == ("lumen", "torch")[r % 2]))
            runs[tool].append(x)
            extra = f", {x['images'] / x['run_s']:.1f} img/s without startup" if tool == "torch" else ""
            print(f"batch bench: round {r + 1} {tool}: {x['images']} images in {x['wall_s']:.2f} s ({x['images'] / x['wall_s']:.1f} img/s{extra})",
                  file=sys.stderr)
        checks.append(compare(runs["lumen"][-1]["csv"], runs["torch"][-1]["csv"], classes))
finally:
    if os.environ.get("BATCH_BENCH_KEEP") == "1":
        print(f"batch bench: kept {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)

torch_version = subprocess.run([PYTHON, "-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"],
                               capture_output=True, text=True).stdout.split()

# 5. The table.
L, P = runs["lumen"], runs["torch"]
lumen_s = median([x["wall_s"] for x in L])
torch_s = median([x["wall_s"] for x in P])
torch_run_s = median([x["run_s"] for x in P])
torch_startup_s = median([x["startup_s"] for x in P])
lumen_ips, torch_ips, torch_run_ips = IMAGES / lumen_s, IMAGES / torch_s, IMAGES / torch_run_s
ratio_e2e, ratio_run = lumen_ips / torch_ips, lumen_ips / torch_run_ips
agree_rows = all(c[0] for c in checks) and warm_check[0]
max_dp = max([c[1] for c in checks] + [warm_check[1]])
label_diffs = max(c[2] for c in checks)
lumen_errors = max(c[3] for c in checks)
lumen_rss = median([x["peak_rss_kb"] for x in L]) / 1024
torch_rss = median([x["peak_rss_kb"] for x in P]) / 1024
lumen_maxrss = median([x["maxrss_kb"] for x in L]) / 1024
torch_maxrss = median([x["maxrss_kb"] for x in P]) / 1024
build = "DEBUG build, not representative" if "/debug/" in LUMEN else "release build"


def verdict(ok):
    return "met" if ok else "NOT met"


print(f"\nbatch inference: ResNet-18 ({spec['inputChannels']}×{spec['inputHeight']}×{spec['inputWidth']}, {len(classes)} classes), "
      f"{IMAGES} grey PNGs ({png_kb:.0f} kB each) → CSV, batch {BATCH}, {os.cpu_count()} cores, {ROUNDS} rounds (first alternating), medians")
print(f"  lumen: {LUMEN} ({build}): predict bench@champion FOLDER --out … --no-log --batch-size {BATCH}"
      f"{' --threads ' + THREADS if THREADS else ' (preprocessing threads: every core)'}")
print(f"  torch: PyTorch {torch_version[0] if torch_version else '?'} / torchvision {torch_version[1] if len(torch_version) > 1 else '?'}, "
      f"Dataset + DataLoader(batch_size={BATCH}, num_workers={WORKERS}), set_num_threads({P[0]['threads']}), eval + inference_mode "
      f"(startup: imports + model load, median {torch_startup_s:.2f} s)")
print(f"{'images':>7}{'lumen s':>9}{'img/s':>8}{'torch s e2e':>13}{'img/s':>8}{'torch s -startup':>18}{'img/s':>8}"
      f"{'ratio e2e':>11}{'ratio -startup':>16}{'target':>8}{'max |Δp|':>11}")
print(f"{IMAGES:>7}{lumen_s:>9.2f}{lumen_ips:>8.1f}{torch_s:>13.2f}{torch_ips:>8.1f}{torch_run_s:>18.2f}{torch_run_ips:>8.1f}"
      f"{ratio_e2e:>10.2f}x{ratio_run:>15.2f}x{TARGET:>7.1f}x{max_dp:>11.1e}")
print(f"  ratio: lumen img/s / torch img/s; e2e: both timed from process start to exit; -startup: torch's time without its imports "
      f"and model load (lumen's still included)")
print(f"  target >= {TARGET}x: e2e {verdict(ratio_e2e >= TARGET)}, without torch's startup {verdict(ratio_run >= TARGET)}")
print(f"  lumen's own summary (last round): {L[-1]['summary']}")
print(f"  peak RSS MB: lumen {lumen_rss:.0f} (ru_maxrss {lumen_maxrss:.0f}), torch {torch_rss:.0f} (main + {P[0]['processes'] - 1} "
      f"DataLoader workers summed from /proc; main's ru_maxrss {torch_maxrss:.0f})")
agreement = (f"same {checks[-1][4]} rows, max |Δp| {max_dp:.1e} (within {TOLERANCE:g}), {label_diffs} labels differ"
             if agree_rows and max_dp <= TOLERANCE and not lumen_errors else
             f"DISAGREE: same rows {agree_rows} (lumen {checks[-1][4]}, torch {checks[-1][5]}), max |Δp| {max_dp:.1e} "
             f"(tolerance {TOLERANCE:g}), {label_diffs} labels differ, {lumen_errors} lumen rows with an error")
print(f"  agreement: {agreement}")
if not (agree_rows and max_dp <= TOLERANCE and not lumen_errors):
    print(f"batch bench: WARNING: the two tools disagree: {agreement}", file=sys.stderr)
for r in range(ROUNDS):
    a, b = L[r], P[r]
    print(f"  round {r + 1} ({'lumen' if a['first'] else 'torch'} first): lumen {a['wall_s']:.2f} s, torch {b['wall_s']:.2f} s "
          f"({b['run_s']:.2f} s without startup), ratio e2e {b['wall_s'] / a['wall_s']:.2f}x")

os.makedirs("bench-results", exist_ok=True)
with open(os.path.join("bench-results", "batch.jsonl"), "a") as f:
    f.write(json.dumps({"bench": "batch", "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "lumen_binary": LUMEN, "build": build,
                        "images": IMAGES, "batch_size": BATCH, "workers": WORKERS, "rounds": ROUNDS, "cores": os.cpu_count(),
                        "lumen_threads": THREADS, "torch": torch_version, "lumen_s": lumen_s, "lumen_img_s": lumen_ips,
                        "torch_s": torch_s, "torch_img_s": torch_ips, "torch_run_s": torch_run_s, "torch_run_img_s": torch_run_ips,
                        "torch_startup_s": torch_startup_s, "ratio_e2e": ratio_e2e, "ratio_without_torch_startup": ratio_run,
                        "target": TARGET, "met_e2e": ratio_e2e >= TARGET, "met_without_torch_startup": ratio_run >= TARGET,
                        "max_abs_dp": max_dp, "same_rows": agree_rows, "label_diffs": label_diffs, "lumen_errors": lumen_errors,
                        "peak_rss_kb": {"lumen": lumen_rss * 1024, "torch": torch_rss * 1024},
                        "maxrss_kb": {"lumen": lumen_maxrss * 1024, "torch": torch_maxrss * 1024},
                        "runs": {k: [{kk: vv for kk, vv in x.items() if kk != "csv"} for x in v] for k, v in runs.items()}}) + "\n")

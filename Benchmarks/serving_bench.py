"""make bench (serving): the same ResNet-18 served by `lumen serve` and by a FastAPI + uvicorn (2 workers) + PyTorch
app (Benchmarks/serving_fastapi.py), PNG upload, driven by the same wrk script (Benchmarks/serving_upload.lua) at
each concurrency, one server at a time, in the same run.

Trains and registers a ResNet-18 on 32 grey 224×224 PNGs (24 in the training split: registration makes the monitoring
reference profile from them, which needs at least 10, and 21 for all 20 PCA components of the embeddings) in a
temporary workspace, serves that version from both,
checks that they answer the same probabilities, warms each up, then runs wrk at every concurrency (the two servers
alternate, the first of each pair alternating too). Prints per concurrency throughput (2xx answers per second),
p50/p90/p99 latency, non-2xx answers and socket errors, the ratios Lumen/FastAPI against the targets; each server's
peak RSS (Lumen: its process; FastAPI: uvicorn's master and workers summed, from /proc while it runs) and the time
from process start to the first 200 of its readiness route.
Then (SERVE_BENCH_MONITORING=1, the default) monitoring on against off, the issue's "monitoring never slows serving:
p99 with monitoring on within 10 % of off": the same `lumen serve` (defaults: every prediction logged with its monitoring
features and its embedding on the reference profile's PCA) against `lumen serve --no-prediction-log` (no log, no
embeddings), one fresh server per run, at one concurrency, ROUNDS rounds, which goes first alternating. Prints the
medians of throughput, p50 and p99, the ratio p99 on/off against <= 1.10, and how many predictions and embeddings the
"on" servers logged (`lumen monitor report bench@champion --window 24h --json`, before and after each run): unless
every answer of an "on" server was logged with its embedding (and an "off" one logged none), the comparison is
reported as meaningless. Appends one JSON line to bench-results/serving-monitoring.jsonl.
Usage: python serving_bench.py LUMEN_BIN PYTHON   (PYTHON: a venv with torch, torchvision, fastapi, uvicorn,
python-multipart, pillow, safetensors)
Environment: SERVE_BENCH_SECONDS (20 per run), SERVE_BENCH_WARMUP (5), SERVE_BENCH_CONCURRENCY (1,16,64),
SERVE_BENCH_LOAD_ROUNDS (ROUNDS: rounds over the concurrencies, first server alternating, medians reported),
SERVE_BENCH_KEEP=1 keeps the temporary folder (workspace, server logs); SERVE_BENCH_MONITORING (1; 0 skips the
monitoring on/off phase), SERVE_BENCH_MONITORING_CONCURRENCY (16), SERVE_BENCH_ROUNDS or ROUNDS (3 rounds of on and off).
"""
import hashlib, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

import numpy as np
from PIL import Image

LUMEN, PYTHON = (os.path.abspath(a) if os.sep in a else a for a in sys.argv[1:3])
SECONDS = int(os.environ.get("SERVE_BENCH_SECONDS", "20"))
WARMUP = int(os.environ.get("SERVE_BENCH_WARMUP", str(min(5, SECONDS))))
CONCURRENCY = [int(c) for c in os.environ.get("SERVE_BENCH_CONCURRENCY", "1,16,64").split(",")]
HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "serving_upload.lua")
# Targets (the issue): throughput ratio per concurrency, p99 ratio at c=16, RSS ratio.
THROUGHPUT_TARGET = {1: 1.5, 16: 3.0, 64: 5.0}
P99_TARGET = {16: 1 / 3}
RSS_TARGET = 0.2
MONITORING = os.environ.get("SERVE_BENCH_MONITORING", "1") not in ("0", "", "false", "no")
MONITORING_CONCURRENCY = int(os.environ.get("SERVE_BENCH_MONITORING_CONCURRENCY", "16"))
ROUNDS = int(os.environ.get("SERVE_BENCH_ROUNDS", os.environ.get("ROUNDS", "3")))
LOAD_ROUNDS = int(os.environ.get("SERVE_BENCH_LOAD_ROUNDS", str(ROUNDS)))
MONITORING_P99_TARGET = 1.10  # p99 with monitoring on / off

if not shutil.which("wrk"):
    sys.exit("serving bench: wrk is not installed (apt-get install wrk)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def field_kb(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """A server process started in its own session; RSS (and PSS) of its whole tree sampled from /proc while it starts
    and while it is measured (`measuring()`), never while the other server is: reading /proc/PID/smaps_rollup walks a
    process's page tables (~10 ms for Lumen, more for FastAPI's four processes), CPU the measured server would lose."""

    def __init__(self, name, cmd, url, ready_path, log, env=None):
        self.name, self.url, self.peak_rss, self.peak_pss, self.processes = name, url, 0, 0, 0
        self.log = log
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.stop_sampling = False
        self.active = threading.Event()
        self.active.set()
        threading.Thread(target=self.sample, daemon=True).start()
        deadline = started + 600
        while True:
            try:
                with urllib.request.urlopen(url + ready_path, timeout=2) as r:
                    if r.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"{name} did not become ready; its log:\n{open(log).read()[-3000:]}")
            time.sleep(0.02)
        self.ready_s = time.perf_counter() - started
        self.active.clear()

    def measuring(self):
        """A context in which this server's memory is sampled (its own wrk runs)."""
        server = self

        class Sampling:
            def __enter__(self):
                server.active.set()

            def __exit__(self, *exc):
                server.active.clear()
        return Sampling()

    def sample(self):
        # VmRSS (a counter, cheap) every 0.2 s; PSS (a page-table walk) every 1 s.
        n = 0
        while not self.stop_sampling:
            if not self.active.wait(timeout=0.5):
                n = 0  # the next measured run starts with a PSS sample
                continue
            pids = tree(self.proc.pid)
            self.processes = max(self.processes, len(pids))
            self.peak_rss = max(self.peak_rss, sum(field_kb(f"/proc/{p}/status", "VmRSS:") for p in pids))
            if n % 5 == 0:
                self.peak_pss = max(self.peak_pss, sum(field_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))
            n += 1
            time.sleep(0.2)

    def close(self):
        self.stop_sampling = True
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def settle(server, limit=120):
    """Waits until the server's processes are idle (under 5% of a core for half a second): requests still queued
    when wrk stopped would otherwise run into the next measurement."""
    hz, deadline = os.sysconf("SC_CLK_TCK"), time.time() + limit
    before = cpu_ticks(tree(server.proc.pid))
    while time.time() < deadline:
        time.sleep(0.5)
        now = cpu_ticks(tree(server.proc.pid))
        if (now - before) / hz < 0.025:
            return
        before = now


def batch_stats(server):
    """Lumen's batches so far (count, images), from /metrics."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    values = {k: float(v) for k, v in re.findall(r"^lumen_batch_size_(sum|count)\{[^}]*\}\s+(\S+)", text, re.M)}
    return values.get("count", 0.0), values.get("sum", 0.0)


def upload(url, png_path):
    """One multipart POST from Python: the answer's JSON."""
    boundary = "lumen-serving-bench-check"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{os.path.basename(png_path)}"\r\n'
            f"Content-Type: image/png\r\n\r\n").encode() + open(png_path, "rb").read() + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def wrk(server, path, png, connections, seconds):
    with server.measuring():
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "120s", "-s", LUA, server.url, "--", path, png],
                             capture_output=True, text=True, check=True).stdout
    m = re.search(r"^SERVE_BENCH_JSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    r = json.loads(m.group(1))
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    r["ok_per_s"] = (r["requests"] - r["non2xx"]) / (r["duration_us"] / 1e6)
    return r


def logged(ws):
    """(predictions, embeddings) of bench@champion logged in the store in the last 24 h, from `lumen monitor --json`:
    the largest per-feature count of the window, and the embedding drift's count of logged embeddings."""
    r = subprocess.run([LUMEN, "monitor", "report", "bench@champion", "--window", "24h", "--json", "--workspace", ws],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if "no predictions" in r.stdout + r.stderr or "no reference profile" in r.stdout + r.stderr:
            return 0, 0  # nothing logged yet, or nothing to count with (the report then says the comparison is meaningless)
        raise RuntimeError(f"lumen monitor failed ({r.returncode}): {(r.stdout + r.stderr)[-2000:]}")
    out = json.loads(r.stdout)
    return max((f["currentCount"] for f in out["features"]), default=0), (out.get("embeddings") or {}).get("currentCount", 0)


def median(values):
    v = sorted(values)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2 if v else float("nan")


root = tempfile.mkdtemp(prefix="lumen-serving-bench-")
servers, monitoring_servers, monitoring = [], [], None
try:
    # 1. The model: a ResNet-18 trained one short epoch on 24 of 32 grey 224×224 PNGs, registered (with its monitoring
    #    reference profile: at least 10 training images, 21 for all 20 PCA components), aliased champion.
    folder = os.path.join(root, "images")
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:224, 0:224]
    for i in range(32):
        label = f"class{i % 2}"
        os.makedirs(os.path.join(folder, label), exist_ok=True)
        img = 60 + 80 * np.exp(-((xx - 112) ** 2 + (yy - 112) ** 2) / (2 * 70.0 ** 2)) + rng.normal(0, 12, (224, 224))
        if label == "class1":
            img += 50 * (((xx - 80 - 4 * i) ** 2 + (yy - 140) ** 2) < 20 ** 2)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(folder, label, f"{i:03d}.png"))
    png = os.path.join(folder, "class1", "001.png")
    png_bytes = os.path.getsize(png)
    ws = os.path.join(root, "ws")
    subprocess.run([LUMEN, "init", ws], check=True, capture_output=True)
    subprocess.run([LUMEN, "data", "import", folder, "--name", "bench", "--split", "0.75,0.25", "--workspace", ws], check=True, capture_output=True)
    config = os.path.join(root, "serve.yaml")
    with open(config, "w") as f:
        f.write("data:\n  dataset: bench\n  image_size: 224\n  positive_class: class1\nmodel:\n  name: resnet18\ntrainer:\n  batch_size: 8\n  epochs: 1\n")
    trained = subprocess.run([LUMEN, "train", config, "--register", "bench", "--workspace", ws], check=True, capture_output=True, text=True)
    reference = re.search(r"^monitoring reference: .*$", trained.stdout, re.M)
    reference = reference.group(0) if reference else "none: " + (re.findall(r"^warning: no monitoring reference.*$", trained.stderr, re.M) or ["?"])[-1]
    if not reference.startswith("monitoring reference"):
        print(f"serving bench: WARNING: registration made no monitoring reference profile ({reference}): `lumen serve` logs no embeddings",
              file=sys.stderr)
    subprocess.run([LUMEN, "models", "alias", "bench", "champion", "--version", "1", "--workspace", ws], check=True, capture_output=True)
    shown = subprocess.run([LUMEN, "models", "show", "bench/1", "--workspace", ws], check=True, capture_output=True, text=True).stdout
    spec = json.loads(re.search(r"^\s*spec (\{.*\})\s*$", shown, re.M).group(1))
    # The checkpoint the spec names, in the content-addressed store: ARTIFACTS/sha256/XX/REST.
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

    # 2. The servers, started one after the other (start-to-ready is timed with nothing else starting).
    port = free_port()
    lumen = Server("lumen", [LUMEN, "serve", "--port", str(port), "--model", "bench@champion", "--workspace", ws],
                   f"http://127.0.0.1:{port}", "/v2/health/ready", os.path.join(root, "lumen.log"))
    servers.append(lumen)
    port = free_port()
    env = dict(os.environ, SERVING_SPEC=spec_path, SERVING_WEIGHTS=weights)
    fastapi = Server("fastapi", [PYTHON, "-m", "uvicorn", "serving_fastapi:app", "--app-dir", HERE, "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "2", "--log-level", "warning"],
                     f"http://127.0.0.1:{port}", "/health", os.path.join(root, "fastapi.log"), env=env)
    servers.append(fastapi)
    paths = {"lumen": "/api/predict/bench", "fastapi": "/predict"}

    # 3. Same model, same answer: the probabilities of one upload from both.
    a = upload(lumen.url + paths["lumen"], png)["predictions"][0]["probabilities"]
    b = upload(fastapi.url + paths["fastapi"], png)["probabilities"]
    agreement = max(abs(a[k] - b[k]) for k in spec["classes"])
    if agreement > 1e-3:
        print(f"serving bench: WARNING: the servers disagree on {os.path.basename(png)}: lumen {a}, fastapi {b}", file=sys.stderr)

    # 4. Warm-up, then every concurrency, the two servers alternating.
    for s in servers:
        wrk(s, paths[s.name], png, 16, WARMUP)
    # LOAD_ROUNDS rounds over every concurrency, which server goes first alternating; each figure is the median of
    # its rounds (this machine is noisy: one 20 s run can be a third slower than the next).
    rounds = {"lumen": {c: [] for c in CONCURRENCY}, "fastapi": {c: [] for c in CONCURRENCY}}
    for r in range(LOAD_ROUNDS):
        for i, c in enumerate(CONCURRENCY):
            for s in (servers if (i + r) % 2 == 0 else servers[::-1]):
                for other in servers:
                    settle(other)
                before = batch_stats(s) if s is lumen else None
                run = wrk(s, paths[s.name], png, c, SECONDS)
                if before:
                    count, images = (a - b for a, b in zip(batch_stats(s), before))
                    run["mean_batch"] = images / count if count else None
                rounds[s.name][c].append(run)
                print(f"serving bench: round {r + 1} {s.name} c={c}: {run['ok_per_s']:.1f} req/s, p99 {run['p99_us'] / 1e3:.0f} ms", file=sys.stderr)
    results = {name: {c: {k: (median([run[k] for run in runs]) if k in ("ok_per_s", "p50_us", "p90_us", "p99_us", "mean_us") else
                              max((run[k] or 0) for run in runs) if k in ("non2xx", "errors") else
                              median([run[k] for run in runs if run.get(k) is not None]) if k == "mean_batch" else
                              sum(run[k] for run in runs) if k == "requests" else runs[-1][k])
                          for k in runs[-1]}
                      for c, runs in by_c.items()}
               for name, by_c in rounds.items()}
    lumen_loaded = re.search(r"loaded bench .* in ([0-9.]+) s", open(lumen.log).read())

    # 5. Monitoring on against off: a fresh `lumen serve` per run (defaults, or --no-prediction-log), warmed up, then
    #    wrk at one concurrency; the store's counts before and after each run (the server closed: SIGTERM writes every
    #    pending log) tell how many predictions and embeddings that server logged.
    if MONITORING:
        for s in servers:  # nothing else runs during this phase
            s.close()
        c = MONITORING_CONCURRENCY
        runs = {"on": [], "off": []}
        after = logged(ws)
        for r in range(ROUNDS):
            for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
                before = after
                port = free_port()
                cmd = [LUMEN, "serve", "--port", str(port), "--model", "bench@champion", "--workspace", ws]
                s = Server(f"lumen-{mode}", cmd + (["--no-prediction-log"] if mode == "off" else []), f"http://127.0.0.1:{port}",
                           "/v2/health/ready", os.path.join(root, f"lumen-monitoring-{mode}-{r + 1}.log"))
                monitoring_servers.append(s)
                try:
                    warm = wrk(s, paths["lumen"], png, c, WARMUP) if WARMUP > 0 else {"requests": 0, "non2xx": 0}
                    settle(s)
                    run = wrk(s, paths["lumen"], png, c, SECONDS)
                finally:
                    s.close()
                after = logged(ws)
                run.update(round=r + 1, first=(mode == ("on", "off")[r % 2]), ready_s=s.ready_s, peak_rss_kb=s.peak_rss,
                           answered=(warm["requests"] - warm["non2xx"]) + (run["requests"] - run["non2xx"]),
                           logged=after[0] - before[0], embeddings=after[1] - before[1])
                # wrk counts the answers it read; requests still in flight when it stopped (up to c per wrk run) are
                # answered and logged by the server all the same.
                run["verified"] = (run["embeddings"] == run["logged"] and run["answered"] <= run["logged"] <= run["answered"] + 2 * c
                                   if mode == "on" else run["logged"] == 0 and run["embeddings"] == 0)
                runs[mode].append(run)
                print(f"serving bench: monitoring {mode} round {r + 1} c={c}: {run['ok_per_s']:.1f} req/s, p99 {run['p99_us'] / 1e3:.1f} ms, "
                      f"{run['logged']} logged / {run['embeddings']} embeddings of {run['answered']} answered", file=sys.stderr)
        summary = {mode: {"ok_per_s": median([x["ok_per_s"] for x in rs]), "p50_us": median([x["p50_us"] for x in rs]),
                          "p90_us": median([x["p90_us"] for x in rs]), "p99_us": median([x["p99_us"] for x in rs]),
                          "non2xx": sum(x["non2xx"] for x in rs), "errors": sum(x["errors"] for x in rs),
                          "requests": sum(x["requests"] for x in rs), "answered": sum(x["answered"] for x in rs),
                          "logged": sum(x["logged"] for x in rs), "embeddings": sum(x["embeddings"] for x in rs)}
                   for mode, rs in runs.items()}
        on, off = summary["on"], summary["off"]
        # Meaningful only if every answer of an "on" server was logged with its embedding and "off" logged nothing.
        verified = on["answered"] > 0 and all(x["verified"] for rs in runs.values() for x in rs)
        p99_ratio = on["p99_us"] / off["p99_us"] if off["p99_us"] else float("inf")
        monitoring = {"bench": "serving-monitoring", "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "lumen_binary": LUMEN,
                      "concurrency": c, "rounds": ROUNDS, "seconds": SECONDS, "warmup": WARMUP, "cores": os.cpu_count(),
                      "on": on, "off": off, "p99_ratio": p99_ratio,
                      "throughput_ratio": on["ok_per_s"] / off["ok_per_s"] if off["ok_per_s"] else float("inf"),
                      "p50_ratio": on["p50_us"] / off["p50_us"] if off["p50_us"] else float("inf"),
                      "target_p99_ratio": MONITORING_P99_TARGET, "met": verified and p99_ratio <= MONITORING_P99_TARGET,
                      "logging_verified": verified, "reference": reference, "runs": runs}
finally:
    for s in servers + monitoring_servers:
        s.close()
    logs = {s.name: open(s.log).read() for s in servers}
    if os.environ.get("SERVE_BENCH_KEEP") == "1":
        print(f"serving bench: kept {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)

import torch, torchvision, fastapi as fastapi_module  # noqa: E402  (versions for the header; the venv is the one given)

build = "DEBUG build, not representative" if "/debug/" in LUMEN else "release build"
print(f"\nserving: ResNet-18 ({spec['inputChannels']}×{spec['inputHeight']}×{spec['inputWidth']}, {len(spec['classes'])} classes), "
      f"one {png_bytes / 1024:.0f} kB PNG per request (multipart), wrk {SECONDS} s per run after {WARMUP} s warm-up, {os.cpu_count()} cores, "
      f"medians of {LOAD_ROUNDS} round(s)")
print(f"  lumen: {LUMEN} ({build}), defaults (batch window 5 ms, max batch 8 on CPU, prediction log on)")
print(f"  fastapi: FastAPI {fastapi_module.__version__} + uvicorn --workers 2 + PyTorch {torch.__version__} / torchvision {torchvision.__version__}, "
      f"torch threads {os.environ.get('SERVING_TORCH_THREADS', 'default')}")
print(f"  same answer: max |Δp| {agreement:.1e} on one upload")
print(f"{'conc':>5}  {'server':<8}{'req/s':>9}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'errors':>8}{'requests':>10}{'batch':>7}")
for c in CONCURRENCY:
    for name in ("lumen", "fastapi"):
        r = results[name][c]
        batch = f"{r['mean_batch']:.1f}" if r.get("mean_batch") else "-"
        print(f"{c:>5}  {name:<8}{r['ok_per_s']:>9.1f}{r['p50_us'] / 1e3:>10.1f}{r['p90_us'] / 1e3:>10.1f}{r['p99_us'] / 1e3:>10.1f}"
              f"{r['non2xx']:>9}{r['errors']:>8}{r['requests']:>10}{batch:>7}")
print("  req/s: 2xx answers per second; errors: wrk's connect/read/write/timeout errors (most of any round); requests: all rounds; "
      "batch: Lumen's mean images per network batch")
for c in CONCURRENCY:
    print(f"  c={c} rounds req/s: lumen " + ", ".join(f"{run['ok_per_s']:.1f}" for run in rounds["lumen"][c])
          + "; fastapi " + ", ".join(f"{run['ok_per_s']:.1f}" for run in rounds["fastapi"][c]))


def verdict(ok):
    return "met" if ok else "NOT met"


print(f"\n{'lumen / fastapi':<18}{'throughput':>11}{'p50':>8}{'p99':>8}   target")
for c in CONCURRENCY:
    l, f = results["lumen"][c], results["fastapi"][c]
    tp = l["ok_per_s"] / f["ok_per_s"] if f["ok_per_s"] else float("inf")
    if not (l["requests"] and f["requests"]):
        print(f"{'c=' + str(c):<18}{'no answers in ' + str(SECONDS) + ' s from ' + ('lumen' if not l['requests'] else 'fastapi'):>40}")
        continue
    p50, p99 = l["p50_us"] / f["p50_us"], l["p99_us"] / f["p99_us"]
    targets = []
    if c in THROUGHPUT_TARGET:
        targets.append(f"throughput >= {THROUGHPUT_TARGET[c]:g}x {verdict(tp >= THROUGHPUT_TARGET[c])}")
    if c in P99_TARGET:
        targets.append(f"p99 <= {P99_TARGET[c]:.2f}x {verdict(p99 <= P99_TARGET[c])}")
    if l["non2xx"] or l["errors"]:
        targets.append(f"lumen: {l['non2xx']} non-2xx, {l['errors']} errors")
    print(f"{'c=' + str(c):<18}{tp:>10.2f}x{p50:>7.2f}x{p99:>7.2f}x   {'; '.join(targets) or '-'}")
rss = lumen.peak_rss / fastapi.peak_rss
print(f"{'peak RSS MB':<18}{'lumen':>8} {lumen.peak_rss / 1024:.0f}   fastapi {fastapi.peak_rss / 1024:.0f} (uvicorn master, workers, resource tracker: {fastapi.processes} processes summed; "
      f"PSS {fastapi.peak_pss / 1024:.0f})   {rss:.2f}x   <= {RSS_TARGET}x {verdict(rss <= RSS_TARGET)}")
print(f"{'start to ready s':<18}{'lumen':>8} {lumen.ready_s:.2f}" + (f" (model loaded in {lumen_loaded.group(1)} s)" if lumen_loaded else "")
      + f"   fastapi {fastapi.ready_s:.2f}   {lumen.ready_s / fastapi.ready_s:.2f}x   (no target)")
errors = [line for line in logs["lumen"].splitlines() if re.search(r"error|warning|critical|fatal", line, re.I)]
if errors:
    print(f"lumen's log: {len(errors)} error/warning lines, the last: {errors[-1][:300]}")

os.makedirs("bench-results", exist_ok=True)
with open("bench-results/serving.json", "w") as f:
    json.dump({"seconds": SECONDS, "warmup": WARMUP, "lumen_binary": LUMEN, "png_bytes": png_bytes,
               "agreement": agreement, "results": results, "rounds": rounds,
               "peak_rss_kb": {"lumen": lumen.peak_rss, "fastapi": fastapi.peak_rss},
               "peak_pss_kb": {"lumen": lumen.peak_pss, "fastapi": fastapi.peak_pss},
               "ready_s": {"lumen": lumen.ready_s, "fastapi": fastapi.ready_s}, "monitoring": monitoring}, f, indent=1)

if monitoring:
    m, c = monitoring, monitoring["concurrency"]
    print(f"\nmonitoring on vs off: lumen serve (defaults: prediction log, monitoring features, PCA embeddings) against "
          f"--no-prediction-log, c={c}, {m['rounds']} rounds of {SECONDS} s after {WARMUP} s warm-up, one fresh server per run, "
          f"first alternating; medians")
    print(f"{'monitoring':<12}{'req/s':>9}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'errors':>8}{'answered':>10}{'logged':>8}{'embeddings':>12}")
    for mode in ("on", "off"):
        x = m[mode]
        print(f"{mode:<12}{x['ok_per_s']:>9.1f}{x['p50_us'] / 1e3:>10.1f}{x['p90_us'] / 1e3:>10.1f}{x['p99_us'] / 1e3:>10.1f}"
              f"{x['non2xx']:>9}{x['errors']:>8}{x['answered']:>10}{x['logged']:>8}{x['embeddings']:>12}")
    for r in range(m["rounds"]):
        a, b = m["runs"]["on"][r], m["runs"]["off"][r]
        print(f"  round {r + 1} ({'on' if a['first'] else 'off'} first): p99 on/off {a['p99_us'] / b['p99_us']:.2f}x, "
              f"req/s on/off {a['ok_per_s'] / b['ok_per_s']:.2f}x")
    print("  answered: 2xx answers of warm-up and run; logged / embeddings: predictions and embeddings those servers wrote to "
          "the store (lumen monitor report --json, before and after each run)")
    if m["logging_verified"]:
        check = (f"verified: every answer of the \"on\" servers logged with its embedding ({m['on']['logged']} logged for "
                 f"{m['on']['answered']} answers read by wrk; the rest were in flight when wrk stopped), none by \"off\"")
    else:
        check = (f"NOT VERIFIED: the \"on\" servers logged {m['on']['logged']} predictions and {m['on']['embeddings']} embeddings "
                 f"for {m['on']['answered']} answers, \"off\" {m['off']['logged']}: the comparison is meaningless (per run logged/embeddings/answered: "
                 + ", ".join(f"{mode} {x['round']}: {x['logged']}/{x['embeddings']}/{x['answered']}" for mode in ("on", "off") for x in m["runs"][mode]) + ")"
                 + ("" if m["reference"].startswith("monitoring reference") else f"; registration made no reference profile ({m['reference']})"))
    print(f"{'on / off':<12}throughput {m['throughput_ratio']:.2f}x   p50 {m['p50_ratio']:.2f}x   p99 {m['p99_ratio']:.2f}x   "
          f"target p99 <= {MONITORING_P99_TARGET:.2f}x {verdict(m['met']) if m['logging_verified'] else 'not judged'}")
    print(f"  logging: {check}")
    if m["on"]["non2xx"] or m["on"]["errors"] or m["off"]["non2xx"] or m["off"]["errors"]:
        print(f"  non-2xx / errors: on {m['on']['non2xx']} / {m['on']['errors']}, off {m['off']['non2xx']} / {m['off']['errors']}")
    with open(os.path.join("bench-results", "serving-monitoring.jsonl"), "a") as f:
        f.write(json.dumps(m) + "\n")

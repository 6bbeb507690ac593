"""make bench (UI): Lumen's runs page against MLflow's own UI over the same runs, in the same run (issue 17).

Target: with 10,000 runs x 20 metrics in the store, the runs page answers in < 200 ms server time and is usable in
< 1 s in the test browser (headless Chromium).

Both servers start on SQLite in temp folders; the same N runs (M metrics of one value each, 3 params, finished) are
logged to both through the MLflow REST API (runs/create, runs/log-batch, runs/update; 8 client threads).
Server time: median of 10 timed GETs of Lumen's /ui/experiments/{id} (default page, sorted by a metric, filtered)
against the same searches through MLflow's POST /api/2.0/mlflow/runs/search with max_results 100 (its UI's page)
and order attributes.start_time DESC (its UI's default), which is the server work behind MLflow's runs table.
Browser: headless Chromium (Debian's chromium + chromedriver), a fresh navigation from about:blank each time, the
browser cache cleared before each "cold" load and kept for the "warm" load after it; 3 rounds, median. "Usable" is
the later of DOMContentLoaded and the first visible run row, from navigation start (performance.now() in the page,
recorded by a MutationObserver injected before any page script): `table#runs tbody tr` for Lumen; for MLflow a row
of its ag-grid runs table (`[role=row] a[href*="/runs/"]` reading a logged run name) at /#/experiments/{id}.
MLflow 3.x opens an experiment on its GenAI overview unless asked for the model-training view, so its URL carries
?workflowType=machine_learning (its own redirect to the runs tab is part of the time).

Usage: python ui_bench.py LUMEN_BIN MLFLOW_BIN   (env UI_BENCH_RUNS=10000, UI_BENCH_METRICS=20, UI_BENCH_CLIENTS=8)
Prints a table and appends a JSON line to bench-results/ui.jsonl.
"""
import json, os, random, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

if len(sys.argv) != 3:
    sys.exit(__doc__)
LUMEN, MLFLOW = sys.argv[1], sys.argv[2]
RUNS = int(os.environ.get("UI_BENCH_RUNS", 10_000))
METRICS = int(os.environ.get("UI_BENCH_METRICS", 20))
CLIENTS = int(os.environ.get("UI_BENCH_CLIENTS", 8))
SERVER_REPEATS, BROWSER_ROUNDS = 10, 3
SERVER_TARGET_MS, BROWSER_TARGET_S = 200, 1.0
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, in ms
LRS = ["0.1", "0.03", "0.01", "0.003", "0.001"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, cmd, url, log):
        self.name, self.url = name, url
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(1200):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}; see {log.name}")
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start")

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


local = threading.local()


def post(url, path, body):
    if not hasattr(local, "s"):
        local.s = requests.Session()
    r = local.s.post(f"{url}/api/2.0/mlflow/{path}", json=body, timeout=120)
    assert r.status_code == 200, (url, path, r.status_code, r.text[:500])
    return r.json()


def log_runs(url):
    """The same N runs to a server: returns (experiment id, seconds)."""
    eid = post(url, "experiments/create", {"name": "ui-bench"})["experiment_id"]

    def one(i):
        start = T0 + i * 1000
        rid = post(url, "runs/create", {"experiment_id": eid, "run_name": f"bench-{i:05d}", "start_time": start})["run"]["info"]["run_id"]
        rng = random.Random(i)
        post(url, "runs/log-batch", {"run_id": rid,
                                     "metrics": [{"key": f"m{k}", "value": rng.random(), "timestamp": start, "step": 0} for k in range(METRICS)],
                                     "params": [{"key": "lr", "value": LRS[i % len(LRS)]}, {"key": "seed", "value": str(i)},
                                                {"key": "model", "value": "resnet18" if i % 2 else "vgg16"}]})
        post(url, "runs/update", {"run_id": rid, "status": "FINISHED", "end_time": start + 500})

    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(RUNS)))
    return eid, time.perf_counter() - began


# MARK: server time

def lumen_queries(eid):
    base = f"/ui/experiments/{eid}"
    return {"default": base, "sorted": base + "?order=" + quote("metrics.`m1` DESC"),
            "filtered": base + "?filter=" + quote("metrics.m0 > 0.5"), "default, per=100": base + "?per=100"}


def mlflow_queries(eid):
    common = {"experiment_ids": [eid], "max_results": 100, "run_view_type": "ACTIVE_ONLY"}
    return {"default": dict(common, filter="", order_by=["attributes.start_time DESC"]),
            "sorted": dict(common, filter="", order_by=["metrics.`m1` DESC"]),
            "filtered": dict(common, filter="metrics.m0 > 0.5", order_by=["attributes.start_time DESC"])}


def server_times(lumen_url, lumen_eid, mlflow_url, mlflow_eid):
    """Median ms of SERVER_REPEATS timed requests each (one untimed first), the two servers alternating."""
    s = requests.Session()
    lq, mq = lumen_queries(lumen_eid), mlflow_queries(mlflow_eid)

    def lumen(path):
        began = time.perf_counter()
        r = s.get(lumen_url + path, timeout=120)
        took = time.perf_counter() - began
        assert r.status_code == 200 and 'id="runs"' in r.text and 'class="error"' not in r.text, (path, r.status_code, r.text[:1000])
        table = r.text[r.text.index('id="runs"'):]
        table = table[table.find("<tbody"):table.find("</tbody>")]
        return took, table.count("<tr")

    def mlflow(body):
        began = time.perf_counter()
        r = s.post(mlflow_url + "/api/2.0/mlflow/runs/search", json=body, timeout=120)
        took = time.perf_counter() - began
        assert r.status_code == 200, (body, r.status_code, r.text[:1000])
        return took, len(r.json().get("runs", []))

    samples = {("lumen", k): [] for k in lq} | {("mlflow", k): [] for k in mq}
    rows = {}
    for rep in range(SERVER_REPEATS + 1):
        for k in lq:
            took, n = lumen(lq[k])
            rows["lumen", k] = n
            if rep:
                samples["lumen", k].append(took * 1000)
            if k in mq:
                took, n = mlflow(mq[k])
                rows["mlflow", k] = n
                if rep:
                    samples["mlflow", k].append(took * 1000)
    return {f"{tool} {k}": statistics.median(v) for (tool, k), v in samples.items()}, \
           {f"{tool} {k}": sorted(round(x, 1) for x in v) for (tool, k), v in samples.items()}, {f"{t} {k}": n for (t, k), n in rows.items()}


# MARK: browser

# Injected before any page script: records performance.now() when a run row is first visible.
PROBE = """
(() => {
  const mode = %s[location.port];
  if (!mode) return;
  window.__bench = {ready: null};
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const found = () => {
    if (mode === 'lumen') { const row = document.querySelector('table#runs tbody tr'); return row && visible(row); }
    for (const a of document.querySelectorAll('[role=row] a[href*="/runs/"]'))
      if (a.textContent.trim().startsWith('bench-') && visible(a)) return true;
    return false;
  };
  const check = () => {
    if (window.__bench.ready !== null || !found()) return;
    window.__bench.ready = performance.now();
    observer.disconnect();
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {childList: true, subtree: true, characterData: true});
  document.addEventListener('DOMContentLoaded', check);
})();
"""

TIMING = """
const nav = performance.getEntriesByType('navigation')[0];
return {ready: window.__bench ? window.__bench.ready : null, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
        rows: document.querySelectorAll('table#runs tbody tr').length || document.querySelectorAll('.ag-center-cols-container [role=row]').length};
"""


def start_browser(profile):
    options = Options()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):  # offline but for the loopback servers
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver") or "chromedriver"))
    driver.set_page_load_timeout(120)
    return driver


def page_load(driver, url):
    """One fresh navigation; returns the timings in ms from navigation start (and the wall time around it)."""
    driver.get("about:blank")
    began = time.perf_counter()
    driver.get(url)
    WebDriverWait(driver, 60, poll_frequency=0.02).until(lambda d: d.execute_script("return window.__bench && window.__bench.ready !== null"))
    wall = (time.perf_counter() - began) * 1000
    t = driver.execute_script(TIMING)
    t["usable"] = max(t["ready"], t["dcl"])
    t["wall"] = wall
    return t


def browser_times(driver, pages):
    samples = {(tool, kind): [] for tool in pages for kind in ("cold", "warm")}
    for _ in range(BROWSER_ROUNDS):
        for tool, url in pages.items():
            driver.execute_cdp_cmd("Network.clearBrowserCache", {})
            samples[tool, "cold"].append(page_load(driver, url))
            samples[tool, "warm"].append(page_load(driver, url))
    return samples


# MARK: main

def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[-1]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


root = tempfile.mkdtemp(prefix="lumen-ui-bench-")
servers, driver = [], None
try:
    mlflow_dir, lumen_dir = os.path.join(root, "mlflow"), os.path.join(root, "lumen")
    os.makedirs(mlflow_dir)
    port = free_port()
    mlflow = Server("mlflow", [MLFLOW, "server", "--backend-store-uri", f"sqlite:///{mlflow_dir}/mlflow.db",
                               "--artifacts-destination", f"{mlflow_dir}/artifacts", "--host", "127.0.0.1", "--port", str(port)],
                    f"http://127.0.0.1:{port}", open(os.path.join(root, "mlflow.log"), "w"))
    servers.append(mlflow)
    subprocess.run([LUMEN, "init", lumen_dir], check=True, capture_output=True)
    port = free_port()
    lumen = Server("lumen", [LUMEN, "serve", "--workspace", lumen_dir, "--port", str(port)], f"http://127.0.0.1:{port}",
                   open(os.path.join(root, "lumen.log"), "w"))
    servers.append(lumen)

    # one server logs at a time, so the other's work does not share the 2 cores
    mlflow_eid, mlflow_log_s = log_runs(mlflow.url)
    print(f"ui bench: logged {RUNS} runs x {METRICS} metrics + 3 params to mlflow in {mlflow_log_s:.1f} s ({CLIENTS} clients)", file=sys.stderr)
    lumen_eid, lumen_log_s = log_runs(lumen.url)
    print(f"ui bench: logged {RUNS} runs x {METRICS} metrics + 3 params to lumen in {lumen_log_s:.1f} s ({CLIENTS} clients)", file=sys.stderr)

    server_ms, server_samples, rows = server_times(lumen.url, lumen_eid, mlflow.url, mlflow_eid)
    print("ui bench: server times done", file=sys.stderr)

    driver = start_browser(os.path.join(root, "profile"))
    modes = {lumen.url.rsplit(":", 1)[1]: "lumen", mlflow.url.rsplit(":", 1)[1]: "mlflow"}
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE % json.dumps(modes)})
    driver.execute_cdp_cmd("Network.enable", {})
    pages = {"lumen": f"{lumen.url}/ui/experiments/{lumen_eid}",
             "mlflow": f"{mlflow.url}/#/experiments/{mlflow_eid}?workflowType=machine_learning"}
    page_load(driver, pages["mlflow"])  # untimed: the first start of the browser's renderer and caches
    browser = browser_times(driver, pages)
    browser_s = {f"{tool} {kind}": statistics.median(x["usable"] for x in v) / 1000 for (tool, kind), v in browser.items()}
    browser_rows = {f"{tool} {kind}": v[-1]["rows"] for (tool, kind), v in browser.items()}
finally:
    if driver:
        driver.quit()
    for s in servers:
        s.close()
    shutil.rmtree(root, ignore_errors=True)

mlflow_version = version([MLFLOW, "--version"]).split()[-1]
lumen_version = version([LUMEN, "--version"])
print(f"\nruns page: {RUNS} runs x {METRICS} metrics + 3 params, lumen {lumen_version} vs mlflow {mlflow_version} "
      f"(SQLite both; logging {lumen_log_s:.0f} s vs {mlflow_log_s:.0f} s, {CLIENTS} clients)")
print(f"server ms = median of {SERVER_REPEATS} (lumen GET /ui/experiments/{{id}}, {rows['lumen default']} rows; "
      f"mlflow POST runs/search max_results 100, {rows['mlflow default']} runs)")
print(f"{'measure':<32}{'lumen':>10}{'mlflow':>10}{'mlflow/lumen':>14}   target (lumen)")
for k in ("default", "sorted", "filtered"):
    l, m = server_ms[f"lumen {k}"], server_ms[f"mlflow {k}"]
    print(f"{'server ms, ' + k:<32}{l:>10.1f}{m:>10.1f}{m / l:>13.1f}x   < {SERVER_TARGET_MS} ms {'ok' if l < SERVER_TARGET_MS else 'MISSED'}")
l = server_ms["lumen default, per=100"]
print(f"{'server ms, default, 100 rows':<32}{l:>10.1f}{server_ms['mlflow default']:>10.1f}{server_ms['mlflow default'] / l:>13.1f}x   < {SERVER_TARGET_MS} ms {'ok' if l < SERVER_TARGET_MS else 'MISSED'}")
for kind in ("cold", "warm"):
    l, m = browser_s[f"lumen {kind}"], browser_s[f"mlflow {kind}"]
    print(f"{'browser usable s, ' + kind + ' cache':<32}{l:>10.3f}{m:>10.3f}{m / l:>13.1f}x   < {BROWSER_TARGET_S:.0f} s {'ok' if l < BROWSER_TARGET_S else 'MISSED'}")
print(f"browser = median of {BROWSER_ROUNDS} fresh navigations, headless Chromium, navigation start to max(DOMContentLoaded, first visible run row)")

record = {"bench": "ui", "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": RUNS, "metrics": METRICS, "params": 3, "clients": CLIENTS,
          "lumen_version": lumen_version, "mlflow_version": mlflow_version, "cpus": os.cpu_count(),
          "log_s": {"lumen": round(lumen_log_s, 2), "mlflow": round(mlflow_log_s, 2)},
          "server_ms": {k: round(v, 2) for k, v in server_ms.items()}, "server_samples_ms": server_samples, "rows": rows,
          "browser_usable_s": {k: round(v, 4) for k, v in browser_s.items()}, "browser_rows": browser_rows,
          "browser_samples_ms": {f"{t} {k}": [{n: round(x[n], 1) for n in ("ready", "dcl", "load", "usable", "wall")} for x in v]
                                 for (t, k), v in browser.items()},
          "targets": {"server_ms": SERVER_TARGET_MS, "browser_s": BROWSER_TARGET_S}}
os.makedirs("bench-results", exist_ok=True)
with open("bench-results/ui.jsonl", "a") as f:
    f.write(json.dumps(record) + "\n")

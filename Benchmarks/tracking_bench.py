"""make bench (tracking): Lumen's server against MLflow's tracking server (SQLite backend), same client, same run.

Logs N metrics in batches of 1,000 and as single log-metric calls (C concurrent clients), creates R runs and
times filtered searches among them; samples each server's RSS (the whole process tree) and prints ratios.
Usage: python tracking_bench.py LUMEN_BIN [--metrics 100000] [--runs 10000] [--clients 16]
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

import requests

p = argparse.ArgumentParser()
p.add_argument("lumen")
p.add_argument("--metrics", type=int, default=100_000)
p.add_argument("--runs", type=int, default=10_000)
p.add_argument("--clients", type=int, default=16)
p.add_argument("--searches", type=int, default=20)
p.add_argument("--seconds", type=int, default=15, help="duration of the single-call phase under wrk")
args = p.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_kb(pid):
    """RSS of a process and all its descendants, in kB."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as f:
                stack += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


class Server:
    def __init__(self, name, cmd, url, env=None):
        self.name, self.url, self.peak = name, url, 0
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        for _ in range(600):
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{name} did not start")
        self.stop_sampling = False
        threading.Thread(target=self.sample, daemon=True).start()

    def sample(self):
        while not self.stop_sampling:
            self.peak = max(self.peak, tree_rss_kb(self.proc.pid))
            time.sleep(0.2)

    def close(self):
        self.stop_sampling = True
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


local = threading.local()


def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s


def post(url, path, body):
    r = session().post(url + "/api/2.0/mlflow/" + path, json=body, timeout=120)
    r.raise_for_status()
    return r.json()


def bench(server):
    url = server.url
    exp = post(url, "experiments/create", {"name": "bench"})["experiment_id"]
    run = post(url, "runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
    out = {}
    # 1. batches of 1,000: first 100,000 metrics from one Python client (checked by reading them back), then the
    #    server's own rate under wrk (4 connections), which Python's JSON encoding would otherwise cap.
    now = int(time.time() * 1000)
    t = time.perf_counter()
    for b in range(args.metrics // 1000):
        metrics = [{"key": f"m{i % 10}", "value": i * 0.5, "timestamp": now, "step": b * 1000 + i} for i in range(1000)]
        post(url, "runs/log-batch", {"run_id": run, "metrics": metrics})
    out["batch_python_metrics_per_s"] = args.metrics / (time.perf_counter() - t)
    history = session().get(url + "/api/2.0/mlflow/metrics/get-history", params={"run_id": run, "metric_key": "m3", "max_results": 25000}).json()
    assert len(history["metrics"]) == args.metrics // 10, f"{server.name}: stored {len(history['metrics'])} of {args.metrics // 10}"
    if shutil.which("wrk"):
        body = json.dumps({"run_id": run, "metrics": [{"key": f"b{i % 10}", "value": i * 0.5, "timestamp": now, "step": i} for i in range(1000)]})
        script = os.path.join(root, "log_batch.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body) + "\n")
        res = subprocess.run(["wrk", "-t2", "-c4", f"-d{args.seconds}s", "-s", script, url + "/api/2.0/mlflow/runs/log-batch"],
                             capture_output=True, text=True, check=True).stdout
        assert "Non-2xx" not in res, f"{server.name}: errors under load:\n{res}"
        out["batch_metrics_per_s"] = 1000 * float(res.split("Requests/sec:")[1].split()[0])
    else:
        out["batch_metrics_per_s"] = out["batch_python_metrics_per_s"]
    # 2. single log-metric calls from C concurrent connections. wrk (C, keep-alive) when present, since a Python
    #    client tops out near 600 calls/s on this machine; otherwise Python threads.
    if shutil.which("wrk"):
        script = os.path.join(root, "log_metric.lua")
        lua = (
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            'local n = 0\n'
            'request = function()\n'
            '  n = n + 1\n'
            '  local body = \'{"run_id": "RUN", "key": "s\' .. (n % 10) .. \'", "value": \' .. n .. \', "timestamp": NOW, "step": \' .. n .. \'}\'\n'
            '  return wrk.format(nil, nil, nil, body)\n'
            'end\n'
        ).replace("RUN", run).replace("NOW", str(now))
        with open(script, "w") as f:
            f.write(lua)
        res = subprocess.run(["wrk", "-t2", f"-c{args.clients}", f"-d{args.seconds}s", "-s", script, url + "/api/2.0/mlflow/runs/log-metric"],
                             capture_output=True, text=True, check=True).stdout
        assert "Non-2xx" not in res, f"{server.name}: errors under load:\n{res}"
        out["single_metrics_per_s"] = float(res.split("Requests/sec:")[1].split()[0])
        out["single_client"] = "wrk"
    else:
        def one(i):
            post(url, "runs/log-metric", {"run_id": run, "key": f"s{i % 10}", "value": float(i), "timestamp": now, "step": i})
        t = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, range(args.metrics)))
        out["single_metrics_per_s"] = args.metrics / (time.perf_counter() - t)
        out["single_client"] = "python"
    # 3. search among R runs
    def make(i):
        rid = post(url, "runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
        post(url, "runs/log-batch", {"run_id": rid, "metrics": [{"key": "acc", "value": (i % 100) / 100, "timestamp": now, "step": 0}],
                                     "params": [{"key": "model", "value": "resnet18" if i % 2 else "vgg16"}]})
    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(make, range(args.runs)))
    query = {"experiment_ids": [exp], "filter": "metrics.acc > 0.9 and params.model = 'resnet18'", "max_results": 100,
             "order_by": ["metrics.acc DESC"]}
    found = post(url, "runs/search", query)
    expected = min(100, sum(1 for i in range(args.runs) if i % 2 == 1 and (i % 100) / 100 > 0.9))
    assert len(found.get("runs", [])) == expected, f"{server.name}: search found {len(found.get('runs', []))}, expected {expected}"
    t = time.perf_counter()
    for _ in range(args.searches):
        post(url, "runs/search", query)
    out["search_ms"] = (time.perf_counter() - t) / args.searches * 1000
    out["peak_rss_mb"] = server.peak / 1024
    return out


root = tempfile.mkdtemp(prefix="lumen-tracking-bench-")
results = {}
try:
    mlflow_dir = os.path.join(root, "mlflow")
    os.makedirs(mlflow_dir)
    port = free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    srv = Server("mlflow", [mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{mlflow_dir}/mlflow.db",
                            "--artifacts-destination", f"{mlflow_dir}/artifacts", "--host", "127.0.0.1", "--port", str(port)],
                 f"http://127.0.0.1:{port}")
    try:
        results["mlflow"] = bench(srv)
    finally:
        srv.close()
    lumen_dir = os.path.join(root, "lumen")
    subprocess.run([args.lumen, "init", lumen_dir], check=True, capture_output=True)
    port = free_port()
    srv = Server("lumen", [args.lumen, "serve", "--workspace", lumen_dir, "--port", str(port)], f"http://127.0.0.1:{port}")
    try:
        results["lumen"] = bench(srv)
    finally:
        srv.close()
finally:
    shutil.rmtree(root, ignore_errors=True)

l, m = results["lumen"], results["mlflow"]
print(f"tracking server: {args.metrics} metrics in batches, {args.runs} runs, {args.clients} concurrent clients "
      f"(single calls: {l['single_client']}, {args.seconds}s per server)")
print(f"{'measure':<28}{'lumen':>12}{'mlflow':>12}{'ratio':>9}   target")
print(f"{'log-batch, 1 Python client':<28}{l['batch_python_metrics_per_s']:>12.0f}{m['batch_python_metrics_per_s']:>12.0f}{l['batch_python_metrics_per_s'] / m['batch_python_metrics_per_s']:>8.1f}x   (client-bound)")
print(f"{'log-batch metrics/s':<28}{l['batch_metrics_per_s']:>12.0f}{m['batch_metrics_per_s']:>12.0f}{l['batch_metrics_per_s'] / m['batch_metrics_per_s']:>8.1f}x   >= 10x")
print(f"{'log-metric metrics/s':<28}{l['single_metrics_per_s']:>12.0f}{m['single_metrics_per_s']:>12.0f}{l['single_metrics_per_s'] / m['single_metrics_per_s']:>8.1f}x   >= 10x")
print(f"{'search ms (lower is better)':<28}{l['search_ms']:>12.1f}{m['search_ms']:>12.1f}{m['search_ms'] / l['search_ms']:>8.1f}x   >= 10x faster")
print(f"{'server peak RSS MB':<28}{l['peak_rss_mb']:>12.0f}{m['peak_rss_mb']:>12.0f}{l['peak_rss_mb'] / m['peak_rss_mb']:>8.2f}x   <= 0.5x")
json.dump(results, open("bench-results/tracking.json", "w"), indent=1)

"""A real Prometheus (Debian's `prometheus` package, with its `promtool`) scrapes `lumen serve --model`'s /metrics
every second: after uploads and OIP infers, MLflow tracking calls and a 404, its query API shows the prediction and
HTTP counts, the latency and batch histograms, the queue gauge and the process metrics, and `promtool check metrics`
accepts the exposition. A missing prometheus or promtool fails the test (interop/run.sh installs the package)."""
import math, shutil, subprocess, time

import numpy as np
import pytest
import requests

from conftest import LUMEN, free_port
from test_serving import MODEL, SHAPE, served  # noqa: F401  (served: phantom@champion behind `lumen serve` on a free port)

UPLOADS, INFERS, TRACKING = 5, 2, 2
PREDICTIONS = UPLOADS + INFERS


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not on PATH: install Debian's prometheus package (interop/run.sh does)"
    return path


@pytest.fixture()
def prometheus(served, tmp_path):
    """`prometheus` on a free loopback port (never the system's 9090), scraping the server's /metrics every second."""
    binary = tool("prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                      "scrape_configs:\n  - job_name: lumen\n    metrics_path: /metrics\n"
                      f"    static_configs:\n      - targets: ['{served['host']}']\n")
    port, log_path = free_port(), tmp_path / "prometheus.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "prometheus did not get ready: " + log_path.read_text(errors="replace")
            time.sleep(0.1)
        yield {"url": url, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def query(prom, expr):
    """An instant query through Prometheus's HTTP API: [(labels, value)]."""
    r = requests.get(f"{prom['url']}/api/v1/query", params={"query": expr}, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "success", (expr, r.status_code, r.text)
    return [(s["metric"], float(s["value"][1])) for s in r.json()["data"]["result"]]


def value(prom, expr):
    """The value of a query that yields one series, None when it yields none."""
    result = query(prom, expr)
    assert len(result) <= 1, (expr, result)
    return result[0][1] if result else None


def wait_for(prom, expr, want, timeout=30):
    """Polls until `expr` is `want` (the scrapes come every second); returns the last value."""
    deadline = time.monotonic() + timeout
    while (got := value(prom, expr)) != want and time.monotonic() < deadline:
        time.sleep(0.25)
    return got


def test_prometheus_scrapes_lumen_serve(served, prometheus):
    url = served["url"]
    assert wait_for(prometheus, 'up{job="lumen"}', 1) == 1, prometheus["log"].read_text(errors="replace")
    files = sorted((served["workspace"] / "ct").rglob("*.dcm"))[:UPLOADS]
    assert len(files) == UPLOADS

    def upload(path, name=MODEL):
        return requests.post(f"{url}/api/predict/{name}", files={"file": (path.name, path.read_bytes(), "application/dicom")}, timeout=60)

    # two waves, each seen by a scrape: rate() over the latency histogram then has an increase to work on
    for path in files[:3]:
        r = upload(path)
        assert r.status_code == 200, r.text
    predictions = f'sum(lumen_predictions_total{{model="{MODEL}",status="200"}})'
    assert wait_for(prometheus, predictions, 3) == 3, query(prometheus, "lumen_predictions_total")
    for path in files[3:]:
        r = upload(path)
        assert r.status_code == 200, r.text
    rng = np.random.default_rng(5)
    for _ in range(INFERS):
        x = rng.normal(size=(1, *SHAPE)).astype(np.float32)
        r = requests.post(f"{url}/v2/models/{MODEL}/infer", timeout=60,
                          json={"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]})
        assert r.status_code == 200, r.text
    r = requests.post(f"{url}/api/2.0/mlflow/experiments/search", json={}, timeout=30)
    assert r.status_code == 200 and "experiments" in r.json(), r.text
    r = requests.get(f"{url}/api/2.0/mlflow/experiments/search", params={"max_results": 5}, timeout=30)
    assert r.status_code == 200 and "experiments" in r.json(), r.text
    r = upload(files[0], name="nope")
    assert r.status_code == 404, (r.status_code, r.text)

    # everything above is in Prometheus once a scrape after the 404 came in
    not_found = 'lumen_http_requests_total{api="predict",status="404"}'
    assert wait_for(prometheus, not_found, 1) == 1, query(prometheus, "lumen_http_requests_total")
    assert value(prometheus, predictions) == PREDICTIONS, query(prometheus, "lumen_predictions_total")
    series = query(prometheus, "lumen_predictions_total")
    assert [(m["model"], m["version"], m["status"]) for m, _ in series] == [(MODEL, "1", "200")], series
    # a name a client made up is no model: it creates no series (its 404 is counted by HTTP status only)
    assert value(prometheus, f'sum(lumen_prediction_duration_seconds_count{{model="{MODEL}"}})') == PREDICTIONS

    http = {(m["api"], m["status"]): v for m, v in query(prometheus, "lumen_http_requests_total")}
    assert http[("predict", "200")] == UPLOADS and http[("predict", "404")] == 1, http
    assert http[("oip", "200")] >= INFERS, http  # the fixture's readiness probe (/v2/health/ready) is OIP too
    assert value(prometheus, 'sum(lumen_http_requests_total{api="tracking"})') >= TRACKING, http
    assert http.get(("tracking", "200")) == TRACKING, http
    assert any(status.startswith("4") for _, status in http), http
    assert http.get(("metrics", "200"), 0) >= 1, http  # the scrapes count themselves
    assert value(prometheus, 'sum(lumen_http_request_duration_seconds_count{api="predict"})') == UPLOADS + 1

    # each image runs in exactly one batch (the load's warm-up batch is not counted)
    assert value(prometheus, "sum(lumen_batch_size_count)") >= 1
    assert value(prometheus, "sum(lumen_batch_size_sum)") == PREDICTIONS, query(prometheus, "lumen_batch_size_sum")
    assert value(prometheus, f'lumen_queue_depth{{model="{MODEL}",version="1"}}') == 0
    assert all(v == 0 for _, v in query(prometheus, "lumen_rejections_total")), query(prometheus, "lumen_rejections_total")

    assert value(prometheus, "process_resident_memory_bytes") > 10e6
    assert value(prometheus, "process_cpu_seconds_total") > 0
    median = value(prometheus, "histogram_quantile(0.5, sum(rate(lumen_prediction_duration_seconds_bucket[1m])) by (le))")
    assert median is not None and math.isfinite(median) and 0 < median <= 10, median

    # the types Prometheus took from the scrapes' # TYPE lines
    metadata = requests.get(f"{prometheus['url']}/api/v1/metadata", timeout=10).json()["data"]
    types = {name: {m["type"] for m in entries} for name, entries in metadata.items()}
    for name, kind in (("lumen_predictions_total", "counter"), ("lumen_http_requests_total", "counter"), ("lumen_queue_depth", "gauge"),
                       ("lumen_prediction_duration_seconds", "histogram"), ("lumen_batch_size", "histogram"),
                       ("lumen_http_request_duration_seconds", "histogram"), ("process_resident_memory_bytes", "gauge")):
        assert types.get(name) == {kind}, (name, types.get(name))

    # promtool's parse and lint of the raw exposition: exit 1 is a format error, 3 a lint problem
    text = requests.get(url + "/metrics", timeout=10).text
    check = subprocess.run([tool("promtool"), "check", "metrics"], input=text, capture_output=True, text=True)
    declared = "\n".join(line for line in text.splitlines() if line.startswith("# TYPE"))
    assert check.returncode == 0, f"promtool check metrics exited {check.returncode}:\n{check.stdout}{check.stderr}--- # TYPE lines of /metrics:\n{declared}"


def test_alerting_rules_pass_promtool_and_fire(tmp_path):
    """`lumen monitor rules` writes rules that promtool accepts, and that fire on synthetic series
    (promtool's rule unit tests): lumen down, failing predictions, a full queue."""
    import shutil
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian prometheus) is required"
    rules = tmp_path / "lumen-rules.yml"
    proc = subprocess.run([LUMEN, "monitor", "rules", "--output", str(rules), "--for", "1m"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS: 6 rules found" in checked.stdout, checked.stdout + checked.stderr
    (tmp_path / "tests.yml").write_text(f"""
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="lumen", instance="a:5000"}}'
        values: '1 1 0 0 0 0'
      - series: 'lumen_predictions_total{{job="lumen", model="cxr", version="1", status="200"}}'
        values: '0+10x20'
      - series: 'lumen_predictions_total{{job="lumen", model="cxr", version="1", status="400"}}'
        values: '0+5x20'
      - series: 'lumen_rejections_total{{job="lumen", model="cxr", reason="queue_full"}}'
        values: '0+3x20'
    alert_rule_test:
      - eval_time: 5m
        alertname: LumenDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: lumen, instance: "a:5000"}}
            exp_annotations: {{summary: "lumen serve a:5000 is not answering /metrics"}}
      - eval_time: 10m
        alertname: LumenPredictionErrors
        exp_alerts:
          - exp_labels: {{severity: warning, model: cxr}}
            exp_annotations: {{summary: "more than 5 % of cxr predictions fail"}}
      - eval_time: 10m
        alertname: LumenQueueFull
        exp_alerts:
          - exp_labels: {{severity: warning, model: cxr}}
            exp_annotations: {{summary: "cxr refuses requests: its queue is full or requests time out (more --compute-threads or replicas)"}}
      - eval_time: 10m
        alertname: LumenSlowPredictions
        exp_alerts: []
""")
    tested = subprocess.run([promtool, "test", "rules", str(tmp_path / "tests.yml")], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr

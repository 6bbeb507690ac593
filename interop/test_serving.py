"""`lumen serve --model` against the official Triton/KServe client (tritonclient[http]): health, server and
model metadata, readiness, `infer` with JSON and binary tensors (the binary_tensor_data extension) in and out,
the protocol's errors, concurrent requests; and the image-upload route agrees with `lumen predict`."""
import json, sqlite3, subprocess, time, urllib.request
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from conftest import LUMEN, free_port

MODEL, SHAPE = "phantom", [1, 24, 24]
CONFIG = "data:\n  dataset: ct\n  image_size: 24\n  window: lung\nmodel:\n  name: simple-cnn\ntrainer:\n  batch_size: 4\n  epochs: 1\n"


def lumen(*args):
    proc = subprocess.run([LUMEN, *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"lumen {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def start_server(ws):
    """`lumen serve --model phantom@champion` on a free port, once /v2/health/ready answers 200."""
    port = free_port()
    log = open(ws / f"serve-{port}.log", "wb")
    proc = subprocess.Popen([LUMEN, "serve", "--port", str(port), "--model", f"{MODEL}@champion", "--workspace", str(ws)],
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(url + "/v2/health/ready", timeout=1).status == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError("lumen serve did not get ready: " + (ws / f"serve-{port}.log").read_text(errors="replace"))
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A CT classifier trained on synthetic DICOM, registered as phantom@champion and served on a free port."""
    ws = tmp_path_factory.mktemp("serving")
    lumen("init", str(ws))
    lumen("data", "synth", "ct", str(ws / "ct"), "--patients", "4", "--slices", "3", "--size", "48")
    lumen("data", "import", str(ws / "ct"), "--name", "ct", "--split", "0.5,0.25,0.25", "--workspace", str(ws))
    (ws / "exp.yaml").write_text(CONFIG)
    lumen("train", str(ws / "exp.yaml"), "trainer.threads=1", "--register", MODEL, "--workspace", str(ws))
    lumen("models", "alias", MODEL, "champion", "--version", "1", "--workspace", str(ws))
    proc, port = start_server(ws)
    yield {"url": f"http://127.0.0.1:{port}", "host": f"127.0.0.1:{port}", "workspace": ws}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        # stopping on SIGTERM is asserted by test_sigterm_writes_pending_logs_and_exits; never leave a server behind
        proc.kill()
        proc.wait()


@pytest.fixture()
def client(served):
    c = httpclient.InferenceServerClient(url=served["host"], network_timeout=60)
    yield c
    c.close()


def tensor(array, datatype, binary):
    t = httpclient.InferInput("input", list(array.shape), datatype)
    t.set_data_from_numpy(array, binary_data=binary)
    return t


def check_classifier(result, n):
    p, label = result.as_numpy("probabilities"), result.as_numpy("label")
    assert p is not None and label is not None, result.get_response()
    assert p.dtype == np.float32 and p.shape == (n, 2), (p.dtype, p.shape)
    assert label.dtype == np.int64 and label.shape == (n,), (label.dtype, label.shape)
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1, atol=1e-5), p
    assert np.array_equal(label, p.argmax(axis=1)), (label, p)
    assert result.get_response()["model_name"] == MODEL and result.get_response()["model_version"] == "1"
    return p


def test_health_readiness_and_metadata(client):
    assert client.is_server_live() is True
    assert client.is_server_ready() is True
    assert client.is_model_ready(MODEL) is True
    assert client.is_model_ready(MODEL, "1") is True
    assert client.is_model_ready("nope") is False
    assert client.is_model_ready(MODEL, "9") is False
    server = client.get_server_metadata()
    assert server["name"] == "lumen" and "binary_tensor_data" in server["extensions"], server
    for meta in (client.get_model_metadata(MODEL), client.get_model_metadata(MODEL, "1")):
        assert meta["name"] == MODEL and meta["versions"] == ["1"], meta
        assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, *SHAPE]}], meta
        outputs = {o["name"]: (o["datatype"], o["shape"]) for o in meta["outputs"]}
        assert outputs == {"probabilities": ("FP32", [-1, 2]), "label": ("INT64", [-1])}, meta
    with pytest.raises(InferenceServerException) as err:
        client.get_model_metadata("nope")
    assert "nope" in err.value.message() and err.value.status() == "404", (err.value.message(), err.value.status())


def test_infer_json_and_binary_tensors_agree(client):
    x = np.random.default_rng(7).normal(size=(2, *SHAPE)).astype(np.float32)
    answers = {}
    # tritonclient's defaults: binary input, no outputs named → every output in binary (binary_data_output)
    default = client.infer(MODEL, [tensor(x, "FP32", True)])
    answers["default"] = check_classifier(default, 2)
    assert {o["name"] for o in default.get_response()["outputs"]} == {"probabilities", "label"}
    assert all("binary_data_size" in o.get("parameters", {}) and "data" not in o for o in default.get_response()["outputs"]), default.get_response()
    for binary_in in (True, False):
        for binary_out in (True, False):
            wanted = [httpclient.InferRequestedOutput("probabilities", binary_data=binary_out),
                      httpclient.InferRequestedOutput("label", binary_data=binary_out)]
            result = client.infer(MODEL, [tensor(x, "FP32", binary_in)], outputs=wanted, request_id=f"r-{binary_in}-{binary_out}")
            answers[(binary_in, binary_out)] = check_classifier(result, 2)
            response = result.get_response()
            assert response.get("id") == f"r-{binary_in}-{binary_out}", response
            for o in response["outputs"]:
                assert ("binary_data_size" in o.get("parameters", {})) == binary_out and ("data" in o) == (not binary_out), response
    # only the output asked for comes back
    only = client.infer(MODEL, [tensor(x, "FP32", True)], outputs=[httpclient.InferRequestedOutput("label", binary_data=False)])
    assert [o["name"] for o in only.get_response()["outputs"]] == ["label"] and only.as_numpy("probabilities") is None
    reference = answers[(False, False)]
    for key, p in answers.items():
        assert np.allclose(p, reference, rtol=0, atol=1e-6), (key, p, reference)
    # one image as C × H × W, and the versioned route, give the first row again
    single = client.infer(MODEL, [tensor(x[0], "FP32", True)], model_version="1")
    assert np.allclose(check_classifier(single, 1)[0], reference[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("datatype", ["UINT8", "FP64", "FP16", "INT16"])
def test_infer_other_datatypes(client, datatype):
    dtype = {"UINT8": np.uint8, "FP64": np.float64, "FP16": np.float16, "INT16": np.int16}[datatype]
    rng = np.random.default_rng(3)
    x = (rng.integers(0, 256, size=(2, *SHAPE)) if datatype in ("UINT8", "INT16") else rng.normal(size=(2, *SHAPE))).astype(dtype)
    as_fp32 = check_classifier(client.infer(MODEL, [tensor(x.astype(np.float32), "FP32", False)]), 2)
    for binary in (True, False):
        p = check_classifier(client.infer(MODEL, [tensor(x, datatype, binary)]), 2)
        assert np.allclose(p, as_fp32, rtol=0, atol=1e-6), (datatype, binary, p, as_fp32)


def test_upload_route_equals_lumen_predict(served):
    files = sorted((served["workspace"] / "ct").rglob("*.dcm"))
    assert len(files) == 12
    for path in files[:3]:
        cli = json.loads(lumen("predict", f"{MODEL}@champion", str(path), "--json", "--workspace", str(served["workspace"])))
        r = requests.post(f"{served['url']}/api/predict/{MODEL}", files={"file": (path.name, path.read_bytes(), "application/dicom")}, timeout=60)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["version"] == cli["version"] == 1 and answer["served_as"] == cli["served_as"] == f"{MODEL}@champion", (answer, cli)
        assert r.headers["X-Lumen-Model-Version"] == "1"
        [served_pred], [cli_pred] = answer["predictions"], cli["predictions"]
        assert served_pred["file"] == cli_pred["file"] == path.name
        assert set(served_pred["probabilities"]) == set(cli_pred["probabilities"]) == {"lesion", "normal"}
        for name, p in cli_pred["probabilities"].items():
            assert abs(served_pred["probabilities"][name] - p) <= 1e-6, (path.name, served_pred, cli_pred)
        assert abs(sum(served_pred["probabilities"].values()) - 1) <= 1e-5
        assert served_pred["label"] == cli_pred["label"] == max(cli_pred["probabilities"], key=cli_pred["probabilities"].get)


def test_errors_reach_the_client(client, served):
    x = np.zeros((1, *SHAPE), np.float32)
    with pytest.raises(InferenceServerException) as err:
        client.infer("nope", [tensor(x, "FP32", True)])
    assert "nope" in err.value.message() and err.value.status() == "404", (err.value.message(), err.value.status())
    with pytest.raises(InferenceServerException) as err:
        client.infer(MODEL, [tensor(np.zeros((1, 1, 8, 8), np.float32), "FP32", True)])
    assert "[N, 1, 24, 24]" in err.value.message() and err.value.status() == "400", (err.value.message(), err.value.status())
    with pytest.raises(InferenceServerException) as err:
        client.infer(MODEL, [tensor(x, "FP32", False)], model_version="9")
    assert err.value.status() == "404" and "9" in err.value.message(), (err.value.message(), err.value.status())
    with pytest.raises(InferenceServerException) as err:
        client.infer(MODEL, [tensor(x, "FP32", True)], outputs=[httpclient.InferRequestedOutput("logits")])
    assert "logits" in err.value.message() and err.value.status() == "400", (err.value.message(), err.value.status())
    # raw requests the client would never send: errors are {"error": "..."} with a 4xx
    for body, headers in ((b"{not json", {}), (b'{"inputs": []}', {}),
                          (json.dumps({"inputs": [{"name": "input", "shape": [1, *SHAPE], "datatype": "FP32", "parameters": {"binary_data_size": 99}}]}).encode(),
                           {"Inference-Header-Content-Length": "120"})):
        r = requests.post(f"{served['url']}/v2/models/{MODEL}/infer", data=body, headers=headers, timeout=30)
        assert 400 <= r.status_code < 500 and isinstance(r.json().get("error"), str), (body, r.status_code, r.text)


def test_concurrent_infers(served):
    rng = np.random.default_rng(11)
    inputs = [rng.normal(size=(1, *SHAPE)).astype(np.float32) for _ in range(32)]
    with httpclient.InferenceServerClient(url=served["host"], network_timeout=60) as sequential:
        expected = [sequential.infer(MODEL, [tensor(x, "FP32", True)]).as_numpy("probabilities") for x in inputs]

    def one(i):
        # one client per thread: tritonclient's HTTP client is gevent-based and not shared across threads
        with httpclient.InferenceServerClient(url=served["host"], network_timeout=60) as c:
            return c.infer(MODEL, [tensor(inputs[i], "FP32", i % 2 == 0)], request_id=str(i))

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(one, range(32)))
    assert len(results) == 32
    for i, result in enumerate(results):
        assert result.get_response().get("id") == str(i)
        p = check_classifier(result, 1)
        # the batcher may group requests: each still gets its own image's answer
        assert np.allclose(p, expected[i], rtol=0, atol=1e-5), (i, p, expected[i])


def test_sigterm_writes_pending_logs_and_exits(served):
    """`lumen serve --help`: SIGTERM drains requests in flight and writes every pending prediction log (then exits)."""
    ws = served["workspace"]

    def logged():
        with closing(sqlite3.connect(f"file:{ws / '.lumen' / 'lumen.db'}?mode=ro", uri=True)) as db:
            return db.execute("SELECT count(*) FROM prediction_logs WHERE model_name = ?", (MODEL,)).fetchone()[0]

    proc, port = start_server(ws)
    try:
        before = logged()
        with httpclient.InferenceServerClient(url=f"127.0.0.1:{port}") as c:
            check_classifier(c.infer(MODEL, [tensor(np.zeros((3, *SHAPE), np.float32), "FP32", True)]), 3)
        proc.terminate()  # at once: the three logs are still in the logger's buffer
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 0, f"lumen serve did not exit within 15 s of SIGTERM (exit status {code}): " + (ws / f"serve-{port}.log").read_text(errors="replace")
        assert logged() == before + 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

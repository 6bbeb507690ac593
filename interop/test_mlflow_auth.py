"""A server with tokens on: the mlflow client writes with MLFLOW_TRACKING_TOKEN, and is refused without it."""
import os, subprocess, tempfile, time, urllib.request

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from conftest import LUMEN, free_port


@pytest.fixture(scope="module")
def secured():
    workspace = tempfile.mkdtemp(prefix="lumen-auth-")
    subprocess.run([LUMEN, "init", workspace], check=True, capture_output=True)
    out = subprocess.run([LUMEN, "token", "create", "--workspace", workspace, "--role", "writer", "--name", "ci"],
                         check=True, capture_output=True, text=True).stdout
    writer = out.splitlines()[0]
    reader = subprocess.run([LUMEN, "token", "create", "--workspace", workspace, "--role", "reader"],
                            check=True, capture_output=True, text=True).stdout.splitlines()[0]
    port = free_port()
    proc = subprocess.Popen([LUMEN, "serve", "--workspace", workspace, "--port", str(port), "--auth"], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("lumen serve --auth did not start")
    yield url, writer, reader
    proc.terminate()
    proc.wait(timeout=10)


def test_token_required_for_writes(secured, monkeypatch):
    url, writer, reader = secured
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    with pytest.raises(MlflowException):
        MlflowClient(url).create_experiment("no-token")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", reader)
    with pytest.raises(MlflowException) as err:
        MlflowClient(url).create_experiment("reader")
    assert err.value.error_code == "PERMISSION_DENIED", str(err.value)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", writer)
    client = MlflowClient(url)
    eid = client.create_experiment("with-token")
    run = client.create_run(eid)
    client.log_metric(run.info.run_id, "auc", 0.9)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", reader)
    assert MlflowClient(url).get_run(run.info.run_id).data.metrics["auc"] == 0.9  # a reader token reads
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    with pytest.raises(MlflowException) as err:
        MlflowClient(url).get_run(run.info.run_id)  # reads need a token too once auth is on
    assert err.value.error_code == "UNAUTHENTICATED", str(err.value)

"""The official mlflow client (MLFLOW_TRACKING_URI → a Lumen server) gets back exactly what it wrote."""
import math, os, tempfile

import mlflow
import requests
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


@pytest.fixture()
def client(lumen_server):
    mlflow.set_tracking_uri(lumen_server["url"])
    return MlflowClient(lumen_server["url"])


def test_experiments_roundtrip(client):
    eid = client.create_experiment("cxr-interop", tags={"team": "radiology"})
    e = client.get_experiment(eid)
    assert e.name == "cxr-interop" and e.tags["team"] == "radiology" and e.lifecycle_stage == "active"
    assert client.get_experiment_by_name("cxr-interop").experiment_id == eid
    with pytest.raises(MlflowException) as err:
        client.create_experiment("cxr-interop")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.rename_experiment(eid, "cxr-interop-2")
    client.set_experiment_tag(eid, "site", "north")
    assert client.get_experiment(eid).tags["site"] == "north"
    names = [x.name for x in client.search_experiments(filter_string="name LIKE 'cxr-interop%'")]
    assert names == ["cxr-interop-2"]
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    client.restore_experiment(eid)
    with pytest.raises(MlflowException) as err:
        client.get_experiment("987654")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_fluent_run_logging_and_search(client):
    mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="resnet-lr3") as run:
        mlflow.log_param("model", "resnet18")
        mlflow.log_params({"lr": 0.001, "epochs": 10})
        for step in range(5):
            mlflow.log_metric("val_auc", 0.8 + step * 0.03, step=step)
        mlflow.log_metrics({"loss": 0.25, "acc": 0.9}, step=4)
        mlflow.set_tag("dataset", "elpv:v1")
        run_id = run.info.run_id
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "resnet-lr3"
    assert got.data.params == {"model": "resnet18", "lr": "0.001", "epochs": "10"}
    assert got.data.metrics["val_auc"] == pytest.approx(0.92)
    assert got.data.tags["dataset"] == "elpv:v1"
    history = client.get_metric_history(run_id, "val_auc")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert [round(m.value, 6) for m in history] == [0.8, 0.83, 0.86, 0.89, 0.92]

    with mlflow.start_run(run_name="vgg") as other:
        mlflow.log_param("model", "vgg16")
        mlflow.log_metric("val_auc", 0.7)
    exp = client.get_experiment_by_name("fluent").experiment_id
    found = client.search_runs([exp], filter_string="metrics.val_auc > 0.9 and params.model = 'resnet18'")
    assert [r.info.run_id for r in found] == [run_id]
    ordered = client.search_runs([exp], order_by=["metrics.val_auc DESC"])
    assert [r.info.run_name for r in ordered] == ["resnet-lr3", "vgg"]
    df = mlflow.search_runs(experiment_ids=[exp], filter_string="params.model = 'vgg16'")
    assert list(df["run_id"]) == [other.info.run_id]


def test_batches_limits_and_errors(client, lumen_server):
    exp = client.create_experiment("batches")
    run = client.create_run(exp)
    rid = run.info.run_id
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(1000)]
    client.log_batch(rid, metrics=metrics, params=[Param("p", "1")], tags=[RunTag("t", "x")])
    assert len(client.get_metric_history(rid, "m")) == 1000
    client.log_metric(rid, "weird", float("nan"))
    client.log_metric(rid, "huge", float("inf"))
    data = client.get_run(rid).data
    assert math.isnan(data.metrics["weird"]) and data.metrics["huge"] == float("inf")
    with pytest.raises(MlflowException) as err:
        client.log_param(rid, "p", "2")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    # the client splits long batches itself; the server enforces MLflow's limits on raw requests
    too_many = {"run_id": rid, "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 1}] * 1001}
    r = requests.post(lumen_server["url"] + "/api/2.0/mlflow/runs/log-batch", json=too_many)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.post(lumen_server["url"] + "/api/2.0/mlflow/runs/log-batch", data=b"{not json")
    assert r.status_code == 400
    r = requests.get(lumen_server["url"] + "/api/2.0/mlflow-artifacts/artifacts/../../etc/passwd")
    assert r.status_code in (400, 404)
    with pytest.raises(MlflowException) as err:
        client.get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.set_terminated(rid, "KILLED")
    assert client.get_run(rid).info.status == "KILLED"
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    client.restore_run(rid)
    # nested runs (sweeps)
    with mlflow.start_run(experiment_id=exp) as parent:
        with mlflow.start_run(experiment_id=exp, nested=True) as child:
            pass
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_artifacts_upload_list_download(client):
    exp = client.create_experiment("artifacts")
    with mlflow.start_run(experiment_id=exp) as run:
        folder = tempfile.mkdtemp()
        os.makedirs(os.path.join(folder, "plots"))
        with open(os.path.join(folder, "report.json"), "w") as f:
            f.write('{"auc": 0.93}')
        with open(os.path.join(folder, "plots", "roc.svg"), "wb") as f:
            f.write(b"<svg/>" * 1000)
        mlflow.log_artifacts(folder, artifact_path="eval")
        mlflow.log_text("hello", "notes/readme.txt")
    rid = run.info.run_id
    top = sorted((f.path, f.is_dir) for f in client.list_artifacts(rid))
    assert top == [("eval", True), ("notes", True)]
    inner = sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(rid, "eval"))
    assert inner == [("eval/plots", True, None), ("eval/report.json", False, 13)]
    out = client.download_artifacts(rid, "eval", tempfile.mkdtemp())
    assert open(os.path.join(out, "plots", "roc.svg"), "rb").read() == b"<svg/>" * 1000
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/readme.txt") == "hello"

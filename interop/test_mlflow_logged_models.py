"""MLflow 3 logged models through the official mlflow client: `mlflow.pyfunc.log_model`, loading from
`models:/m-…`, `runs:/…/NAME` and `models:/NAME/1`, `search_logged_models`, tags, params, linked metrics."""
import json
import posixpath

import mlflow
import pandas as pd
import pytest
import requests
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


class AddN(mlflow.pyfunc.PythonModel):
    """Adds a constant: the constant travels only in the pickled artifact, so a prediction proves which files were loaded."""

    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input + self.n


@pytest.fixture()
def client(lumen_server):
    assert int(mlflow.__version__.split(".")[0]) >= 3, f"logged models need the mlflow 3 client, got {mlflow.__version__}"
    mlflow.set_tracking_uri(lumen_server["url"])
    mlflow.set_registry_uri(lumen_server["url"])
    return MlflowClient(lumen_server["url"], registry_uri=lumen_server["url"])


def test_pyfunc_log_model_load_register_search(client, lumen_server, tmp_path):
    exp_id = mlflow.set_experiment("logged-models").experiment_id
    with mlflow.start_run() as run:
        mlflow.log_param("arch", "adder")
        mlflow.log_metric("auc", 0.91, step=0)
        info5 = mlflow.pyfunc.log_model(name="adder", python_model=AddN(5), registered_model_name="adder-reg")
        info7 = mlflow.pyfunc.log_model(name="adder7", python_model=AddN(7), model_type="toy")
    rid = run.info.run_id
    mid = info5.model_id
    assert mid.startswith("m-") and info5.model_uri == f"models:/{mid}" and str(info5.registered_model_version) == "1"

    model = client.get_logged_model(mid)
    assert model.status == LoggedModelStatus.READY and model.name == "adder" and model.source_run_id == rid
    assert model.artifact_location == f"mlflow-artifacts:/{exp_id}/models/{mid}/artifacts"
    assert model.params["arch"] == "adder"  # the run's params are copied onto the model
    assert [(m.key, m.value, m.model_id) for m in model.metrics] == [("auc", 0.91, mid)]
    assert json.loads(model.tags["mlflow.modelVersions"]) == [{"name": "adder-reg", "version": "1"}]
    assert client.get_logged_model(info7.model_id).model_type == "toy"

    # The files really are on Lumen, under the model's artifact folder, not the run's.
    files = {posixpath.basename(f.path) for f in mlflow.artifacts.list_artifacts(artifact_uri=model.artifact_location)}
    assert {"MLmodel", "python_model.pkl"} <= files
    assert {posixpath.basename(f.path) for f in client.list_logged_model_artifacts(mid)} == files
    mlmodel = requests.get(f"{lumen_server['url']}/api/2.0/mlflow-artifacts/artifacts/{exp_id}/models/{mid}/artifacts/MLmodel").text
    assert "python_function" in mlmodel and mid in mlmodel
    listing = requests.get(f"{lumen_server['url']}/api/2.0/mlflow/logged-models/{mid}/artifacts/directories").json()
    assert "MLmodel" in {f["path"] for f in listing["files"]}

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    for uri, n in [(f"models:/{mid}", 5), (f"runs:/{rid}/adder", 5), (f"runs:/{rid}/adder7", 7), ("models:/adder-reg/1", 5),
                   (f"models:/{info7.model_id}", 7)]:
        dst = tmp_path / uri.replace(":", "_").replace("/", "_")
        dst.mkdir()
        loaded = mlflow.pyfunc.load_model(uri, dst_path=str(dst))
        assert list(loaded.predict(frame)["x"]) == [1.0 + n, 2.0 + n], uri

    version = client.get_model_version("adder-reg", "1")
    assert version.run_id == rid and version.source == f"models:/{mid}"
    # (the client's ModelVersion.from_proto does not read model_id, so the REST answer is checked)
    raw = requests.get(f"{lumen_server['url']}/api/2.0/mlflow/model-versions/get", params={"name": "adder-reg", "version": "1"}).json()
    assert raw["model_version"]["model_id"] == mid
    assert client.get_model_version_download_uri("adder-reg", "1") == model.artifact_location

    # The run lists both models as its outputs.
    outputs = mlflow.get_run(rid).outputs
    assert sorted(o.model_id for o in outputs.model_outputs) == sorted([mid, info7.model_id])

    found = mlflow.search_logged_models(experiment_ids=[exp_id], filter_string="metrics.auc > 0.9 AND name = 'adder'", output_format="list")
    assert [m.model_id for m in found] == [mid]
    frame = mlflow.search_logged_models(experiment_ids=[exp_id], order_by=[{"field_name": "name", "ascending": False}])
    assert list(frame["name"]) == ["adder7", "adder"]
    typed = client.search_logged_models(experiment_ids=[exp_id], filter_string="model_type = 'toy' AND status = 'READY'")
    assert [m.model_id for m in typed] == [info7.model_id]
    with pytest.raises(MlflowException) as err:
        client.search_logged_models(experiment_ids=[exp_id], filter_string="metrics.auc > 'high'")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_logged_model_tags_params_metrics_delete(client):
    exp_id = client.create_experiment("logged-models-api")
    run = client.create_run(exp_id)
    model = client.create_logged_model(exp_id, name="manual", source_run_id=run.info.run_id, params={"lr": "0.1"}, tags={"team": "radiology"})
    assert model.status == LoggedModelStatus.PENDING and model.params == {"lr": "0.1"}
    client.set_logged_model_tags(model.model_id, {"stage": "pilot", "team": "imaging"})
    client.delete_logged_model_tag(model.model_id, "stage")
    client.log_model_params(model.model_id, {"arch": "resnet18"})
    mlflow.log_metric("val_auc", 0.8, step=3, run_id=run.info.run_id, model_id=model.model_id, dataset=None)
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    got = client.get_logged_model(model.model_id)
    assert got.tags == {"team": "imaging"} and got.params == {"lr": "0.1", "arch": "resnet18"}
    assert [(m.key, m.value, m.step) for m in got.metrics] == [("val_auc", 0.8, 3)]
    assert client.get_run(run.info.run_id).data.metrics == {"val_auc": 0.8}
    with pytest.raises(MlflowException) as err:
        client.log_model_params(model.model_id, {"lr": "0.5"})
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"

    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as err:
        client.get_logged_model(model.model_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_logged_models(experiment_ids=[exp_id]).to_list() == []
    with pytest.raises(MlflowException) as err:
        client.get_logged_model("m-00000000000000000000000000000000")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"

"""Model registry through the official mlflow client: versions, aliases, tags, search, stages."""
import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


@pytest.fixture()
def client(lumen_server):
    mlflow.set_tracking_uri(lumen_server["url"])
    mlflow.set_registry_uri(lumen_server["url"])
    return MlflowClient(lumen_server["url"], registry_uri=lumen_server["url"])


def test_register_alias_resolve(client):
    exp = client.create_experiment("registry")
    run = client.create_run(exp)
    rid = run.info.run_id
    rm = client.create_registered_model("cxr-classifier", tags={"owner": "radiology"}, description="pneumonia")
    assert rm.name == "cxr-classifier"
    v1 = client.create_model_version("cxr-classifier", f"runs:/{rid}/model", run_id=rid, tags={"auc": "0.91"})
    v2 = client.create_model_version("cxr-classifier", f"runs:/{rid}/model", run_id=rid)
    assert (v1.version, v2.version) == ("1", "2") and v1.status == "READY"
    client.set_registered_model_alias("cxr-classifier", "champion", "1")
    got = client.get_model_version_by_alias("cxr-classifier", "champion")
    assert got.version == "1" and got.run_id == rid and got.tags["auc"] == "0.91"
    client.set_registered_model_alias("cxr-classifier", "champion", "2")
    assert client.get_model_version_by_alias("cxr-classifier", "champion").version == "2"
    assert client.get_registered_model("cxr-classifier").aliases == {"champion": "2"}
    client.delete_registered_model_alias("cxr-classifier", "champion")
    with pytest.raises(MlflowException) as err:
        client.get_model_version_by_alias("cxr-classifier", "champion")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.set_model_version_tag("cxr-classifier", "1", "validated", "yes")
    client.update_model_version("cxr-classifier", "1", description="first model")
    mv = client.get_model_version("cxr-classifier", "1")
    assert mv.tags["validated"] == "yes" and mv.description == "first model"
    client.set_registered_model_tag("cxr-classifier", "site", "north")
    client.update_registered_model("cxr-classifier", description="updated")
    model = client.get_registered_model("cxr-classifier")
    assert model.tags == {"owner": "radiology", "site": "north"} and model.description == "updated"
    assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'cxr%'")] == ["cxr-classifier"]
    assert sorted(v.version for v in client.search_model_versions(f"name='cxr-classifier'")) == ["1", "2"]
    assert sorted(v.version for v in client.search_model_versions(f"run_id='{rid}'")) == ["1", "2"]
    assert [v.version for v in client.search_model_versions("name='cxr-classifier' and tags.validated = 'yes'")] == ["1"]
    assert client.get_model_version_download_uri("cxr-classifier", "2") == f"runs:/{rid}/model"
    with pytest.raises(MlflowException) as err:
        client.create_registered_model("cxr-classifier")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.rename_registered_model("cxr-classifier", "cxr")
    assert client.get_model_version("cxr", "2").version == "2"
    client.delete_model_version("cxr", "1")
    assert [v.version for v in client.search_model_versions("name='cxr'")] == ["2"]
    client.delete_registered_model("cxr")
    with pytest.raises(MlflowException):
        client.get_registered_model("cxr")

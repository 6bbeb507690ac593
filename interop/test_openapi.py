"""`lumen serve --model`'s OpenAPI 3.1 document (/openapi.json) against third-party tools: openapi-spec-validator accepts
it, it lists the serving, traffic, operations and MLflow routes with tags the /docs page knows, real answers of the
serving routes conform to its schemas, and schemathesis (4.x CLI) sends seeded generated requests, valid and invalid, to
every operation and finds no 5xx, no answer outside its documented schema and no undocumented content type.
A missing package fails the test (interop/run.sh installs them)."""
import os, re, subprocess, sys, time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
import schemathesis
from openapi_spec_validator import OpenAPIV31SpecValidator

from test_serving import MODEL, SHAPE, served  # noqa: F401  (served: phantom@champion behind `lumen serve`, this module's own)

# `served` is module-scoped: importing it gives this file its own server and workspace (test_serving's and
# test_prometheus's are others), so what schemathesis changes here (traffic policies, reloads, MLflow experiments,
# runs, registered models, artifacts) cannot break another file's tests. The schemathesis run comes last in this file.
SEED = int(os.environ.get("LUMEN_SCHEMATHESIS_SEED", "20241205"))
MAX_EXAMPLES = 25
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@pytest.fixture(scope="module")
def document(served):
    r = requests.get(served["url"] + "/openapi.json", timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json"), (r.status_code, r.headers)
    return r.json()


def operations(doc):
    return {f"{method.upper()} {path}" for path, item in doc["paths"].items() for method in item if method in METHODS}


def test_document_is_valid_openapi_3_1(served, document):
    errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20])
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == requests.get(served["url"] + "/version", timeout=10).text.strip()
    ops = operations(document)
    for op in ("POST /v2/models/{name}/infer", "POST /v2/models/{name}/versions/{version}/infer", "GET /v2/models/{name}",
               "GET /v2/models/{name}/ready", "GET /v2/health/ready", "GET /v2", "POST /api/predict/{name}", "GET /api/models",
               "POST /api/models/{name}/reload", "GET /api/models/{name}/traffic", "PUT /api/models/{name}/traffic",
               "DELETE /api/models/{name}/traffic", "GET /metrics", "GET /health", "GET /version", "GET /openapi.json", "GET /docs",
               "POST /api/2.0/mlflow/runs/create", "GET /api/2.0/mlflow/registered-models/get", "PUT /api/2.0/mlflow-artifacts/artifacts/{path}"):
        assert op in ops, (op, sorted(ops))
    # /docs groups operations by the document's tag list: an operation whose tag is not listed would never show
    declared = [t["name"] for t in document["tags"]]
    assert len(declared) == len(set(declared)), declared
    ids = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert len(op["tags"]) == 1 and op["tags"][0] in declared, (method, path, op["tags"], declared)
            assert op["summary"], (method, path)
            ids.append(op["operationId"])
            # every {capture} of the template is a required path parameter, and nothing else is
            captured = set(re.findall(r"\{([^}]+)\}", path))
            in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert captured == in_path and all(p["required"] for p in op.get("parameters", []) if p["in"] == "path"), (method, path)
            assert "200" in op["responses"] and "4XX" in op["responses"], (method, path, op["responses"])
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_real_answers_conform_to_the_document(served, document):
    """Generated bodies almost never make a valid tensor or image, so the 200s of infer and upload are checked here:
    real requests, each answer validated by schemathesis against its operation (status, schema) plus its content type."""
    url, schema = served["url"], schemathesis.openapi.from_dict(document)
    x = np.random.default_rng(1).normal(size=(2, *SHAPE)).astype(np.float32)
    infer = {"id": "a", "inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]}
    dicom = sorted((served["workspace"] / "ct").rglob("*.dcm"))[0]
    upload = {"files": (dicom.name, dicom.read_bytes(), "application/dicom")}
    calls = [  # (method, template, concrete path, request kwargs, expected status)
        ("GET", "/v2", "/v2", {}, 200),
        ("GET", "/v2/health/live", "/v2/health/live", {}, 200),
        ("GET", "/v2/health/ready", "/v2/health/ready", {}, 200),
        ("GET", "/v2/models/{name}", f"/v2/models/{MODEL}", {}, 200),
        ("GET", "/v2/models/{name}/versions/{version}", f"/v2/models/{MODEL}/versions/1", {}, 200),
        ("GET", "/v2/models/{name}/ready", f"/v2/models/{MODEL}/ready", {}, 200),
        ("GET", "/v2/models/{name}", "/v2/models/nope", {}, 404),
        ("POST", "/v2/models/{name}/infer", f"/v2/models/{MODEL}/infer", {"json": infer}, 200),
        ("POST", "/v2/models/{name}/versions/{version}/infer", f"/v2/models/{MODEL}/versions/1/infer", {"json": infer}, 200),
        ("POST", "/v2/models/{name}/infer", f"/v2/models/{MODEL}/infer", {"json": {"inputs": []}}, 400),
        ("POST", "/api/predict/{name}", f"/api/predict/{MODEL}", {"files": upload}, 200),
        ("POST", "/api/predict/{name}", f"/api/predict/{MODEL}?filename={dicom.name}",
         {"data": dicom.read_bytes(), "headers": {"Content-Type": "application/octet-stream"}}, 200),
        ("POST", "/api/predict/{name}", "/api/predict/nope", {"files": upload}, 404),
        ("GET", "/api/models", "/api/models", {}, 200),
        ("GET", "/api/models/{name}/traffic", f"/api/models/{MODEL}/traffic", {}, 200),
        ("GET", "/health", "/health", {}, 200),
        ("GET", "/version", "/version", {}, 200),
        ("GET", "/metrics", "/metrics", {}, 200),
        ("GET", "/docs", "/docs", {}, 200),
        ("POST", "/api/2.0/mlflow/experiments/search", "/api/2.0/mlflow/experiments/search", {"json": {}}, 200),
        ("GET", "/api/2.0/mlflow/experiments/get", "/api/2.0/mlflow/experiments/get?experiment_id=424242", {}, 404),
    ]
    problems = []
    for method, template, path, kwargs, status in calls:
        r = requests.request(method, url + path, timeout=60, **kwargs)
        where = f"{method} {path} -> {r.status_code} {r.headers.get('Content-Type')}: {r.text[:300]}"
        if r.status_code != status:
            problems.append(f"{where}\n  expected status {status}")
            continue
        responses = document["paths"][template][method.lower()]["responses"]
        documented = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
        got = r.headers.get("Content-Type", "").split(";")[0].strip()
        if got not in documented.get("content", {}):
            problems.append(f"{where}\n  content type {got!r} is not documented: {sorted(documented.get('content', {}))}")
        try:
            schema[template][method].validate_response(r)
        except Exception as e:  # schemathesis' FailureGroup / AssertionError: the answer is outside the schema
            problems.append(f"{where}\n  {type(e).__name__}: {e}")
    assert not problems, "\n".join(problems)


def test_schemathesis_finds_no_failure(served, document, tmp_path):
    """Every operation (GET /openapi.json too, which schemathesis leaves out unless a filter selects it), MAX_EXAMPLES
    generated cases each in the fuzzing phase plus the coverage phase's, valid and invalid (--mode all), one worker.
    Path parameters `name` and `version` are the served model's (phantom, 1) half of the time, so the model routes
    answer 200s too (metadata, readiness, traffic, reload) and not only 404s; the rest are generated."""
    # Nothing is excluded: the state changes land in this module's own server (see `served` above). PUT/DELETE
    # /api/models/phantom/traffic and POST /api/models/phantom/reload may change or reset the policy, or reload the
    # version its alias names (the same one): neither may cause a 5xx or an answer outside the schema.
    config = tmp_path / "schemathesis.toml"
    config.write_text('[dictionaries.served-model]\nvalues = ["%s"]\n[dictionaries.served-version]\nvalues = ["1"]\n'
                      '[parameters]\n"path.name" = { dictionary = "served-model", probability = 0.5 }\n'
                      '"path.version" = { dictionary = "served-version", probability = 0.5 }\n' % MODEL)
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", served["url"] + "/openapi.json",
               "--include-path-regex", ".", "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
               "--workers", "1", "--generation-database", "none", "--request-timeout", "60", "--no-color",
               "--report", "junit", "--report-junit-path", str(junit)]
    print(f"schemathesis seed {SEED} (set LUMEN_SCHEMATHESIS_SEED to change it); reproduce with:\n  {' '.join(command)}")
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    report, code = run.stdout + run.stderr, run.returncode
    print(f"--- schemathesis report (exit {code}, {time.monotonic() - started:.0f} s, junit: {junit}):\n{report}")
    failures = re.search(r"^=+ FAILURES =+$.*?(?=^=+ [A-Z]+ =+$)", report, re.M | re.S)
    assert code == 0, (f"schemathesis failed (seed {SEED}, exit {code}; its whole report is in the captured stdout):\n"
                                 + (failures.group(0) if failures else report))
    # every operation of the document was run, with no error or failure recorded for it
    cases = ET.parse(junit).getroot().iter("testcase")
    tested = {case.get("name"): [child.tag for child in case if child.tag in ("failure", "error", "skipped")] for case in cases}
    # Schemathesis adds one entry for its stateful phase (sequences of linked calls) when it runs it; it must pass too.
    stateful = {name for name in tested if name == "Stateful tests"}
    assert set(tested) - stateful == operations(document), (sorted(operations(document) - set(tested)), sorted(set(tested) - stateful - operations(document)))
    assert not any(tested.values()), {name: kinds for name, kinds in tested.items() if kinds}

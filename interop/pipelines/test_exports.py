"""`lumen pipeline export` against the engines themselves: the Airflow DAG loaded by Airflow's own DagBag (and run
with dag.test()), the Prefect flow imported and run by Prefect (a temporary local server), the Argo YAML validated
by Argo's models (Hera's classes, generated from Argo's OpenAPI spec) and the name/graph rules of Argo's validate.go
that the spec cannot express. Run by interop/pipelines/run.sh (`make interop-pipelines`) in .venv-pipelines.

Cases: the retrain template; a diamond a→{b,c}→d with retries, timeouts, dashed/dotted names and a quoted shell
step; a pipeline without triggers in a workspace (LUMEN_HOME) with --env; and edge cases: step names that are also
names the generated Python uses (task, flow, timedelta, ENV), step names that become the same identifier (a.b,
a_b, A-B), a cron pipeline whose name is long, a shell step that runs a `.sh` script and uses `${#x}`, and a step
longer than its timeout.
"""
import atexit, os, re, shlex, shutil, subprocess, tempfile, time

import pytest

# `make interop` runs pytest over all of interop/ in .venv-interop, which has none of these engines: there this
# module collects nothing (pytest honours a module's __test__); interop/pipelines/run.sh sets the variable.
__test__ = os.environ.get("LUMEN_INTEROP_PIPELINES") == "1"

LUMEN = os.environ.get("LUMEN_BIN", "lumen")

if __test__:
    # Both engines read their configuration when first imported: private homes, no examples, nothing remote.
    _ROOT = tempfile.mkdtemp(prefix="lumen-pipelines-interop-")
    atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
    DAGS = os.path.join(_ROOT, "dags")  # the dags-folder bundle dag.test() serializes from
    os.makedirs(DAGS)
    os.environ.update({
        "AIRFLOW_HOME": os.path.join(_ROOT, "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": DAGS,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PREFECT_HOME": os.path.join(_ROOT, "prefect"),
        "PREFECT_MEMO_STORE_PATH": os.path.join(_ROOT, "prefect", "memo_store.toml"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    })
    os.environ.pop("PREFECT_API_URL", None)

# ---------------------------------------------------------------------------------------------------- the pipelines

DIAMOND = """\
name: diamond-dag
params:
  log: order.log
triggers:
  - cron: "*/15 * * * *"
steps:
  pre-process.v2:
    shell: echo "pre-process.v2" >> {{log}}
    retries: 2
    retry_delay: 10s
    timeout: 2h
  b_left:
    shell: echo "b_left it's \\"quoted\\" \\$HOME" >> {{log}}
    needs: [pre-process.v2]
    timeout: 90s
  c.right:
    shell: echo 'c.right' >> {{log}}
    needs: [pre-process.v2]
    retries: 3
    retry_delay: 1m
  d-join:
    shell: echo "d-join" >> {{log}}
    needs: [b_left, c.right]
"""
# What the b_left line must read once a shell has run it.
B_LEFT_LINE = "b_left it's \"quoted\" $HOME"

NOTRIG = """\
name: Nightly_Report.v1
steps:
  list:
    lumen: runs --limit 5
  summarize:
    shell: echo done > summary.txt
    needs: [list]
    timeout: 30m
"""

SHADOW = """\
name: shadow
steps:
  task:
    shell: echo task
  flow:
    shell: echo flow
    needs: [task]
  timedelta:
    shell: echo timedelta
    retries: 1
    retry_delay: 5s
  ENV:
    shell: echo ENV
    needs: [timedelta]
    retries: 1
    retry_delay: 5s
"""

COLLIDE = """\
name: collide
steps:
  a.b:
    shell: echo a.b
  a_b:
    shell: echo a_b
    needs: [a.b]
  A-B:
    shell: echo A-B
"""

LONGNAME = """\
name: nightly-retraining-of-the-chest-xray-pneumonia-classifier
triggers:
  - cron: "30 2 * * *"
steps:
  train:
    lumen: runs --limit 1
"""

SCRIPT = """\
name: script-steps
steps:
  prep:
    shell: bash prep.sh
  count:
    shell: x=abcd; echo "len ${#x}" >> out.log
"""

SLOW = """\
name: slow-step
steps:
  hang:
    shell: sleep 6; echo finished >> slow.log
    timeout: 1s
"""

# case → (pipeline text or None for `lumen pipeline init retrain`, made in a workspace, export options, files)
CASES = {
    "retrain": (None, False, [], {"incoming/.keep": "", "exp.yaml": "{}\n"}),
    "diamond": (DIAMOND, False, [], {}),
    "notrig": (NOTRIG, True, ["--env", "FOO=bar"], {}),
    "shadow": (SHADOW, False, [], {}),
    "collide": (COLLIDE, False, [], {}),
    "longname": (LONGNAME, False, [], {}),
    "script": (SCRIPT, False, [], {"prep.sh": "echo script-ran >> out.log\n"}),
    "slow": (SLOW, False, [], {}),
}
STATIC = ["retrain", "diamond", "notrig", "shadow", "collide", "longname"]


def seconds(text):
    """A lumen duration (10s, 1m, 2h, 500ms, 1d) in seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*", str(text))
    assert m, f"unknown duration {text!r}"
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


class Pipeline:
    """A pipeline file written to a fresh folder, read back as the expectations every engine is held to."""

    def __init__(self, case, folder):
        import yaml
        text, workspace, self.options, files = CASES[case]
        self.case = case
        self.folder = os.path.realpath(folder)
        if workspace:
            subprocess.run([LUMEN, "init", self.folder], check=True, capture_output=True)
        self.path = os.path.join(self.folder, "pipeline.yaml")
        if text is None:
            subprocess.run([LUMEN, "pipeline", "init", "retrain", "-o", self.path], check=True, capture_output=True, cwd=self.folder)
        else:
            with open(self.path, "w") as f:
                f.write(text)
        for name, content in files.items():
            os.makedirs(os.path.dirname(os.path.join(self.folder, name)), exist_ok=True)
            with open(os.path.join(self.folder, name), "w") as f:
                f.write(content)
        with open(self.path) as f:
            doc = yaml.safe_load(f)
        self.name = doc["name"]
        self.params = {k: "" if v is None else str(v) for k, v in (doc.get("params") or {}).items()}
        crons = [t["cron"] for t in doc.get("triggers") or [] if isinstance(t, dict) and "cron" in t]
        self.cron = crons[0] if crons else None
        self.workspace = self.folder if workspace else None
        self.env = dict(o.split("=", 1) for o in self.options[1::2])
        self.steps = {}
        for name, s in doc["steps"].items():
            kind = "lumen" if "lumen" in s else "shell"
            self.steps[name] = {
                "kind": kind,
                "command": self.render(s[kind]),
                "needs": set(s.get("needs") or []),
                "retries": int(s.get("retries") or 0),
                "retry_delay": seconds(s["retry_delay"]) if "retry_delay" in s else None,
                "timeout": seconds(s["timeout"]) if "timeout" in s else None,
            }

    def render(self, text):
        return re.sub(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}", lambda m: self.params[m.group(1)], str(text))

    def export(self, engine, out):
        """`lumen pipeline export --to ENGINE`, run from the pipeline's folder; the file written."""
        r = subprocess.run([LUMEN, "pipeline", "export", "--to", engine, self.path, "-o", out, *self.options],
                           capture_output=True, text=True, cwd=self.folder)
        assert r.returncode == 0, f"lumen pipeline export --to {engine} failed: {r.stdout}{r.stderr}"
        return out

    def expected_tokens(self, step):
        """A lumen step's argv as the engine's shell must see it: the lumen binary, then the step's arguments."""
        return [os.path.realpath(LUMEN), *shlex.split(self.steps[step]["command"])]

    def check_command(self, step, line, where):
        """`line` (a shell command line an engine runs for `step`) runs the step's command."""
        s = self.steps[step]
        if s["kind"] == "shell":
            assert line.endswith(s["command"]), f"{where}: {line!r} does not run {s['command']!r}"
        else:
            tokens = shlex.split(line)
            want = self.expected_tokens(step)
            starts = [i for i, t in enumerate(tokens) if os.path.realpath(t) == want[0]]
            assert starts and tokens[starts[0] + 1:] == want[1:], f"{where}: {tokens} does not end with {want}"


@pytest.fixture(params=STATIC)
def pipeline(request, tmp_path):
    return Pipeline(request.param, tmp_path)


# ---------------------------------------------------------------------------------------------------------- Airflow

def dagbag(path):
    try:  # Airflow 3
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    import inspect
    kwargs = {"include_examples": False} if "include_examples" in inspect.signature(DagBag).parameters else {}
    return DagBag(dag_folder=path, **kwargs)


def test_airflow_dagbag(pipeline, tmp_path):
    """Airflow's DagBag loads the DAG: its id, tasks, dependencies, retries and back-off, timeouts, schedule, commands."""
    from datetime import timedelta
    bag = dagbag(pipeline.export("airflow", str(tmp_path / "dag.py")))
    assert bag.import_errors == {}, "Airflow's DagBag rejected the DAG:\n" + "\n".join(bag.import_errors.values())
    assert list(bag.dags) == [pipeline.name]
    dag = bag.dags[pipeline.name]
    assert sorted(dag.task_ids) == sorted(pipeline.steps)
    if pipeline.cron:
        assert dag.schedule == pipeline.cron
        assert getattr(dag.timetable, "_expression", None) == pipeline.cron or pipeline.cron in repr(dag.timetable)
    else:
        assert dag.schedule is None and type(dag.timetable).__name__ == "NullTimetable"
    for name, s in pipeline.steps.items():
        task = dag.get_task(name)
        assert type(task).__name__ == "BashOperator"
        assert set(task.upstream_task_ids) == s["needs"], name
        assert task.retries == s["retries"], name
        if s["retries"]:
            assert task.retry_delay == timedelta(seconds=s["retry_delay"]), name
        assert task.execution_timeout == (timedelta(seconds=s["timeout"]) if s["timeout"] else None), name
        # The command sits in a Jinja raw block (Airflow templates bash_command; a command ending in .sh would be read as a file).
        assert task.bash_command.startswith("{% raw %}") and task.bash_command.endswith("{% endraw %}"), task.bash_command
        folder, _, line = task.bash_command[len("{% raw %}"):-len("{% endraw %}")].partition(" && ")
        assert shlex.split(folder) == ["cd", pipeline.folder]
        pipeline.check_command(name, line, f"Airflow task {name}")
        env = dict(pipeline.env, **({"LUMEN_HOME": pipeline.workspace} if pipeline.workspace else {}))
        assert task.env == env and task.append_env is True, name


def test_airflow_serialized_backoff(tmp_path):
    """What the scheduler sees (the DAG through Airflow's serializer): retries doubling from retry_delay, as in lumen."""
    import json
    from airflow.serialization.serialized_objects import DagSerialization
    p = Pipeline("diamond", tmp_path)
    bag = dagbag(p.export("airflow", str(tmp_path / "dag.py")))
    assert bag.import_errors == {}
    dag = DagSerialization.from_dict(json.loads(json.dumps(DagSerialization.to_dict(bag.dags[p.name]))))
    for name, s in p.steps.items():
        task = dag.get_task(name)
        assert task.retries == s["retries"]
        assert float(task.retry_exponential_backoff) == (2.0 if s["retries"] else 0.0), name
        assert set(task.upstream_task_ids) == s["needs"]


@pytest.fixture(scope="module")
def airflow_db():
    """dag.test() records its run in Airflow's metadata database: a fresh SQLite one."""
    import sys
    r = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def airflow_run(p, tmp_path):
    bag = dagbag(p.export("airflow", os.path.join(DAGS, p.case + ".py")))
    assert bag.import_errors == {}
    start = time.monotonic()
    run = bag.dags[p.name].test()
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}, time.monotonic() - start


def test_airflow_runs_diamond(airflow_db, tmp_path):
    """Airflow runs the diamond: every task succeeds, a before b and c, d last, the quoted line intact."""
    p = Pipeline("diamond", tmp_path)
    run, states, _ = airflow_run(p, tmp_path)
    assert (run.state, states) == ("success", {n: "success" for n in p.steps}), f"run {run.state}, tasks {states}"
    lines = open(tmp_path / "order.log").read().splitlines()
    assert lines[0] == "pre-process.v2" and lines[-1] == "d-join" and sorted(lines[1:3]) == sorted([B_LEFT_LINE, "c.right"])


def test_airflow_runs_script_steps(airflow_db, tmp_path):
    """Airflow runs `bash prep.sh` and a `${#x}` line as written (BashOperator treats bash_command as a Jinja template)."""
    p = Pipeline("script", tmp_path)
    run, states, _ = airflow_run(p, tmp_path)
    assert (run.state, states) == ("success", {"prep": "success", "count": "success"}), f"run {run.state}, tasks {states}"
    assert sorted(open(tmp_path / "out.log").read().splitlines()) == ["len 4", "script-ran"]


def test_airflow_enforces_timeout(airflow_db, tmp_path):
    """A step longer than its timeout is stopped by Airflow: it fails after about 1 s and its command never finishes."""
    p = Pipeline("slow", tmp_path)
    run, states, elapsed = airflow_run(p, tmp_path)
    assert (run.state, states["hang"]) == ("failed", "failed")
    assert elapsed < 5.5, f"the 1 s timeout ended the task after {elapsed:.1f} s"
    time.sleep(max(0.0, 7.5 - elapsed))
    assert not (tmp_path / "slow.log").exists(), "the timed-out command kept running and finished"


# ---------------------------------------------------------------------------------------------------------- Prefect

def load_module(path, name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prefect_flow(p, tmp_path):
    """The generated module, imported as Prefect would; its one flow and its tasks by name."""
    from prefect import Flow, Task
    path = p.export("prefect", str(tmp_path / f"{p.case}_flow.py"))
    module = load_module(path, f"{p.case}_flow")
    flows = [v for v in vars(module).values() if isinstance(v, Flow)]
    assert len(flows) == 1, f"flows in the module: {flows}"
    tasks = {}
    for v in vars(module).values():
        if isinstance(v, Task):
            assert v.name not in tasks, f"two tasks named {v.name}"
            tasks[v.name] = v
    return path, module, flows[0], tasks


def test_prefect_flow(pipeline, tmp_path):
    """The Prefect module imports; the flow's name; each task's name, retries, back-off, timeout, command and waits;
    `__main__` serves on the cron schedule (a valid Prefect CronSchedule) or runs once."""
    import ast
    from prefect.client.schemas.schedules import CronSchedule
    path, module, flow, tasks = prefect_flow(pipeline, tmp_path)
    assert flow.name == pipeline.name
    assert sorted(tasks) == sorted(pipeline.steps)
    assert module.FOLDER == pipeline.folder
    for key, value in dict(pipeline.env, **({"LUMEN_HOME": pipeline.workspace} if pipeline.workspace else {})).items():
        assert module.ENV[key] == value
    for name, s in pipeline.steps.items():
        task = tasks[name]
        assert task.retries == s["retries"], name
        if s["retries"]:
            assert list(task.retry_delay_seconds) == [s["retry_delay"] * 2 ** i for i in range(s["retries"])], name
        assert task.timeout_seconds == s["timeout"], name
        ran, timeouts = [], []
        def fake(command, timeout=None):
            ran.append(command)
            timeouts.append(timeout)
        module._run, real = fake, module._run
        try:
            task.fn()
        finally:
            module._run = real
        assert len(ran) == 1, name
        assert timeouts[0] == s["timeout"], (name, "the command itself gets the step's timeout")
        pipeline.check_command(name, ran[0], f"Prefect task {name}")

    tree = ast.parse(open(path).read())
    # In the flow: NAME_done = TASK.submit(wait_for=[OTHER_done, …]), the waits being the step's needs.
    flow_def = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == flow.fn.__name__)
    done_of, waits = {}, {}
    for node in ast.walk(flow_def):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, "attr", "") == "submit":
            step = getattr(module, node.value.func.value.id).name
            done_of[node.targets[0].id] = step
            wait_for = next(k.value for k in node.value.keywords if k.arg == "wait_for")
            waits[step] = [e.id for e in wait_for.elts]
    assert sorted(waits) == sorted(pipeline.steps)
    for step, ids in waits.items():
        assert {done_of[i] for i in ids} == pipeline.steps[step]["needs"], step
    main = next(n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test))
    serve = [c for c in ast.walk(main) if isinstance(c, ast.Call) and getattr(c.func, "attr", "") == "serve"]
    if pipeline.cron:
        assert len(serve) == 1
        kw = {k.arg: ast.literal_eval(k.value) for k in serve[0].keywords}
        assert kw["cron"] == pipeline.cron
        assert CronSchedule(cron=kw["cron"]).cron == pipeline.cron
    else:
        assert serve == [] and ast.unparse(main.body[0]).strip() == f"{flow.fn.__name__}()"


@pytest.fixture(scope="module")
def prefect_server():
    """A temporary local Prefect server (SQLite, loopback) for the module's flow runs."""
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness():
        yield


def prefect_run(p, tmp_path):
    _, _, flow, _ = prefect_flow(p, tmp_path)
    start = time.monotonic()
    state = flow(return_state=True)
    return state, time.monotonic() - start


def test_prefect_runs_diamond(prefect_server, tmp_path):
    """Prefect runs the diamond flow: completed, a before b and c, d last, the quoted line intact."""
    p = Pipeline("diamond", tmp_path)
    state, _ = prefect_run(p, tmp_path)
    assert state.is_completed(), state
    lines = open(tmp_path / "order.log").read().splitlines()
    assert lines[0] == "pre-process.v2" and lines[-1] == "d-join" and sorted(lines[1:3]) == sorted([B_LEFT_LINE, "c.right"])


def test_prefect_runs_script_steps(prefect_server, tmp_path):
    """Prefect runs `bash prep.sh` and a `${#x}` line as written."""
    p = Pipeline("script", tmp_path)
    state, _ = prefect_run(p, tmp_path)
    assert state.is_completed(), state
    assert sorted(open(tmp_path / "out.log").read().splitlines()) == ["len 4", "script-ran"]


def test_prefect_enforces_timeout(prefect_server, tmp_path):
    """A step longer than its timeout is stopped under Prefect: the run fails after about 1 s, the command never finishes."""
    p = Pipeline("slow", tmp_path)
    state, elapsed = prefect_run(p, tmp_path)
    assert state.is_failed(), state
    assert elapsed < 5.5, f"the 1 s timeout ended the task after {elapsed:.1f} s (state {state})"
    time.sleep(max(0.0, 7.5 - elapsed))
    assert not (tmp_path / "slow.log").exists(), "the timed-out command kept running and finished"


# ------------------------------------------------------------------------------------------------------------- Argo

def argo_doc(p, tmp_path):
    import yaml
    with open(p.export("argo", str(tmp_path / "workflow.yaml"))) as f:
        return yaml.safe_load(f)


def test_argo_schema(pipeline, tmp_path):
    """Argo's own models (Hera, generated from Argo's OpenAPI spec) accept the document, and every field it sets is one
    Argo knows (a field the models do not know is dropped by pydantic, so the round trip must give the document back)."""
    from hera.workflows.models import CronWorkflow, Workflow
    doc = argo_doc(pipeline, tmp_path)
    model = {"Workflow": Workflow, "CronWorkflow": CronWorkflow}[doc["kind"]]
    parsed = model.model_validate(doc)
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == doc


ARGO_FIELD_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")  # workflowFieldNameFmt, argo-workflows validate.go
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def test_argo_structure(pipeline, tmp_path):
    """Kind and schedule; Argo's name rules (validate.go: template and task names [a-zA-Z0-9][-a-zA-Z0-9]*, at most
    128; unique; a CronWorkflow's name at most 52 characters, a DNS-1123 name); the main DAG's tasks with their
    dependencies equal to the needs; each step's container command, retryStrategy with doubling back-off, deadline."""
    doc = argo_doc(pipeline, tmp_path)
    assert doc["apiVersion"] == "argoproj.io/v1alpha1"
    if pipeline.cron:
        assert doc["kind"] == "CronWorkflow"
        spec = doc["spec"]
        assert spec.get("schedules", [spec.get("schedule")]) == [pipeline.cron]
        name = doc["metadata"]["name"]
        assert DNS1123_SUBDOMAIN.match(name), f"metadata.name {name!r} is not a DNS-1123 name"
        assert len(name) <= 52, f"cron workflow name {name!r} must not be more than 52 characters long (currently {len(name)})"
        wf = spec["workflowSpec"]
    else:
        assert doc["kind"] == "Workflow"
        name = doc["metadata"]["generateName"]
        assert DNS1123_SUBDOMAIN.match(name + "x") and len(name) <= 253 - 5, f"generateName {name!r}"
        wf = doc["spec"]
    templates = wf["templates"]
    names = [t["name"] for t in templates]
    assert len(set(names)) == len(names), f"template names must be unique: {names}"
    for n in names:
        assert ARGO_FIELD_NAME.match(n) and len(n) <= 128, f"template name {n!r}"
    by_name = {t["name"]: t for t in templates}
    main = by_name[wf["entrypoint"]]
    tasks = main["dag"]["tasks"]
    task_names = [t["name"] for t in tasks]
    assert len(set(task_names)) == len(task_names), f"DAG task names must be unique: {task_names}"
    for n in task_names:
        assert ARGO_FIELD_NAME.match(n) and len(n) <= 128, f"task name {n!r}"

    # Each step is the one template running its command (names are Argo's, not the step's).
    def command_of(t):
        c = t["container"]
        return (c["command"], c.get("args"))

    template_of = {}
    for step, s in pipeline.steps.items():
        want = (["sh", "-c"], [s["command"]]) if s["kind"] == "shell" else (["lumen", *shlex.split(s["command"])], None)
        found = [t["name"] for t in templates if "container" in t and command_of(t) == want]
        assert len(found) == 1, f"step {step}: templates running {want}: {found}"
        template_of[step] = found[0]
    task_of = {}
    for step, template in template_of.items():
        found = [t for t in tasks if t["template"] == template]
        assert len(found) == 1, f"step {step}: DAG tasks with template {template}: {found}"
        task_of[step] = found[0]
    assert len(tasks) == len(pipeline.steps)
    for step, s in pipeline.steps.items():
        deps = task_of[step].get("dependencies") or []
        assert sorted(deps) == sorted(task_of[n]["name"] for n in s["needs"]), step
        t = by_name[template_of[step]]
        c = t["container"]
        assert c["workingDir"] == "/work" and c["image"] == "lumen:latest"
        assert {e["name"]: e["value"] for e in c.get("env") or []} == pipeline.env
        if s["retries"]:
            r = t["retryStrategy"]
            assert int(r["limit"]) == s["retries"] and r["retryPolicy"] == "Always", step
            assert seconds(r["backoff"]["duration"]) == s["retry_delay"] and int(r["backoff"]["factor"]) == 2, step
        else:
            assert "retryStrategy" not in t, step
        assert t.get("activeDeadlineSeconds") == (int(s["timeout"]) if s["timeout"] else None), step

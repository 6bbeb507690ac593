"""Shared fixtures of the interop suite: a Lumen workspace and a `lumen serve` on a free loopback port."""
import os, socket, subprocess, tempfile, time, urllib.request

import pytest

LUMEN = os.environ.get("LUMEN_BIN", "lumen")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lumen_server():
    workspace = tempfile.mkdtemp(prefix="lumen-interop-")
    subprocess.run([LUMEN, "init", workspace], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([LUMEN, "serve", "--workspace", workspace, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if urllib.request.urlopen(url + "/health", timeout=1).read() == b"OK":
                break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("lumen serve did not start: " + proc.stdout.read().decode())
    yield {"url": url, "workspace": workspace}
    proc.terminate()
    proc.wait(timeout=10)


def pytest_sessionfinish(session, exitstatus):
    """A skipped interop test fails the run: a missing package or an empty case list must never pass silently."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    """Measurements a test recorded with `record_property("measured", text)`, shown after the run (no -s needed)."""
    lines = [value for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
             for name, value in getattr(report, "user_properties", []) if name == "measured"]
    if lines:
        terminalreporter.section("measured")
        for line in lines:
            terminalreporter.write_line(line)

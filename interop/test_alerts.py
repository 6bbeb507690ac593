"""Lumen's alert notifications against real receivers: `lumen alerts check` evaluates the rules of a server config
once and notifies a webhook (an http.server on loopback that records every request), an SMTP server (aiosmtpd, the
reference Python SMTP server, with AUTH LOGIN/PLAIN on a plain connection, fed by the `curl` program) and a command.
A rule on a model with no logged predictions (`requests below 5`) fires at once; the same rule with `below: -1` resolves.
Each channel hears once when an alert fires and once when it resolves, never again for the same episode."""
import email, email.policy, json, os, shutil, subprocess, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import LUMEN, free_port

# AUTH on a plain connection is what this loopback test wants (curl's require_tls: false); aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

PASSWORD = "s3cret-for-interop"
SUMMARY = "[FIRING] quiet on xray: requests = 0 (below 5 fires; critical)"


@pytest.fixture
def webhook():
    """A webhook receiver: every request's method, path, headers and JSON body; /fail answers 500 always."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            seen.append({"method": "POST", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "json": parsed, "raw": body})
            status = 500 if self.path == "/fail" else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "seen": seen}
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def smtp():
    """An SMTP server that requires AUTH (user lumen, the password above, no TLS) and records each message."""
    messages, logins = [], []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                             "message": email.message_from_bytes(envelope.original_content, policy=email.policy.default),
                             "authenticated": session.authenticated,
                             "login": getattr(session.auth_data, "login", None)})
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"lumen" and auth_data.password == PASSWORD.encode()
        logins.append((mechanism, auth_data.login if isinstance(auth_data, LoginPassword) else None, ok))
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    if shutil.which("curl") is None:
        pytest.fail("the curl program (Debian's curl package) is needed: Lumen sends e-mail through it")
    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    yield {"url": f"smtp://127.0.0.1:{port}", "messages": messages, "logins": logins}
    controller.stop()


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    subprocess.run([LUMEN, "init", str(ws)], check=True, capture_output=True)
    return ws


def config(path, webhook_url, smtp_url, below=5, hook_path="/hook", extra_channels="", rule_channels="[hook, mail]"):
    path.write_text(f"""alerts:
  interval: 30s
  channels:
    hook: {{webhook: "{webhook_url}{hook_path}", headers: {{X-Token: abc}}}}
    mail: {{smtp: "{smtp_url}", from: "lumen@hospital.test", to: ["oncall@hospital.test"], user: "lumen", password_env: "LUMEN_SMTP_PASSWORD", require_tls: false}}
{extra_channels}  rules:
    - {{name: quiet, model: xray, metric: requests, window: 1m, below: {below}, for: 0s, severity: critical, channels: {rule_channels}}}
""")
    return path


def lumen(workspace, *args, check=True):
    env = dict(os.environ, LUMEN_SMTP_PASSWORD=PASSWORD)
    proc = subprocess.run([LUMEN, "alerts", *args, "--workspace", str(workspace)], capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def listed(workspace, *flags):
    return json.loads(lumen(workspace, "list", "--json", *flags).stdout)


def fire(workspace, tmp_path, webhook, smtp):
    cfg = config(tmp_path / "server.yaml", webhook["url"], smtp["url"])
    proc = lumen(workspace, "check", "--config", str(cfg))
    assert f"firing: {SUMMARY}" in proc.stdout, (proc.stdout, proc.stderr)
    return cfg


def test_firing_notifies_webhook_and_mail(workspace, tmp_path, webhook, smtp):
    fire(workspace, tmp_path, webhook, smtp)

    assert len(webhook["seen"]) == 1, webhook["seen"]
    hit = webhook["seen"][0]
    assert hit["method"] == "POST" and hit["path"] == "/hook"
    assert hit["headers"]["content-type"].startswith("application/json")
    assert hit["headers"]["x-token"] == "abc"
    body = hit["json"]
    assert body["text"] == SUMMARY
    alert = body["alert"]
    assert {k: alert[k] for k in ("rule", "model", "severity", "state", "metric", "comparison")} == \
        {"rule": "quiet", "model": "xray", "severity": "critical", "state": "firing", "metric": "requests", "comparison": "below"}
    assert alert["value"] == 0 and alert["threshold"] == 5
    assert alert["id"] and alert["started"] and alert["fired"] and "resolved" not in alert
    assert isinstance(alert["evidence"], dict)

    assert len(smtp["messages"]) == 1, smtp["messages"]
    mail = smtp["messages"][0]
    assert mail["from"] == "lumen@hospital.test" and mail["to"] == ["oncall@hospital.test"]
    msg = mail["message"]
    assert "[FIRING] quiet on xray" in msg["Subject"]
    assert msg["From"] == "lumen@hospital.test" and "oncall@hospital.test" in msg["To"]
    assert msg["Date"] and msg["Message-ID"]
    text = msg.get_content()
    assert "rule:" in text and "quiet" in text and "xray" in text and "requests" in text and "evidence:" in text
    # curl authenticated with the user and the password from LUMEN_SMTP_PASSWORD (the server requires it).
    assert mail["authenticated"] and mail["login"] == b"lumen"
    assert any(ok and login == b"lumen" for _, login, ok in smtp["logins"]), smtp["logins"]


def test_second_check_sends_nothing_more(workspace, tmp_path, webhook, smtp):
    cfg = fire(workspace, tmp_path, webhook, smtp)
    proc = lumen(workspace, "check", "--config", str(cfg))
    assert "firing:" not in proc.stdout, proc.stdout
    assert len(webhook["seen"]) == 1 and len(smtp["messages"]) == 1, (webhook["seen"], smtp["messages"])

    alerts = listed(workspace)
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert a["state"] == "firing" and a["rule"] == "quiet" and a["model"] == "xray"
    deliveries = a["deliveries"]
    assert len(deliveries) == 2, deliveries
    assert any(" hook: delivered (firing)" in d for d in deliveries), deliveries
    assert any(" mail: delivered (firing)" in d for d in deliveries), deliveries


def test_resolve_notifies_once_more(workspace, tmp_path, webhook, smtp):
    fire(workspace, tmp_path, webhook, smtp)
    cleared = config(tmp_path / "cleared.yaml", webhook["url"], smtp["url"], below=-1)
    proc = lumen(workspace, "check", "--config", str(cleared))
    assert "resolved: [RESOLVED] quiet on xray" in proc.stdout, (proc.stdout, proc.stderr)

    assert len(webhook["seen"]) == 2 and len(smtp["messages"]) == 2, (webhook["seen"], smtp["messages"])
    resolved = webhook["seen"][1]["json"]
    assert resolved["text"].startswith("[RESOLVED] quiet on xray")
    assert resolved["alert"]["state"] == "resolved" and resolved["alert"]["resolved"] and resolved["alert"]["fired"]
    assert resolved["alert"]["id"] == webhook["seen"][0]["json"]["alert"]["id"]
    assert webhook["seen"][1]["headers"]["x-token"] == "abc"
    assert smtp["messages"][1]["message"]["Subject"].startswith("[RESOLVED]")
    assert smtp["messages"][1]["to"] == ["oncall@hospital.test"]

    # A further check with the cleared rule sends nothing.
    lumen(workspace, "check", "--config", str(cleared))
    assert len(webhook["seen"]) == 2 and len(smtp["messages"]) == 2

    assert "no alert firing" in lumen(workspace, "list").stdout
    everything = listed(workspace, "--all")
    assert len(everything) == 1, everything
    a = everything[0]
    assert a["state"] == "resolved" and a["fired"] and a["resolved"] and a["started"]
    assert a["fired"] <= a["resolved"]
    assert any(" hook: delivered (resolved)" in d for d in a["deliveries"]), a["deliveries"]
    assert any(" mail: delivered (resolved)" in d for d in a["deliveries"]), a["deliveries"]


def test_failing_webhook_is_retried_and_recorded(workspace, tmp_path, webhook, smtp):
    cfg = config(tmp_path / "server.yaml", webhook["url"], smtp["url"], hook_path="/fail", rule_channels="[hook]")
    proc = lumen(workspace, "check", "--config", str(cfg))
    assert f"firing: {SUMMARY}" in proc.stdout, (proc.stdout, proc.stderr)
    assert [h["path"] for h in webhook["seen"]] == ["/fail"] * 3, webhook["seen"]
    assert all(h["method"] == "POST" for h in webhook["seen"])
    assert smtp["messages"] == []

    alerts = listed(workspace)
    assert len(alerts) == 1 and alerts[0]["state"] == "firing", alerts
    deliveries = alerts[0]["deliveries"]
    assert len(deliveries) == 1, deliveries
    assert " hook: failed after 3 attempt(s)" in deliveries[0] and "500" in deliveries[0], deliveries


@pytest.mark.parametrize("bad, named", [
    ("rule_key", "colour"),
    ("channel", "pager"),
])
def test_bad_config_is_refused(workspace, tmp_path, webhook, smtp, bad, named):
    cfg = config(tmp_path / "server.yaml", webhook["url"], smtp["url"])
    text = cfg.read_text()
    if bad == "rule_key":
        text = text.replace("severity: critical,", "severity: critical, colour: red,")
    else:
        text = text.replace("channels: [hook, mail]", "channels: [hook, pager]")
    cfg.write_text(text)
    proc = lumen(workspace, "check", "--config", str(cfg), check=False)
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    assert named in proc.stderr, proc.stderr
    assert webhook["seen"] == [] and smtp["messages"] == []


def test_command_channel_gets_the_alert(workspace, tmp_path, webhook, smtp):
    out = tmp_path / "alert.out"
    channel = f"""    run: {{command: ["sh", "-c", "cat > '{out}.json' && printf '%s' \\"$LUMEN_ALERT_STATE\\" > '{out}.state'"]}}\n"""
    cfg = config(tmp_path / "server.yaml", webhook["url"], smtp["url"], extra_channels=channel, rule_channels="[run]")
    lumen(workspace, "check", "--config", str(cfg))
    alert = json.loads((tmp_path / "alert.out.json").read_text())
    assert alert["state"] == "firing" and alert["rule"] == "quiet" and alert["model"] == "xray" and alert["value"] == 0
    assert (tmp_path / "alert.out.state").read_text() == "firing"

    cleared = config(tmp_path / "cleared.yaml", webhook["url"], smtp["url"], below=-1, extra_channels=channel, rule_channels="[run]")
    lumen(workspace, "check", "--config", str(cleared))
    assert json.loads((tmp_path / "alert.out.json").read_text())["state"] == "resolved"
    assert (tmp_path / "alert.out.state").read_text() == "resolved"
    assert webhook["seen"] == [] and smtp["messages"] == []

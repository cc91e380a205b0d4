"""`netmon token create|list|revoke`, `netmon audit list`, `netmon web hash-password`, and `netmon run` refusing
to serve beyond loopback without authentication (real subprocesses, a real SQLite database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import bcrypt
import pytest

from tests.conftest import free_tcp_port

TIMEOUT = 60


def _netmon(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmon", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "netmon.yaml"
    config.write_text(
        f"database: {{url: 'sqlite:///{tmp_path}/netmon.db'}}\nmqtt: {{enabled: false}}\n"
        "polling: {ping: {interval: 1, timeout: 0.3, count: 1, packet_interval: 0}}\n",
        encoding="utf-8",
    )
    environ = {**os.environ, "NETMON_CONFIG": str(config)}
    assert _netmon("db", "upgrade", env=environ).returncode == 0
    return environ


def test_token_commands_print_the_token_once_and_audit_every_change(env: dict[str, str]) -> None:
    created = _netmon("token", "create", "--name", "grafana", "--scope", "read", "--expires", "90d", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("nmt_")
    assert "shown only this once" in created.stderr
    listed = _netmon("token", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["scope"], r["valid"]) for r in rows] == [("grafana", "read", True)]
    assert rows[0]["expires_at"] is not None
    revoked = _netmon("token", "revoke", "grafana", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(_netmon("token", "list", "--json", env=env).stdout)[0]["valid"] is False
    audit = _netmon("audit", "list", "--json", env=env)
    assert audit.returncode == 0, audit.stderr
    entries = json.loads(audit.stdout)
    assert [(e["action"], e["target"], e["source"]) for e in entries] == [
        ("token.revoke", "token:grafana", "local"),
        ("token.create", "token:grafana", "local"),
    ]
    assert all(e["actor"].startswith("cli:") for e in entries)
    # one human line each, naming its audit entry; no JSON log line besides it
    assert created.stderr.count("\n") == 1
    assert f"(audit entry {entries[1]['id']})" in created.stderr
    assert revoked.stderr == f"netmon: token 'grafana' revoked (audit entry {entries[0]['id']})\n"
    everything = (
        "".join(p.stdout + p.stderr for p in (listed, revoked, audit, _netmon("audit", "list", env=env)))
        + created.stderr
    )
    assert token not in everything


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["token", "create", "--name", "x", "--scope", "admin"], "--scope", id="bad-scope"),
        pytest.param(["token", "create", "--name", "x y", "--scope", "read"], "--name", id="bad-name"),
        pytest.param(["token", "create", "--name", "x", "--scope", "read", "--expires", "1y"], "--expires",
                     id="bad-expiry"),
        pytest.param(["token", "revoke", "nobody"], "no token named 'nobody'", id="unknown-token"),
        pytest.param(["audit", "list", "--since", "yesterday"], "--since", id="bad-since"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(env: dict[str, str], args: list[str], message: str) -> None:
    done = _netmon(*args, env=env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_hash_password_reads_stdin_and_prints_a_bcrypt_hash(env: dict[str, str]) -> None:
    done = _netmon("web", "hash-password", "--cost", "4", env=env, stdin="đúng mật khẩu\n")
    assert done.returncode == 0, done.stderr
    hashed = done.stdout.strip()
    assert bcrypt.checkpw("đúng mật khẩu".encode(), hashed.encode())
    assert "đúng mật khẩu" not in done.stdout + done.stderr
    assert _netmon("web", "hash-password", env=env, stdin="\n").returncode == 2


def test_run_refuses_to_serve_beyond_loopback_without_auth(env: dict[str, str]) -> None:
    port = free_tcp_port()
    mqtt = {"NETMON_MQTT__ENABLED": "true", "NETMON_MQTT__TOPIC_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}
    refused = _netmon("run", "--duration", "1", env={**env, **mqtt, "NETMON_HTTP__LISTEN": f"0.0.0.0:{port}"})
    assert refused.returncode == 2, refused.stderr
    assert "beyond loopback" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "mqtt" not in refused.stdout + refused.stderr  # refused before the broker was connected to
    # check-config refuses it too: it said "config OK" to what run refused (found by a newcomer run)
    checked = _netmon("check-config", env={**env, "NETMON_HTTP__LISTEN": f"0.0.0.0:{port}"})
    assert checked.returncode == 2, checked.stdout
    assert "http.listen" in checked.stderr
    assert "beyond loopback" in checked.stderr
    allowed = {**env, "NETMON_HTTP__LISTEN": f"0.0.0.0:{port}", "NETMON_HTTP__ALLOW_INSECURE": "true"}
    assert _netmon("check-config", env=allowed).returncode == 0


def test_run_with_allow_insecure_warns_loudly(env: dict[str, str]) -> None:
    port = free_tcp_port()
    insecure = {**env, "NETMON_HTTP__LISTEN": f"0.0.0.0:{port}", "NETMON_HTTP__ALLOW_INSECURE": "true"}
    done = _netmon("run", "--duration", "1", env=insecure)
    assert done.returncode == 0, done.stderr
    assert "INSECURE" in done.stdout + done.stderr


def test_run_takes_the_web_config_file_option(env: dict[str, str], tmp_path: Path) -> None:
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users:\n  p: not-a-hash\n", encoding="utf-8")
    done = _netmon("run", "--duration", "1", "--web.config.file", str(web), env=env)
    assert done.returncode == 2, done.stderr
    assert f"{web}:2: basic_auth_users.p" in done.stderr

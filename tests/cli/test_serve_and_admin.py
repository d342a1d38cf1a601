"""``lendcore admin create-user`` bootstraps staff; ``lendcore serve`` runs the API on the configured
database (a real process on a loopback port), migrating it first unless told not to."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from lendcore.auth.staff import authenticate_staff
from lendcore.cli.main import app
from lendcore.store.audit import audit_trail
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models_api import StaffUser
from lendcore.store.types import utc_now

runner = CliRunner()
WAIT = 90


def _check_login(url: str, username: str, password: str) -> StaffUser:
    engine = create_engine(url)
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            return authenticate_staff(session, username=username, password=password, now=utc_now())
    finally:
        engine.dispose()


def test_create_user_reads_the_password_from_stdin(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    result = runner.invoke(
        app,
        [
            *("admin", "create-user", "--username", "Ops.Li", "--role", "operator", "--role", "finance"),
            "--json",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["username"] == "ops.li" and created["roles"] == ["operator", "finance"]
    assert "password" not in created
    user = _check_login(database_url, "ops.li", "a long enough password")
    assert user.id == created["id"]
    engine = create_engine(database_url)
    with unit_of_work(create_session_factory(engine), read_only=True) as session:
        [record] = audit_trail(session, "staff_user", user.id)
        assert record.action == "staff_user.created" and record.actor == "cli:admin"
        assert "a long enough password" not in json.dumps(record.details)
        assert not session.scalars(select(StaffUser.password_hash)).one().startswith("a long")
    engine.dispose()


def test_create_user_without_stdin_generates_a_password_and_shows_it_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    result = runner.invoke(app, ["admin", "create-user", "--username", "root", "--role", "admin"])
    assert result.exit_code == 0, result.output
    password = result.stdout.split("password (shown once): ")[1].strip()
    assert len(password) >= 20
    assert _check_login(database_url, "root", password).roles == ["admin"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(env: dict[str, str], *args: str) -> Iterator[str]:
    """``lendcore serve`` in a process; yields its URL once uvicorn says it is accepting connections
    (read from its log on stderr), and stops it afterwards."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from lendcore.cli.main import main; main()",
            "serve",
            "--port",
            str(port),
            *args,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr
    threading.Thread(target=lambda: [lines.put(line) for line in stderr], daemon=True).start()
    seen = []
    try:
        while True:
            line = lines.get(timeout=WAIT)
            seen.append(line)
            if "Application startup complete" in line:
                break
            assert process.poll() is None, "".join(seen)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDCORE_")}
    return env | {"LENDCORE_DATABASE_URL": url, "HOME": str(tmp_path)}


def test_serve_migrates_then_serves_and_a_bootstrapped_admin_signs_in(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        served(_env(empty_database_url, tmp_path)) as url,
        httpx.Client(base_url=url, timeout=WAIT) as client,
    ):
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        monkeypatch.setenv("LENDCORE_DATABASE_URL", empty_database_url)
        created = runner.invoke(
            app,
            ["admin", "create-user", "--username", "root", "--role", "admin", "--password-stdin"],
            input="the administrator's password\n",
        )
        assert created.exit_code == 0, created.output
        login = client.post(
            "/api/v1/auth/staff/login", json={"username": "root", "password": "the administrator's password"}
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        users = client.get("/api/v1/staff-users", headers={"Authorization": f"Bearer {token}"}).json()
        assert [u["username"] for u in users["items"]] == ["root"]
        assert client.get("/docs").status_code == 200
        assert "lendcore_http_request_duration_seconds" in client.get("/metrics").text


def test_serve_no_migrate_leaves_the_schema_and_is_not_ready(empty_database_url: str, tmp_path: Path) -> None:
    with served(_env(empty_database_url, tmp_path), "--no-migrate") as url:
        response = httpx.get(f"{url}/readyz", timeout=WAIT)
        assert response.status_code == 503 and response.json()["code"] == "SCHEMA_NOT_AT_HEAD"

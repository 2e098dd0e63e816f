"""Scale-out for real: a Prefect server backed by PostgreSQL (its own database), a process work pool,
the deployments from prefect.yaml, and a worker, all on loopback. A small round is advanced by
`prefect deployment run`; the test checks the result in ipfund's database and stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import PG_URL, ROOT, _pg_admin_url
from tests.support import applicants_and_applications, staff_and_plan

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="Prefect's own database is PostgreSQL when scaled out")]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, seconds: int) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_worker_advances_a_round_through_the_deployment(db: Any, tmp_path: Path) -> None:
    import psycopg

    staff_and_plan(db.engine)
    applicants_and_applications(db.engine, n_apps=8)
    admin_url, base = _pg_admin_url(PG_URL or "")
    prefect_db = f"{base}_prefect"
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{prefect_db}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{prefect_db}"')
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "IPFUND_DATABASE_URL": db.url,
           "IPFUND_NOW": "2021-03-01T01:00:00Z",
           "PREFECT_API_DATABASE_CONNECTION_URL":
               libpq.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{prefect_db}"}
    logs = tmp_path / "logs"
    logs.mkdir()
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=(logs / "server.log").open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    worker = None
    try:
        _wait(f"{api}/health", 120)

        def prefect(*args: str, timeout: int = 180) -> str:
            r = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                               timeout=timeout)
            assert r.returncode == 0, f"prefect {' '.join(args)}:\n{r.stdout}\n{r.stderr}"
            return r.stdout

        prefect("work-pool", "create", "ipfund-pool", "--type", "process")
        prefect("--no-prompt", "deploy", "--all")
        worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "ipfund-pool"], env=env,
                                  cwd=ROOT, stdout=(logs / "worker.log").open("wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        out = prefect("deployment", "run", "advance/advance-certification-award", "--param", "chunk=3", "--watch",
                      "--watch-timeout", "240", timeout=300)
        assert "Completed" in out or "COMPLETED" in out, out
        with db.engine.connect() as c:
            statuses = dict(c.execute(text("SELECT status, COUNT(*) FROM application GROUP BY status")).all())
        assert statuses == {"formal_review": 8}, statuses
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)

"""A rendered project's worker outlives a real PostgreSQL restart.

The project's own integration tests cut its database connections with a proxy (its CI
has no PostgreSQL of its own to restart). This starts a private server on another
port, restarts it for real while a worker of a rendered project uses it, and removes it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import free_port, run
from tooling.services import redis_database

# The newest server installed (/usr/lib/postgresql/<major>/bin).
POSTGRESQL_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda d: int(d.parent.name))
BATCH = 50
WORKER_OPTIONS = ["--loglevel=INFO", "--concurrency=1", "--without-gossip", "--without-mingle"]
WORKER_OPTIONS += ["--include=tests.integration.tasks"]

# Runs in the project's virtualenv: sends `argv[1]` database tasks, prints each outcome.
SEND = """
import json, sys
import django
django.setup()
from my_project.celery import app
from tests.integration.tasks import process_and_database_session
results = [process_and_database_session.delay() for _ in range(int(sys.argv[1]))]
outcomes = []
for result in results:
    try:
        outcomes.append(result.get(timeout=60))
    except Exception as error:
        outcomes.append(repr(error))
print(json.dumps(outcomes))
"""


class PrivatePostgreSQL:
    """A PostgreSQL server of its own, in a directory of its own, on a free port."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="private-postgresql-"))
        shutil.chown(self.directory, "postgres")
        self.port = free_port()

    def as_postgres(self, program: str, *arguments: str | Path, check: bool = True) -> None:
        """Run a server program as postgres: initdb refuses root."""
        command = ["runuser", "-u", "postgres", "--", POSTGRESQL_BIN / program, *arguments]
        run(command, cwd=self.directory, check=check)

    def pg_ctl(self, action: str, *arguments: str, check: bool = True) -> None:
        # The server's output goes to a file: to a pipe, it would keep run() waiting.
        data, log = self.directory / "data", self.directory / "log"
        self.as_postgres("pg_ctl", action, "-w", "-D", data, "-l", log, *arguments, check=check)


@contextmanager
def private_postgresql() -> Iterator[PrivatePostgreSQL]:
    """Start a private server; yield it; stop it and remove its files."""
    server = PrivatePostgreSQL()
    try:
        server.as_postgres("initdb", "-D", server.directory / "data", "-U", "postgres", "-N")
        options = f"-p {server.port} -k {server.directory} -c listen_addresses=127.0.0.1"
        server.pg_ctl("start", "-o", options + " -c fsync=off")
        yield server
    finally:
        server.pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(server.directory)


def send(python: Path, project: Path, count: int, environment: dict[str, str]) -> list:
    completed = run([python, "-c", SEND, str(count)], cwd=project, env=environment)
    return json.loads(completed.stdout)


def test_a_worker_outlives_a_real_postgresql_restart(bake, project_python, tmp_path) -> None:
    project = bake(broker="redis", result_backend="redis", scheduler="database")
    python = project_python(project)
    log = tmp_path / "worker.log"
    with private_postgresql() as server, redis_database() as broker:
        environment = {
            "DJANGO_SETTINGS_MODULE": "my_project.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{server.port}/postgres",
            "CELERY_BROKER_URL": broker,
        }
        worker = subprocess.Popen(
            [python, "-m", "celery", "-A", "my_project", "worker", *WORKER_OPTIONS],
            cwd=project,
            env={**os.environ, **environment},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(log, r" ready\.", worker)
            [(process, session)] = send(python, project, 1, environment)

            server.pg_ctl("restart", "-m", "fast")  # What a minor upgrade does.
            outcomes = send(python, project, BATCH, environment)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)  # Its pool process too.
            worker.wait(timeout=30)

    succeeded = [outcome for outcome in outcomes if isinstance(outcome, list)]
    print(
        f"sent {BATCH}, succeeded {len(succeeded)}, failed {BATCH - len(succeeded)}, "
        f"first {outcomes[0]}, pool processes {sorted({p for p, _ in succeeded})}, "
        f"sessions before {session}, after {sorted({s for _, s in succeeded})}"
    )
    assert outcomes == [[process, succeeded[0][1]]] * BATCH, log.read_text()[-3000:]
    assert succeeded[0][1] != session


def wait_for(log: Path, pattern: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, log.read_text(errors="replace")):
            return
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in the worker's log:\n{log.read_text()[-3000:]}")

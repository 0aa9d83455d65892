"""The broker killed (SIGKILL) and restarted mid-batch loses no task it accepted.

Not a test of the template's own suite: tests/test_durable_brokers.py copies it into a
rendered project as tests/integration/test_broker_crash.py, where it runs with that
project's fixtures and counting helpers, and sets CELERY_BROKER_URL to a free port. This
module starts a broker of its own there (redis-server with its append-only file, or a
RabbitMQ node of its own), kills it and starts it again; the shared one is never touched.
Rendered projects do not get it: their CI runs the broker as a service it cannot kill.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection

from . import test_worker_stops
from .conftest import TIMEOUT
from .tasks import RUNS_TABLE, record_run
from .test_worker_stops import counted, database_clock, wait_for

runs = test_worker_stops.runs  # The fixture: a table of the tasks that ran to their end.

BATCH = 500
PORT = urllib.parse.urlsplit(settings.CELERY_BROKER_URL).port


class PrivateBroker:
    """A broker process of this test's own, in `directory`, listening on PORT."""

    def __init__(self, directory: Path, consumer_timeout_ms: int) -> None:
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.kind = settings.CELERY_BROKER_URL.split(":")[0]
        self.consumer_timeout_ms = consumer_timeout_ms

    def command(self) -> tuple[list[str], dict[str, str]]:
        if self.kind == "redis":
            # appendfsync stays at Redis's default, everysec, as in compose.yaml.
            arguments = ["--port", str(PORT), "--bind", "127.0.0.1", "--save", ""]
            arguments += ["--appendonly", "yes", "--dir", str(self.directory)]
            return ["redis-server", *arguments], {"PATH": os.environ["PATH"]}
        # The node's own name, ports, data, logs, configuration and no plugins (so no
        # management listener); the environment file of the machine's node is not read.
        for name in ("enabled_plugins", "rabbitmq-env.conf"):
            (self.directory / name).touch()
        (self.directory / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{PORT}\n")
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.directory),
            "RABBITMQ_NODENAME": f"durability-{PORT}@localhost",
            "RABBITMQ_NODE_PORT": str(PORT),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.directory / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.directory / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.directory / "rabbitmq-env.conf"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            # A short consumer_timeout, checked every second instead of every minute.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                f"-rabbit consumer_timeout {self.consumer_timeout_ms} "
                "-rabbit channel_tick_interval 1000"
            ),
        }
        # The server script itself: the packaged wrapper would switch to the rabbitmq user.
        server = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
        return [str(server if server.exists() else "rabbitmq-server")], environment

    def start(self) -> float:
        """Start it; the seconds until it accepts a broker connection."""
        started = time.monotonic()
        command, environment = self.command()
        self.process = subprocess.Popen(
            command,
            env=environment,
            cwd=self.directory,
            stdout=(self.directory / "server.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = started + TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.directory / "server.log").read_text()
            try:
                with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as connection:
                    connection.ensure_connection(max_retries=1)
                    connection.default_channel  # noqa: B018 -- Redis: not LOADING any more.
                return time.monotonic() - started
            except Exception:  # Not up yet: refused, reset, loading.
                time.sleep(0.1)
        raise AssertionError(f"no broker on port {PORT} after {TIMEOUT} s")

    def kill(self) -> None:
        """SIGKILL it whole, as the OOM killer or a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=TIMEOUT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def private_broker(tmp_path_factory) -> Iterator[PrivateBroker]:
    """Started before the session's workers (autouse fixtures come first in their scope)."""
    directory = tmp_path_factory.mktemp("broker")
    broker = PrivateBroker(directory, consumer_timeout_ms=3000)
    broker.start()
    yield broker
    broker.kill()
    shutil.rmtree(directory, ignore_errors=True)


class Producer(threading.Thread):
    """Sends BATCH tasks at a steady pace, as a web process would, through a broker crash.

    A send that fails after Celery's own publish retries is sent again by this caller,
    with the same id, and counted: that is what the caller of apply_async sees.
    """

    def __init__(self, prefix: str, pause: float) -> None:
        super().__init__(daemon=True)
        self.prefix, self.pause = prefix, pause
        self.sent: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        for token in (f"{self.prefix}-{n}" for n in range(BATCH)):
            while True:
                try:
                    record_run.apply_async((token, 0.01), queue="crash", task_id=token)
                    break
                except Exception as error:  # What apply_async raises when the broker is away.
                    self.errors.append(f"{type(error).__name__}: {error}")
                    time.sleep(0.2)
            self.sent.append(token)
            time.sleep(self.pause)


def ended_after(moment: float) -> tuple[float, float]:
    """Seconds from `moment` to the first and to the last task that ended after it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT extract(epoch FROM min(ended)) - %s, extract(epoch FROM max(ended)) - %s "
            f"FROM {RUNS_TABLE} WHERE ended > to_timestamp(%s)",
            [moment, moment, moment],
        )
        first, last = cursor.fetchone()
    return float(first), float(last)


def test_a_broker_killed_mid_batch_loses_no_task(private_broker, start_worker, runs) -> None:
    # Tasks a worker had taken when the broker died come back as from a killed worker
    # (test_worker_stops.py): RabbitMQ hands them out again once the connection is gone;
    # Redis keeps them aside until the visibility timeout has passed (5 s here, 2 hours
    # by default) and a worker sweeps for them, when it starts and about every 100 s. A
    # replacement starts after the timeout, as there, so the test does not wait 100 s.
    visibility_timeout = 5
    environment = {"CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout)}
    workers = [start_worker(f"crash-{n}", queue="crash", **environment) for n in (1, 2)]
    producer = Producer("crash", pause=0.01)
    producer.start()
    wait_for(runs, BATCH // 4)

    private_broker.kill()
    killed_at = database_clock()
    done_before = len(set(runs()))
    time.sleep(1)  # Down for a moment, as while a supervisor restarts it.
    private_broker.start()
    down_for = database_clock() - killed_at
    producer.join(timeout=TIMEOUT)
    assert not producer.is_alive()
    deadline = time.monotonic() + TIMEOUT
    replaced = False
    while len(set(runs())) < BATCH and time.monotonic() < deadline:
        late = database_clock() > killed_at + visibility_timeout
        if private_broker.kind == "redis" and not replaced and late:
            workers.append(start_worker("crash-replacement", queue="crash", **environment))
            replaced = True
        time.sleep(0.2)
    for worker in workers:
        worker.stop()

    counts = counted(producer.sent, runs())
    first, last = ended_after(killed_at)
    print(
        f"{private_broker.kind}: {done_before} done before the kill; broker down "
        f"{down_for:.1f} s; first task done {first:.1f} s after the kill, the last "
        f"{last:.1f} s after it{' (a replacement worker swept)' if replaced else ''}; the "
        f"producer saw {len(producer.errors)} error(s) and sent those tasks again"
        + (f", e.g. {producer.errors[0]}" if producer.errors else "")
    )
    # Redis: kombu's transport takes a message off the queue (BRPOP) and records it as
    # unacknowledged in a second command; a broker killed between the two loses that one
    # message, at most one per worker. Seen: 1 of 500 in one CI run, 0 in five others.
    may_lose = len(workers) if private_broker.kind == "redis" else 0
    assert counts["lost"] <= may_lose
    assert counts["completed"] >= BATCH - may_lose
    # At least once, not exactly once: a task that had ended but was not acknowledged yet
    # (one per worker), and a task whose send failed after RabbitMQ took it, run again.
    assert counts["duplicated"] <= len(workers) + len(producer.errors)


def test_a_countdown_beyond_the_consumer_timeout_runs_once(
    private_broker, start_worker, runs
) -> None:
    # RabbitMQ only (Redis refuses such a countdown: BROKER_LONGEST_COUNTDOWN). The private
    # node's consumer_timeout is 3 s: a classic queue's worker would hold this task,
    # unacknowledged, for 8 s, and RabbitMQ would close its channel and deliver it again.
    # A quorum queue keeps it in RabbitMQ (celery_delayed_* queues) until it is due.
    worker = start_worker("countdown", queue="countdown")
    sent_at = database_clock()
    result = record_run.apply_async(("later", 0), countdown=8, queue="countdown")
    worker.wait_for_log(rf"\[{result.id}\] received")
    received_at = database_clock()
    time.sleep(4)  # Past the consumer_timeout of anything the worker still held.
    worker.stop()

    print(
        f"countdown 8 s: the worker received it {received_at - sent_at:.1f} s after it was "
        f"sent; it ran {len(runs())} time(s)"
    )
    assert received_at - sent_at > 7
    assert runs() == ["later"]
    assert "PRECONDITION_FAILED" not in worker.log()

"""The health probes against real workers and beat: each passes while its process is
healthy and fails once it is stopped; worker-alive does not depend on the broker."""

import os
import signal
import tempfile
import threading
import time
import urllib.parse

from django.conf import settings

from infrastructure.tests.probe import probe

from .conftest import CeleryProcess, OutageProxy, with_address

# The workers here refresh their liveness file every second (5 s by default), so the
# tests that wait for it to go stale stay short.
REFRESH_INTERVAL = 1.0
FAST_REFRESH = {"CELERY_LIVENESS_INTERVAL": str(REFRESH_INTERVAL)}


def test_worker_probes_pass_while_it_runs_and_fail_once_it_stops(start_worker, tmp_path) -> None:
    liveness = {"CELERY_LIVENESS_DIR": str(tmp_path), **FAST_REFRESH}
    worker = start_worker("health", queue="health", **liveness)
    node = ["--node", "health@%h"]

    assert probe("worker-alive", "worker-ready", *node, **liveness).returncode == 0

    worker.stop()

    alive = probe("worker-alive", *node, **liveness)
    assert alive.returncode == 1
    assert "does not exist: no worker named health@" in alive.stderr
    ready = probe("worker-ready", *node, "--timeout", "2")
    assert ready.returncode == 1
    assert "did not answer a ping within 2 s" in ready.stderr


def test_worker_alive_finds_the_worker_with_no_directory_set_and_no_other_projects(
    start_celery, monkeypatch
) -> None:
    monkeypatch.delenv("CELERY_LIVENESS_DIR", raising=False)  # Worker and probe: the default.
    name = f"default-{os.getpid()}@%h"  # Other test runs on this host share the default directory.

    def start(log: str, **environment: str) -> CeleryProcess:
        worker = start_celery(
            "worker",
            "--loglevel=INFO",
            "--concurrency=1",
            "--without-mingle",
            f"--hostname={name}",
            "--queues=default-directory",
            name=log,
            **environment,
        )
        worker.wait_for_log(r" ready\.")
        return worker

    # Another project's worker of the same name, with its file in the temp directory, which
    # every project shared before each had a directory of its own.
    other = start("other-project", CELERY_LIVENESS_DIR=tempfile.gettempdir())
    other_project = probe("worker-alive", "--node", name)
    other.stop()
    worker = start("default-directory")
    alive = probe("worker-alive", "--node", name)
    worker.stop()
    stopped = probe("worker-alive", "--node", name)

    assert other_project.returncode == 1
    assert "does not exist" in other_project.stderr
    assert alive.returncode == 0, alive.stderr
    assert stopped.returncode == 1


def test_worker_alive_fails_while_the_worker_is_frozen(start_worker, tmp_path) -> None:
    liveness = {"CELERY_LIVENESS_DIR": str(tmp_path), **FAST_REFRESH}
    worker = start_worker("frozen", queue="frozen", **liveness)
    node_and_limit = ["--node", "frozen@%h", "--max-age", str(REFRESH_INTERVAL + 1)]

    os.killpg(worker.process.pid, signal.SIGSTOP)  # As a hung machine or a stuck process.
    try:
        time.sleep(REFRESH_INTERVAL + 2)
        frozen = probe("worker-alive", *node_and_limit, **liveness)
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)
    time.sleep(1)  # The refreshing thread runs again at once.
    thawed = probe("worker-alive", *node_and_limit, **liveness)
    worker.stop()

    assert frozen.returncode == 1
    assert "is gone or frozen" in frozen.stderr
    assert thawed.returncode == 0, thawed.stderr


def test_worker_alive_passes_through_a_broker_outage_that_worker_ready_reports(
    start_worker, tmp_path
) -> None:
    broker = urllib.parse.urlsplit(settings.CELERY_BROKER_URL)
    proxy = OutageProxy((broker.hostname, broker.port or {{ 6379 if cookiecutter.broker == "redis" else 5672 }}))
    liveness = {"CELERY_LIVENESS_DIR": str(tmp_path), **FAST_REFRESH}
    worker = start_worker(
        "cut-off",
        queue="cut-off",
        CELERY_BROKER_URL=with_address(settings.CELERY_BROKER_URL, "127.0.0.1", proxy.port),
        **liveness,
    )
    node = ["--node", "cut-off@%h"]
    # Longer than the limit below, so a pass proves the file was refreshed during the
    # outage, and long enough that both probes below run before it ends, even under load.
    outage = threading.Thread(target=proxy.outage, args=(15,))

    outage.start()
    worker.wait_for_log(r"Connection to broker lost")
    time.sleep(2 * REFRESH_INTERVAL)
    alive = probe("worker-alive", *node, "--max-age", str(REFRESH_INTERVAL + 1), **liveness)
    ready = probe("worker-ready", *node, "--timeout", "2")
    outage.join()
    worker.wait_for_log(r"(?s)Connected to.*Connected to")
    # Reconnected, the worker declares its remote-control queue again before it can
    # answer; a readiness probe repeats, as Kubernetes and Docker do.
    for _ in range(10):
        ready_again = probe("worker-ready", *node)
        if ready_again.returncode == 0:
            break
    worker.stop()

    assert alive.returncode == 0, alive.stderr
    assert ready.returncode == 1
    assert ready_again.returncode == 0, ready_again.stderr


def test_beat_alive_passes_while_beat_runs_and_fails_once_it_stops(start_celery, tmp_path) -> None:
    beat = start_celery(
        "beat",
        "--loglevel=INFO",
        "--hostname=beat-health@%h",
        name="beat-health",
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "celerybeat-schedule"),
    )
    beat.wait_for_log(r"beat pidbox: Connected to")
    node = ["--node", "beat-health@%h"]

    assert probe("beat-alive", *node).returncode == 0

    beat.stop()

    stopped = probe("beat-alive", *node, "--timeout", "2")
    assert stopped.returncode == 1
    assert "beat-health@" in stopped.stderr

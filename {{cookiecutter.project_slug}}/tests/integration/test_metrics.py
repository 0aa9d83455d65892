"""/metrics over HTTP from gunicorn, as Prometheus scrapes it: the broker's real queue lengths.

Tasks go to a queue no worker reads, so they stay there to be counted.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.project_slug }}.celery import app

from .conftest import STOP_TIMEOUT, TIMEOUT
from .tasks import record_run

TOKEN = "a-token-for-the-integration-tests"
WAITING = 7  # Tasks sent to the queue that no worker reads.


class Web:
    """gunicorn serving the project on a free port of 127.0.0.1, as the image's CMD runs it."""

    def __init__(self, log_path: Path, **environment: str) -> None:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{free.getsockname()[1]}"
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "{{ cookiecutter.project_slug }}.wsgi"],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project_slug }}.settings.test",
                "GUNICORN_CMD_ARGS": f"--bind={self.url.removeprefix('http://')} --workers=1",
                **environment,
            },
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_until_it_answers()

    def wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/health/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer:\n{self.log_path.read_text()[-3000:]}")

    def get(self, path: str, token: str | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def queues() -> Iterator[tuple[str, str]]:
    """Names of two queues of this run only: one to fill, removed after; one never used."""
    run = uuid.uuid4().hex[:8]
    full, empty = f"metrics-full-{run}", f"metrics-empty-{run}"
    yield full, empty
    with app.connection_for_write() as connection:
        # Purged first: Redis's queue_delete leaves the messages.
        connection.default_channel.queue_purge(full)
        connection.default_channel.queue_delete(full)


def test_prometheus_reads_each_queues_length_from_the_broker(queues, tmp_path) -> None:
    full, empty = queues
    for number in range(WAITING):
        record_run.apply_async((f"metrics-{number}",), queue=full)
    # Reported because METRICS_QUEUES names them: apply_async(queue=...) is not in settings.
    web = Web(tmp_path / "gunicorn.log", METRICS_TOKEN=TOKEN, METRICS_QUEUES=f"{full},{empty}")
    try:
        refused, _ = web.get("/metrics")
        status, page = web.get("/metrics", token=TOKEN)
    finally:
        web.stop()

    assert refused == 401
    assert status == 200, page
    samples = {
        (sample.name, sample.labels.get("queue")): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }
    assert samples[("celery_broker_up", None)] == 1
    assert samples[("celery_queue_length", full)] == WAITING
    assert samples[("celery_queue_length", empty)] == 0
    # The queues settings route to, without being named: how full they are depends on
    # the other tests' workers.
    assert {"celery", "slow"} <= {queue for name, queue in samples if name == "celery_queue_length"}

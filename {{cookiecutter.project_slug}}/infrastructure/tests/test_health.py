"""The web health endpoint, and the worker-alive and standby beat probes, which need no broker."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
from celery.beat import beat_nodename
from celery.utils import nodenames
from celery.utils.nodenames import default_nodename, host_format
from django.conf import settings

from infrastructure import liveness
from infrastructure.health import node_name
from infrastructure.liveness import liveness_directory, liveness_file, standby_file
from infrastructure.tests.probe import probe


def test_health_answers_plain_http_to_any_host_before_the_https_redirect(client, settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["example.com"]

    # A probe speaks plain HTTP to the container's address, which ALLOWED_HOSTS lacks.
    health = client.get("/health/", HTTP_HOST="10.0.0.7:8000")
    page = client.get("/admin/", HTTP_HOST="example.com")

    assert (health.status_code, health.content) == (200, b"ok")
    assert (page.status_code, page["Location"]) == (301, "https://example.com/admin/")


def test_web_alive_passes_while_the_server_answers(live_server) -> None:
    port = urllib.parse.urlsplit(live_server.url).port

    completed = probe("web-alive", PORT=str(port))

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "web-alive: ok\n"


def test_web_alive_fails_when_no_server_listens() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    completed = probe("web-alive", PORT=str(port))

    assert completed.returncode == 1
    assert f"http://127.0.0.1:{port}/health/ did not answer" in completed.stderr


def test_worker_alive_passes_only_while_the_liveness_file_is_fresh(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CELERY_LIVENESS_DIR", str(tmp_path))  # For the probe's process too.
    path = liveness_file(f"unit@{socket.gethostname()}")

    def worker_alive() -> int:
        return probe("worker-alive", "--node", "unit@%h").returncode

    assert worker_alive() == 1  # No file: no such worker.
    path.touch()
    assert worker_alive() == 0
    a_minute_ago = time.time() - 60
    os.utime(path, (a_minute_ago, a_minute_ago))
    assert worker_alive() == 1  # Older than the default limit, 30 s.


def test_beat_alive_passes_a_standby_only_while_its_file_is_fresh(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CELERY_LIVENESS_DIR", str(tmp_path))
    path = standby_file(f"standby@{socket.gethostname()}")

    def beat_alive() -> int:
        return probe("beat-alive", "--node", "standby@%h", "--timeout", "1").returncode

    path.touch()  # As a standby does every poll while another beat leads.
    assert beat_alive() == 0
    a_minute_ago = time.time() - 60
    os.utime(path, (a_minute_ago, a_minute_ago))
    assert beat_alive() == 1  # A stopped or frozen standby: the probe pings, and none answers.


def test_worker_alive_ignores_a_file_of_the_same_name_from_another_project(monkeypatch) -> None:
    monkeypatch.delenv("CELERY_LIVENESS_DIR", raising=False)
    node = f"unit-{os.getpid()}@{socket.gethostname()}"
    # Where every project kept its workers' files before they had a directory each.
    shared = Path(tempfile.gettempdir()) / f"{node}.alive"
    shared.touch()
    try:
        completed = probe("worker-alive", "--node", node)
    finally:
        shared.unlink()

    assert completed.returncode == 1
    assert f"{liveness_directory() / node}.alive does not exist" in completed.stderr


def test_the_liveness_directory_is_the_projects_own(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("CELERY_LIVENESS_DIR", raising=False)
    run = tmp_path / "run" / "{{ cookiecutter.project_slug }}"
    monkeypatch.setattr(liveness, "RUN_DIRECTORY", run)

    # No systemd RuntimeDirectory: the project's own directory in the temp directory.
    assert liveness_directory() == Path(tempfile.gettempdir(), "{{ cookiecutter.project_slug }}")
    run.mkdir(parents=True)
    # Under systemd: unlike /tmp, no PrivateTmp=yes hides it from a shell.
    assert liveness_directory() == run
    monkeypatch.setenv("CELERY_LIVENESS_DIR", str(tmp_path / "chosen"))
    assert liveness_directory() == tmp_path / "chosen"


def test_a_probe_that_needs_no_broker_imports_neither_django_nor_celery(tmp_path) -> None:
    # Containers run the probes every few seconds; loading Django and Celery took 10 times
    # the CPU of the probe itself.
    script = (
        "import sys; from infrastructure.health import main; main(sys.argv[1:]); "
        "print(sorted(name for name in ('django', 'celery', 'kombu') if name in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, "worker-alive", "web-alive", "--timeout", "1"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "CELERY_LIVENESS_DIR": str(tmp_path), "PORT": "9"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "worker-alive: " in completed.stderr  # Both ran (and failed: nothing runs).
    assert "web-alive: " in completed.stderr
    assert completed.stdout == "[]\n"


# --hostname values: none, a bare host, name@host, each of Celery's % fields.
NODE_NAMES = [None, "", "host.example", "worker1@%h", "slow@%n", "a@%d", "a@b@c", "x@"]
NODE_NAMES += ["w%i@%h", "w%I@%h", "a%%b@%h"]


@pytest.mark.parametrize("given", NODE_NAMES)
def test_the_probes_name_nodes_as_celery_does(monkeypatch, given: str | None) -> None:
    # A host name with a domain, so that %h, %n and %d all differ.
    monkeypatch.setattr(socket, "gethostname", lambda: "web-1.example.internal")
    monkeypatch.setattr(nodenames, "gethostname", socket.gethostname)  # Celery's own copy.

    assert node_name(given, "celery") == host_format(default_nodename(given))
    assert node_name(given, "celerybeat") == beat_nodename(given)


def test_an_unknown_field_in_the_node_name_is_one_line() -> None:
    with pytest.raises(SystemExit, match=r"^--node w%p@%h: %p is not one of %h %n %d %i %I %%$"):
        node_name("w%p@%h", "celery")

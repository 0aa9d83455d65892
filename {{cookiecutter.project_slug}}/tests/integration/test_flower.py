"""Flower: refuses to start without basic auth; with it, asks for it, and its probe works.

Flower is started from / with the project on PYTHONPATH, as a unit or a script started
anywhere would: the refusal must not depend on the working directory.
"""

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from infrastructure.tests.probe import probe

from .conftest import STOP_TIMEOUT, TIMEOUT

PAGES = ["/", "/workers", "/tasks", "/broker"]


def status(url: str, credentials: str | None = None) -> int:
    request = urllib.request.Request(url)
    if credentials:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def listens(port: str) -> bool:
    with socket.socket() as client:
        return client.connect_ex(("127.0.0.1", int(port))) == 0


@pytest.fixture
def port() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return str(free.getsockname()[1])


@pytest.fixture
def start_flower(port, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `celery -A <project> flower` from /, on `port`; stop it after the test."""
    started: list[subprocess.Popen] = []

    def start(**environment: str) -> subprocess.Popen:
        flower = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "{{ cookiecutter.project_slug }}", "flower"],
            cwd="/",
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project_slug }}.settings.test",
                "PYTHONPATH": str(settings.BASE_DIR),
                "FLOWER_PORT": port,
                **environment,
            },
            stdout=(tmp_path / "flower.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(flower)
        return flower

    yield start
    for flower in started:
        if flower.poll() is None:
            os.killpg(flower.pid, signal.SIGTERM)
            flower.wait(timeout=STOP_TIMEOUT)


def log(tmp_path: Path) -> str:
    return (tmp_path / "flower.log").read_text(errors="replace")


def test_flower_refuses_to_start_without_basic_auth(start_flower, port, tmp_path) -> None:
    flower = start_flower(FLOWER_BASIC_AUTH="")

    assert flower.wait(timeout=TIMEOUT) == 1
    assert log(tmp_path).splitlines() == [
        "FLOWER_BASIC_AUTH is not set: Flower refuses to start without basic auth. "
        "Set it to user:password (comma-separated for several users)."
    ]
    assert not listens(port)


def test_flower_asks_for_basic_auth_and_its_probe_passes_until_it_stops(
    start_flower, port, tmp_path
) -> None:
    flower = start_flower(FLOWER_BASIC_AUTH="admin:s3cret")
    deadline = time.monotonic() + TIMEOUT
    while not listens(port):
        assert flower.poll() is None and time.monotonic() < deadline, log(tmp_path)
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"

    assert {page: status(url + page) for page in PAGES} == dict.fromkeys(PAGES, 401)
    assert status(url + "/", "admin:wrong") == 401
    assert status(url + "/", "admin:s3cret") == 200
    assert status(url + "/healthcheck") == 200  # For probes, with no login.
    assert probe("flower-alive", FLOWER_PORT=port).returncode == 0

    os.killpg(flower.pid, signal.SIGTERM)
    flower.wait(timeout=STOP_TIMEOUT)

    assert probe("flower-alive", FLOWER_PORT=port).returncode == 1

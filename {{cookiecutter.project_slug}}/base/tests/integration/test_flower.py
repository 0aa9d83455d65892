"""Flower: refuses to start without basic auth; with it, asks for it, and its probe works."""

import base64
import socket
import urllib.error
import urllib.request

import pytest

from ..conftest import probe
from .conftest import TIMEOUT


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


@pytest.fixture
def port() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return str(free.getsockname()[1])


def test_flower_refuses_to_start_without_basic_auth(start_celery, port) -> None:
    flower = start_celery("flower", name="flower-open", FLOWER_BASIC_AUTH="", FLOWER_PORT=port)

    assert flower.process.wait(timeout=TIMEOUT) == 1
    assert "FLOWER_BASIC_AUTH is not set: Flower refuses to start" in flower.log()


def test_flower_asks_for_basic_auth_and_its_probe_passes_until_it_stops(start_celery, port) -> None:
    flower = start_celery(
        "flower", name="flower", FLOWER_BASIC_AUTH="admin:s3cret", FLOWER_PORT=port
    )
    flower.wait_for_log(r"Visit me at")
    home = f"http://127.0.0.1:{port}/"

    assert status(home) == 401
    assert status(home, "admin:wrong") == 401
    assert status(home, "admin:s3cret") == 200
    assert probe("flower-alive", FLOWER_PORT=port).returncode == 0

    flower.stop()

    assert probe("flower-alive", FLOWER_PORT=port).returncode == 1

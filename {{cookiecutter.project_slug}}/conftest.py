import http.server
import itertools
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings

from {{ cookiecutter.project_slug }}.celery import app

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def as_without_a_broker(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run as development does without a broker, always: tasks run inline, and
    the cache is this process's own.

    So they test the same thing on every machine, even with CELERY_BROKER_URL set in .env
    or the shell. The integration tests (tests/integration/) use that broker.
    """
    if request.node.get_closest_marker("integration"):
        yield
        return
    inline = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with override_settings(CACHES=LOCAL_CACHE):
        cache.clear()  # What an earlier test left: local memory outlives the override.
        yield
    app.conf.task_always_eager = inline


class ScriptedServer(http.server.ThreadingHTTPServer):
    """A local HTTP server that answers each request with the next entry of `statuses`.

    An entry is a status, or "close" (hang up without answering) or "reset" (abort the
    connection). `location`, when set, is sent as a Location header; `tls`, when set,
    is the server's TLS context.
    """

    def __init__(self, statuses: list[int | str]) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.statuses = statuses
        self.location: str | None = None
        self.tls: ssl.SSLContext | None = None
        self.requests: list[str] = []
        self.bodies: list[bytes] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/hook"

    def get_request(self) -> tuple[socket.socket, object]:
        """Accept a connection, speaking TLS on it when `tls` is set."""
        connection, address = super().get_request()
        if self.tls:
            connection = self.tls.wrap_socket(connection, server_side=True)
        return connection, address


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_POST(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        status = self.server.statuses.pop(0)
        if status == "reset":
            # Linger 0: closing sends a TCP reset instead of an orderly end.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        if isinstance(status, str):
            self.close_connection = True
            return
        self.send_response(status)
        if self.server.location:
            self.send_header("Location", self.server.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # Records a redirect followed as a GET, as urllib does by default.
    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def webhook_server() -> Iterator[ScriptedServer]:
    """Start a scripted HTTP server on loopback (test settings let deliver_webhook send there)."""
    server = ScriptedServer(statuses=[])
    # Polling often makes shutdown() quick: it waits up to one interval.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def beat_schedule_settings(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """Write test settings with a changed CELERY_BEAT_SCHEDULE, for a manage.py or celery process.

    `entries` are added to the schedule (replacing those of the same name), `removed`
    names are dropped. Returns the environment variables that select the settings.
    """
    numbers = itertools.count()

    def write(
        entries: dict[str, dict[str, object]] | None = None, removed: Iterable[str] = ()
    ) -> dict[str, str]:
        module = f"beat_settings_{next(numbers)}"
        added = entries or {}
        lines = [
            "from {{ cookiecutter.project_slug }}.settings.test import *",
            "from {{ cookiecutter.project_slug }}.settings.test import CELERY_BEAT_SCHEDULE",
            f"CELERY_BEAT_SCHEDULE = CELERY_BEAT_SCHEDULE | {added!r}",
            f"for name in {sorted(removed)!r}:",
            "    del CELERY_BEAT_SCHEDULE[name]",
        ]
        (tmp_path / f"{module}.py").write_text("\n".join(lines) + "\n")
        return {"DJANGO_SETTINGS_MODULE": module, "PYTHONPATH": str(tmp_path)}

    return write

import http.server
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

INTEGRATION = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests run tasks inline; with a broker configured, only integration tests run."""
    if settings.TASKS_RUN_INLINE:
        return
    skip = pytest.mark.skip(reason="unit tests run tasks inline: unset CELERY_BROKER_URL")
    for item in items:
        if INTEGRATION not in Path(item.path).parents:
            item.add_marker(skip)


class ScriptedServer(http.server.ThreadingHTTPServer):
    """A local HTTP server that answers each POST with the next status in `statuses`."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.statuses = statuses
        self.bodies: list[bytes] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/hook"


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(self.server.statuses.pop(0))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def webhook_server() -> Iterator[ScriptedServer]:
    """Start a scripted HTTP server; set `.statuses` before calling it."""
    server = ScriptedServer(statuses=[])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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


def probe(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run the health command (`python -m <project>.health`) as Docker or Kubernetes does."""
    return subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.project_slug }}.health", *arguments],
        cwd=settings.BASE_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )

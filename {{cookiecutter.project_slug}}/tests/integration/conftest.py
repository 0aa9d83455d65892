"""Real processes for the integration tests.

They run against the broker in CELERY_BROKER_URL and PostgreSQL in DATABASE_URL, with
`celery worker` and `celery beat` started as subprocesses, when asked for with
`-m integration`. Without those variables they fail and say how to run them.
"""

import contextlib
import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery.result import AsyncResult
from django.conf import settings
from django.db import connection

from {{ cookiecutter.project_slug }}.celery import app

HOW_TO_RUN = (
    "CELERY_BROKER_URL={{ 'redis://localhost:6379/0' if cookiecutter.broker == 'redis' else 'amqp://guest:guest@localhost:5672//' }} "
    "DATABASE_URL=postgres://localhost/{{ cookiecutter.project_slug }} scripts/test -m integration"
)
TIMEOUT = 60  # Seconds; generous for a loaded CI machine, never reached when all is well.
STOP_TIMEOUT = 15


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(scope="session", autouse=True)
def services() -> None:
    """Fail, saying how to run them, when the broker or PostgreSQL is not set.

    Never a skip: integration tests run only when asked for (`-m integration`), and a
    run that asked for them and skipped them all would look green.
    """
    missing = []
    if settings.TASKS_RUN_INLINE:
        missing.append("a broker in CELERY_BROKER_URL")
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL in DATABASE_URL")
    if missing:
        message = f"integration tests need {' and '.join(missing)}; run them with {HOW_TO_RUN}"
        pytest.fail(message, pytrace=False)


class CeleryProcess:
    """A `celery` subprocess (worker or beat) writing its log to a file."""

    def __init__(self, arguments: list[str], log_path: Path, environment: dict[str, str]):
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "{{ cookiecutter.project_slug }}", *arguments],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Its own process group: signals reach the pool too.
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = TIMEOUT) -> re.Match:
        """Wait until the log matches the regular expression; return the match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in {self.log_path}:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group, as the OOM killer or a lost machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=TIMEOUT)

    def terminate(self) -> None:
        """SIGTERM to the main process only, as compose (through tini) and systemd do."""
        self.process.terminate()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it does not exit in time.

        SIGTERM goes to the main process only, as supervisors send it: Celery's pool
        processes die of SIGTERM, so one sent to the whole group would kill a task
        between its last write and its acknowledgement, and its message would be
        redelivered to run again (seen in CI, in the next test).
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                # Idle processes exit within a second or two; seen under load: a beat
                # that took a minute, which would only slow the run down.
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()


def database_url_of_test_database() -> str:
    """DATABASE_URL, pointed at the database pytest-django created for this run."""
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path="/" + connection.settings_dict["NAME"]).geturl()


@pytest.fixture(scope="session")
def start_celery(
    services, django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[Callable[..., CeleryProcess]]:
    """Start celery subprocesses that share this run's test database; stop them at the end."""
    started: list[CeleryProcess] = []
    logs = tmp_path_factory.mktemp("celery-logs")
    with django_db_blocker.unblock():
        database_url = database_url_of_test_database()
    app.control.purge()  # Nothing left from an earlier, interrupted run.

    def start(*arguments: str, name: str, **environment: str) -> CeleryProcess:
        process = CeleryProcess(
            list(arguments),
            logs / f"{name}.log",
            {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project_slug }}.settings.test",
                "DATABASE_URL": database_url,
                **environment,
            },
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def start_worker(start_celery) -> Callable[..., CeleryProcess]:
    """Start a worker with one process on `queue` and wait until it is ready."""

    def start(name: str, queue: str = "celery", **environment: str) -> CeleryProcess:
        worker = start_celery(
            "worker",
            "--loglevel=INFO",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={name}@%h",
            f"--queues={queue}",
            "--include=tests.integration.tasks",
            name=name,
            **environment,
        )
        worker.wait_for_log(r" ready\.")
        return worker

    return start


@pytest.fixture(scope="session")
def worker(start_worker) -> CeleryProcess:
    """The worker most tests share, on both queues, as the README's development worker."""
    return start_worker("integration", queue="celery,slow")


@pytest.fixture
def outcome(worker) -> Callable[[AsyncResult], str]:
    """Wait for a task to finish; return "SUCCESS: <repr of its value>" or "FAILURE: <error>".

    Read from the result backend where there is one, and from the worker's log
    otherwise, so the same assertions hold for every result backend.
    """

    def wait(result: AsyncResult, process: CeleryProcess = worker) -> str:
        if app.conf.result_backend:
            value = result.get(timeout=TIMEOUT, propagate=False)
            if result.state == "SUCCESS":
                return f"SUCCESS: {value!r}"
            return f"{result.state}: {type(value).__name__}"
        finished = r"(succeeded in [\d.e-]+s: (.*)|raised unexpected: (\w+))"
        match = process.wait_for_log(rf"\[{result.id}\] {finished}")
        if match.group(2) is not None:
            return f"SUCCESS: {match.group(2)}"
        return f"FAILURE: {match.group(3)}"

    return wait


class OutageProxy:
    """A TCP proxy in front of the broker that can drop every connection for a while.

    To the worker an outage looks like a broker restart: its connections are cut and
    new ones are refused until the proxy listens again. The shared broker itself is
    never disturbed.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.lock = threading.Lock()  # Guards `sockets` between accept and outage.
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listen()

    def listen(self) -> None:
        threading.Thread(target=self.accept, args=(self.listener,), daemon=True).start()

    def accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # Shut down by outage().
            upstream = socket.create_connection(self.target)
            with self.lock:
                if listener is not self.listener:
                    # Accepted just before the outage began: cut it like the others.
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def outage(self, seconds: float) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            # shutdown() wakes the thread blocked in accept(); close() alone would not,
            # and that listener would go on accepting connections during the outage.
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
            for open_socket in self.sockets:
                with contextlib.suppress(OSError):  # Already closed.
                    open_socket.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()
        time.sleep(seconds)
        with self.lock:
            self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listen()


def with_address(url: str, host: str, port: int) -> str:
    """The same URL (credentials, virtual host, database) at another host and port."""
    parts = urllib.parse.urlsplit(url)
    credentials, at, _ = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{credentials}{at}{host}:{port}").geturl()


class RecordingServer:
    """An HTTP server on a free loopback port that keeps the path and body of every POST.

    It stands in for a service the project sends to: Sentry, an OpenTelemetry collector.
    """

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                posts.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # Quiet: pytest shows the test's own output.

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.server.shutdown()


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
                # No control socket: its default path is one per user, and another
                # gunicorn may hold it.
                "GUNICORN_CMD_ARGS": (
                    f"--bind={self.url.removeprefix('http://')} --workers=1 --no-control-socket"
                ),
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

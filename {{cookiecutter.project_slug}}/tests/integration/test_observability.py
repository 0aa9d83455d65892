"""Switched on by their variables, errors reach Sentry and log lines turn to JSON."""

import gzip
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .conftest import TIMEOUT
from .tasks import fail, log_line


class SentryStandIn:
    """An HTTP server in Sentry's place: keeps every envelope a Sentry client posts."""

    def __init__(self) -> None:
        self.envelopes: list[str] = []
        envelopes = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                envelopes.append(body.decode())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # Quiet: pytest shows the test's own output.

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.dsn = f"http://public@127.0.0.1:{self.server.server_port}/1"

    def events(self) -> Iterator[dict]:
        """The error events received: an envelope is a header line, then item lines."""
        for envelope in self.envelopes:
            for line in envelope.splitlines():
                item = json.loads(line)
                if "exception" in item:
                    yield item


@pytest.fixture
def sentry() -> Iterator[SentryStandIn]:
    stand_in = SentryStandIn()
    yield stand_in
    stand_in.server.shutdown()


def test_a_task_that_fails_is_reported_to_sentry(start_worker, sentry) -> None:
    worker = start_worker("sentry", queue="sentry", SENTRY_DSN=sentry.dsn)
    message = f"failed on purpose {uuid.uuid4()}"
    result = fail.apply_async((message,), queue="sentry")

    deadline = time.monotonic() + TIMEOUT
    while not list(sentry.events()) and time.monotonic() < deadline:
        time.sleep(0.2)
    worker.stop()

    [event] = sentry.events()
    [error] = event["exception"]["values"]
    assert (error["type"], error["value"]) == ("RuntimeError", message)
    assert event["transaction"] == "tests.integration.tasks.fail"
    assert event["extra"]["celery-job"]["task_name"] == "tests.integration.tasks.fail"
    assert result.id in json.dumps(event)


def test_json_log_lines_name_the_task_they_were_logged_in(start_worker) -> None:
    worker = start_worker("json", queue="json", DJANGO_LOG_FORMAT="json")
    result = log_line.apply_async(("logged inside a task",), queue="json")
    # The record itself: the "received" line names the text too, in the task's arguments.
    worker.wait_for_log(r'"message": "logged inside a task"')
    worker.stop()

    # Celery prints its start-up banner and "worker: Warm shutdown" to stdout itself, not
    # through logging; every log record is a JSON line, none is in the plain format.
    lines = worker.log().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [line for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)]
    [record] = [r for r in records if r["message"] == "logged inside a task"]
    assert record["task_id"] == result.id
    assert record["task_name"] == "tests.integration.tasks.log_line"
    assert record["levelname"] == "INFO"
    assert not any("task_id" in r for r in records if "ready." in r["message"])

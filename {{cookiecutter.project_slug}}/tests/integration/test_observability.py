"""Switched on by their variables, errors reach Sentry and log lines turn to JSON."""

import json
import re
import time
import uuid
from collections.abc import Iterator

from .conftest import TIMEOUT, RecordingServer
from .tasks import fail, log_line


def sentry_events(sentry: RecordingServer) -> Iterator[dict]:
    """The error events received: an envelope is a header line, then item lines."""
    for _, envelope in sentry.posts:
        for line in envelope.decode().splitlines():
            item = json.loads(line)
            if "exception" in item:
                yield item


def test_a_task_that_fails_is_reported_to_sentry(start_worker, recording_server) -> None:
    sentry = recording_server
    dsn = f"http://public@127.0.0.1:{sentry.port}/1"
    worker = start_worker("sentry", queue="sentry", SENTRY_DSN=dsn)
    message = f"failed on purpose {uuid.uuid4()}"
    result = fail.apply_async((message,), queue="sentry")

    deadline = time.monotonic() + TIMEOUT
    while not list(sentry_events(sentry)) and time.monotonic() < deadline:
        time.sleep(0.2)
    worker.stop()

    [event] = sentry_events(sentry)
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

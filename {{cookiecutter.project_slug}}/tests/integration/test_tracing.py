"""With OTEL_EXPORTER_OTLP_ENDPOINT set, one trace runs from a request to the task it sent."""

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .conftest import TIMEOUT, RecordingServer, database_url_of_test_database
from .tasks import log_line

RUN_SPAN = "run/tests.integration.tasks.log_line"
# Spans leave each process a tenth of a second after they end, not the SDK's 5 seconds.
QUICK_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


def spans(collector: RecordingServer) -> list[tuple[str, Span]]:
    """Each span received, with the service.name of the process that sent it."""
    received = []
    for path, body in list(collector.posts):
        assert path == "/v1/traces"
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            attributes = resource_spans.resource.attributes
            [service] = [a.value.string_value for a in attributes if a.key == "service.name"]
            for scope_spans in resource_spans.scope_spans:
                received += [(service, span) for span in scope_spans.spans]
    return received


def wait_for_span(collector: RecordingServer, name: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if any(span.name == name for _, span in spans(collector)):
            return
        time.sleep(0.1)
    raise AssertionError(f"no {name!r} span in {[s.name for _, s in spans(collector)]}")


@pytest.fixture
def collector(recording_server) -> RecordingServer:
    """An OpenTelemetry collector's stand-in: OTEL_EXPORTER_OTLP_ENDPOINT is its URL."""
    return recording_server


@pytest.fixture
def web(collector, tmp_path: Path) -> Iterator[str]:
    """gunicorn as the Dockerfile runs it, tracing, with the URL that sends a task."""
    log = tmp_path / "web.log"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "{{ cookiecutter.project_slug }}.wsgi"),
            *("--bind=127.0.0.1:0", "--access-logfile=-"),
            # Its default socket path is one per user: another gunicorn may hold it.
            "--no-control-socket",
        ],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.integration.web_settings",
            "DATABASE_URL": database_url_of_test_database(),
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            **QUICK_EXPORT,
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        url = wait_until_it_serves(process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def wait_until_it_serves(process: subprocess.Popen, log: Path) -> str:
    """The address gunicorn listens at (port 0: one the system chose), once it answers."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if match := re.search(r"Listening at: (http://\S+)", log.read_text()):
            try:
                with urllib.request.urlopen(f"{match[1]}/health/", timeout=TIMEOUT):
                    return match[1]
            except OSError:
                pass  # The master listens; its worker has not started yet.
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not serve:\n{log.read_text()[-3000:]}")


def test_one_trace_runs_from_the_request_to_the_task_it_sent(start_worker, collector, web) -> None:
    worker = start_worker(
        "tracing",
        queue="tracing",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_SERVICE_NAME="traced-worker",
        **QUICK_EXPORT,
    )
    with urllib.request.urlopen(f"{web}/send-task/?queue=tracing", timeout=TIMEOUT) as response:
        task_id = response.read().decode()
    wait_for_span(collector, RUN_SPAN)
    worker.stop()

    received = spans(collector)
    [(web_service, request)] = [(n, s) for n, s in received if s.kind == Span.SPAN_KIND_SERVER]
    [(sender, publish)] = [(n, s) for n, s in received if s.kind == Span.SPAN_KIND_PRODUCER]
    [(runner, run)] = [(n, s) for n, s in received if s.kind == Span.SPAN_KIND_CONSUMER]
    assert request.name == "GET send-task/"
    assert publish.name == "apply_async/tests.integration.tasks.log_line"
    assert run.name == RUN_SPAN
    # One trace, each span the child of the one before: the request sent the task, which ran.
    assert request.trace_id == publish.trace_id == run.trace_id
    assert (request.parent_span_id, publish.parent_span_id) == (b"", request.span_id)
    assert run.parent_span_id == publish.span_id
    # The web's default name, the worker's from OTEL_SERVICE_NAME.
    assert (web_service, sender, runner) == (
        "{{ cookiecutter.project_slug }}-web",
        "{{ cookiecutter.project_slug }}-web",
        "traced-worker",
    )
    run_attributes = {a.key: a.value.string_value for a in run.attributes}
    assert run_attributes["messaging.message.id"] == task_id
    assert run_attributes["celery.state"] == "SUCCESS"


def test_a_stopping_worker_sends_the_spans_it_still_holds(start_worker, collector) -> None:
    worker = start_worker(
        "tracing-stop",
        queue="tracing-stop",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        # Ten minutes: only the flush as the pool process exits can send the span now.
        OTEL_BSP_SCHEDULE_DELAY="600000",
    )
    result = log_line.apply_async(("traced until the stop",), queue="tracing-stop")
    worker.wait_for_log(rf"\[{result.id}\] succeeded")
    assert not spans(collector)
    worker.stop()

    [(service, run)] = spans(collector)
    assert (service, run.name) == ("{{ cookiecutter.project_slug }}-worker", RUN_SPAN)

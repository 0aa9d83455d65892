"""With OTEL_EXPORTER_OTLP_ENDPOINT set, one trace runs from a request to the task it sent."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .conftest import TIMEOUT, RecordingServer, Web
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
def web(collector, tmp_path: Path) -> Iterator[Web]:
    """gunicorn, tracing, with the URL that sends a task."""
    web = Web(
        tmp_path / "gunicorn.log",
        DJANGO_SETTINGS_MODULE="tests.integration.web_settings",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        **QUICK_EXPORT,
    )
    yield web
    web.stop()


def test_one_trace_runs_from_the_request_to_the_task_it_sent(start_worker, collector, web) -> None:
    worker = start_worker(
        "tracing",
        queue="tracing",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_SERVICE_NAME="traced-worker",
        **QUICK_EXPORT,
    )
    status, task_id = web.get("/send-task/?queue=tracing")
    assert status == 200, task_id
    wait_for_span(collector, RUN_SPAN)
    worker.stop()

    received = spans(collector)
    # One server span: the /health/ requests that waited for gunicorn to start are not traced.
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

"""Error reports to Sentry, traces over OpenTelemetry and JSON log lines.

Each is off until its variable is set, and its library is imported only then.
"""

import logging
import os

from celery import current_task


class TaskContext(logging.Filter):
    """Give each record logged inside a task the task's id and name.

    JSON log lines (DJANGO_LOG_FORMAT=json) carry them as `task_id` and `task_name`, so a
    log collector can gather everything one task logged, whichever logger wrote it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        task = current_task._get_current_object()
        if task is not None and task.request.id is not None:
            record.task_id = task.request.id
            record.task_name = task.name
        return True


def send_errors_to_sentry(dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Report unhandled errors of requests and tasks to Sentry (settings call this).

    Called while settings load, so web processes and workers both report: a worker's
    pool processes inherit the client when they fork, and Sentry's client starts its
    sending thread again in each. Imported only when SENTRY_DSN is set: nothing to pay
    otherwise.
    """
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user names, e-mail or IP addresses in reports unless you decide otherwise.
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
    )


# The tracer provider of a process that traces, to flush when a pool process exits.
tracer_provider = None


def trace_web_process() -> None:
    """Trace requests, and the tasks they send, when OTEL_EXPORTER_OTLP_ENDPOINT is set.

    wsgi.py and asgi.py call this before Django loads its middleware, which the Django
    instrumentation adds to. gunicorn imports wsgi.py in each of its worker processes,
    after forking them, so each starts its own exporter.
    """
    if start_tracing("web"):
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        # Health probes and Prometheus's scrapes, every few seconds, would bury the real
        # requests; the standard variables, when set, choose instead.
        excluded = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or os.environ.get(
            "OTEL_PYTHON_EXCLUDED_URLS", "/health/,/metrics"
        )
        DjangoInstrumentor().instrument(excluded_urls=excluded)


def trace_worker_process(**_: object) -> None:
    """Trace the tasks a pool process runs and sends (a worker_process_init receiver).

    worker_process_init comes in each pool process, after the fork, where OpenTelemetry
    advises forking servers to start their exporters; the worker's main process runs no
    task, so it starts none. The solo pool sends it too, in the worker's one process; the
    threads, gevent and eventlet pools do not, and their tasks go untraced.
    """
    start_tracing("worker")


def flush_traces(**_: object) -> None:
    """Send the spans still queued (a worker_process_shutdown receiver).

    A pool process ends with os._exit, which skips the exit handler that would send them.
    """
    if tracer_provider is not None:
        tracer_provider.shutdown()


def start_tracing(role: str) -> bool:
    """Export spans of Celery tasks over OTLP/HTTP; False, importing nothing, when off.

    The SDK reads the standard variables itself: OTEL_EXPORTER_OTLP_ENDPOINT (and its
    _HEADERS, _TIMEOUT...), OTEL_TRACES_SAMPLER, OTEL_BSP_SCHEDULE_DELAY, OTEL_PROPAGATORS,
    OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED. The service is named by OTEL_SERVICE_NAME,
    else "<project>-<role>" (web, worker).
    """
    global tracer_provider
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # From OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    if resource.attributes[SERVICE_NAME].startswith("unknown_service"):
        default_name = Resource({SERVICE_NAME: f"{{ cookiecutter.project_slug }}-{role}"})
        resource = resource.merge(default_name)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    # A span for sending a task and one for running it, joined by a header the message
    # carries: one trace from the request (or task) that sent it to the task's end.
    CeleryInstrumentor().instrument()
    return True

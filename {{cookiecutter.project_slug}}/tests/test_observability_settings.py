"""Error reports, metrics, traces and log lines: each switched on by its setting alone."""

import pytest

from .fresh_django import last_line, run_python, start_django


@pytest.mark.parametrize(
    ("dsn", "imported"), [("", "False"), ("http://public@127.0.0.1:9/1", "True")]
)
def test_sentry_is_imported_only_when_sentry_dsn_is_set(dsn: str, imported: str) -> None:
    completed = run_python(
        "-c",
        "import django, sys; django.setup(); print('sentry_sdk' in sys.modules)",
        DJANGO_SETTINGS_MODULE="{{ cookiecutter.project_slug }}.settings.dev",
        SENTRY_DSN=dsn,
    )

    assert completed.stdout.strip() == imported, completed.stderr


@pytest.mark.parametrize(("token", "status"), [("", "404"), ("a-token", "401")])
def test_metrics_are_served_only_when_metrics_token_is_set(token: str, status: str) -> None:
    # Asked without a token: unset, there is no page; set, the page asks for the token.
    code = (
        "import django; django.setup(); from django.test import Client;"
        "from django.test.utils import setup_test_environment; setup_test_environment();"
        "print(Client().get('/metrics').status_code)"
    )
    completed = run_python(
        "-c",
        code,
        DJANGO_SETTINGS_MODULE="{{ cookiecutter.project_slug }}.settings.dev",
        METRICS_TOKEN=token,
    )

    assert completed.stdout.strip() == status, completed.stderr


# Where each process starts tracing: web servers import wsgi.py or asgi.py, pool processes
# receive worker_process_init.
TRACING_STARTS = {
    "wsgi": "import {{ cookiecutter.project_slug }}.wsgi",
    "asgi": "import {{ cookiecutter.project_slug }}.asgi",
    "pool-process": (
        "import django; django.setup(); from celery.signals import worker_process_init; "
        "worker_process_init.send(sender=None)"
    ),
}


@pytest.mark.parametrize(("endpoint", "imported"), [("", "False"), ("http://127.0.0.1:9", "True")])
@pytest.mark.parametrize("start", TRACING_STARTS.values(), ids=TRACING_STARTS.keys())
def test_opentelemetry_is_imported_only_when_an_endpoint_is_set(
    start: str, endpoint: str, imported: str
) -> None:
    completed = run_python(
        "-c",
        f"{start}; import sys; print(any(m.startswith('opentelemetry') for m in sys.modules))",
        DJANGO_SETTINGS_MODULE="{{ cookiecutter.project_slug }}.settings.dev",
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
    )

    assert completed.stdout.strip() == imported, completed.stderr


def test_an_unknown_log_format_stops_django_in_one_line() -> None:
    completed = start_django(
        DJANGO_SETTINGS_MODULE="{{ cookiecutter.project_slug }}.settings.dev",
        DJANGO_LOG_FORMAT="xml",
    )

    assert last_line(completed) == (
        "django.core.exceptions.ImproperlyConfigured: "
        "DJANGO_LOG_FORMAT must be one of plain, json, got 'xml'"
    )

"""Settings: inline tasks without a broker, production refusing incomplete environments."""

import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from django.conf import settings

PRODUCTION_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project_slug }}.settings.prod",
    # check --deploy wants 50 characters or more.
    "DJANGO_SECRET_KEY": "a-production-secret-long-enough-for-check-deploy-0123456789",
    "DJANGO_ALLOWED_HOSTS": "example.com",
    "DATABASE_URL": "postgres://app@localhost/app",
    "CELERY_BROKER_URL": "{{ 'redis://localhost:6379/0' if cookiecutter.broker == 'redis' else 'amqp://guest:guest@localhost:5672//' }}",
{%- if cookiecutter.__results_url == "own" %}
    "CELERY_RESULT_BACKEND": "redis://localhost:6379/0",
{%- endif %}
{%- if cookiecutter.broker == "rabbitmq" %}
    # The server's consumer_timeout, above the hard time limit (3600 s).
    "RABBITMQ_CONSUMER_TIMEOUT": "3900000",
{%- endif %}
}


def run_python(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run Python in the project directory, in a fresh process with exactly these variables."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def start_django(**environment: str) -> subprocess.CompletedProcess[str]:
    """Run django.setup() in a fresh process with exactly these variables set."""
    return run_python("-c", "import django; django.setup()", **environment)


def last_line(completed: subprocess.CompletedProcess[str]) -> str:
    """The last line of the process's stderr: the exception that stopped it."""
    return completed.stderr.strip().splitlines()[-1]


def test_without_a_broker_tasks_run_inline() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings;"
        "from celery import current_app as app; conf = app.conf;"
        "print(settings.TASKS_RUN_INLINE, app.main, conf.broker_url, conf.task_always_eager)"
    )
    # An empty CELERY_BROKER_URL in the environment wins over one in .env.
    completed = run_python(
        "-c",
        code,
        DJANGO_SETTINGS_MODULE="{{ cookiecutter.project_slug }}.settings.dev",
        CELERY_BROKER_URL="",
    )

    assert completed.stdout.split() == [
        "True",
        "{{ cookiecutter.project_slug }}",
        "memory://localhost/",
        "True",
    ], completed.stderr


def test_production_starts_with_a_complete_environment() -> None:
    completed = start_django(**PRODUCTION_ENVIRONMENT)

    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize(
    "missing",
    ["CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOWED_HOSTS"],
)
def test_production_refuses_to_start_without(missing: str) -> None:
    environment = {**PRODUCTION_ENVIRONMENT, missing: ""}

    completed = start_django(**environment)

    assert completed.returncode != 0
    assert f"ImproperlyConfigured: {missing} is not set" in completed.stderr


{%- if cookiecutter.broker == "rabbitmq" %}


def test_production_refuses_a_time_limit_rabbitmq_would_cut_short() -> None:
    """RabbitMQ's default consumer_timeout (30 min) would deliver a 1 h task a second time."""
    environment = {**PRODUCTION_ENVIRONMENT, "RABBITMQ_CONSUMER_TIMEOUT": ""}

    completed = start_django(**environment)

    assert completed.returncode != 0
    assert last_line(completed).startswith(
        "django.core.exceptions.ImproperlyConfigured: CELERY_TASK_TIME_LIMIT (3600 s) must be "
        "below RABBITMQ_CONSUMER_TIMEOUT (1800000 ms)"
    )
{%- endif %}


@pytest.mark.parametrize(
    ("name", "url", "scheme"),
    [
        # Kombu reads schemes in any case: this is the in-memory transport.
        ("CELERY_BROKER_URL", "Memory://localhost/", "memory"),
        ("CELERY_BROKER_URL", "filesystem://", "filesystem"),
        ("DATABASE_URL", "sqlite:////tmp/production.sqlite3", "sqlite"),
{%- if cookiecutter.__results_url == "own" %}
        ("CELERY_RESULT_BACKEND", "cache+memory://", "cache+memory"),
{%- endif %}
    ],
)
def test_production_refuses_a_url_that_would_lose_data(name: str, url: str, scheme: str) -> None:
    completed = start_django(**{**PRODUCTION_ENVIRONMENT, name: url})

    assert completed.returncode != 0
    assert last_line(completed).startswith(
        f"django.core.exceptions.ImproperlyConfigured: {name} must start with one of "
    )
    assert f" (got {scheme}://): " in last_line(completed)


def test_production_passes_the_deployment_checklist() -> None:
    completed = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENVIRONMENT
    )

    assert completed.returncode == 0, completed.stderr


SEND_WELCOME_EMAIL = """
import django
django.setup()
from django.core.mail import send_mail
send_mail("Welcome", "Hello ada, your account is ready.", None, ["ada@example.com"])
"""
MAIL_USER = "app@example.com"
MAIL_PASSWORD = "p@ss/w:rd#1"  # Characters that must be percent-encoded in the URL.


class Mailbox:
    """An aiosmtpd handler and authenticator: one account, and every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Envelope]] = []

    def __call__(self, server, session: Session, envelope, mechanism: str, auth_data) -> AuthResult:
        accepted = isinstance(auth_data, LoginPassword) and auth_data == LoginPassword(
            MAIL_USER.encode(), MAIL_PASSWORD.encode()
        )
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        self.messages.append((session.auth_data.login.decode(), envelope))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def certificate_authority(tmp_path: Path) -> tuple[trustme.CA, Path]:
    """A private CA, and its certificate for the subprocess to trust through SSL_CERT_FILE."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, bundle


@pytest.mark.parametrize(
    "scheme",
    [
        "smtp+tls",
        pytest.param(  # aiosmtpd cannot see that this server speaks TLS (below).
            "smtp+ssl", marks=pytest.mark.filterwarnings("ignore:Requiring AUTH while not")
        ),
    ],
)
def test_production_mail_logs_in_to_the_server_in_email_url(
    certificate_authority: tuple[trustme.CA, Path], scheme: str
) -> None:
    authority, bundle = certificate_authority
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    mailbox = Mailbox()
    # A provider's server: TLS first, then login, then mail. aiosmtpd tells only STARTTLS
    # apart from clear text; a server that speaks TLS from the start can take no other.
    if scheme == "smtp+tls":
        encryption = {"tls_context": tls, "require_starttls": True}
    else:
        encryption = {"ssl_context": tls, "auth_require_tls": False}
    server = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=mailbox,
        auth_required=True,
        **encryption,
    )
    server.start()
    try:
        credentials = f"{quote(MAIL_USER, safe='')}:{quote(MAIL_PASSWORD, safe='')}"
        completed = run_python(
            "-c",
            SEND_WELCOME_EMAIL,
            **PRODUCTION_ENVIRONMENT,
            EMAIL_URL=f"{scheme}://{credentials}@127.0.0.1:{server.port}",
            SSL_CERT_FILE=str(bundle),
        )
    finally:
        server.stop()

    assert completed.returncode == 0, completed.stderr
    [(login, envelope)] = mailbox.messages
    assert login == MAIL_USER
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert b"Subject: Welcome" in envelope.original_content


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("smtps://app:hunter2@smtp.example.com:465", "got smtps://"),
        # An unencoded / in the password ends the host part early.
        ("smtp+tls://app:hun/ter2@smtp.example.com:587", "got an invalid port"),
        ("smtp://app:hunter2@smtp.example.com:587/?tls=True", "got a path, ?query or #fragment"),
        ("smtp+tls://", "got no host"),
    ],
)
def test_a_malformed_email_url_stops_production_in_one_line(url: str, problem: str) -> None:
    completed = start_django(**PRODUCTION_ENVIRONMENT, EMAIL_URL=url)

    assert completed.returncode != 0
    assert last_line(completed).startswith(
        "django.core.exceptions.ImproperlyConfigured: EMAIL_URL must look like smtp+tls://"
    )
    assert last_line(completed).endswith(problem)
    assert "ter2" not in completed.stderr  # Nor any part of the password.


def test_development_prints_email_to_the_console() -> None:
    completed = run_python(
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND)",
        DJANGO_SETTINGS_MODULE="{{ cookiecutter.project_slug }}.settings.dev",
    )

    assert completed.stdout == "django.core.mail.backends.console.EmailBackend\n", completed.stderr


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


def test_postgresql_is_asked_to_end_the_queries_of_a_client_gone(monkeypatch) -> None:
    from {{ cookiecutter.project_slug }}.settings.base import database

    url = "postgres://app@localhost/app"
    assert database(url)["OPTIONS"] == {"options": "-c client_connection_check_interval=5s"}
    monkeypatch.setenv("DJANGO_DB_CLIENT_CHECK_INTERVAL", "0")  # Behind PgBouncer.
    assert "options" not in database(url).get("OPTIONS", {})
    monkeypatch.delenv("DJANGO_DB_CLIENT_CHECK_INTERVAL")
    assert "options" not in database("sqlite:////tmp/db.sqlite3").get("OPTIONS", {})

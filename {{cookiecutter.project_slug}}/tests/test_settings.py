"""Settings: inline tasks without a broker, production refusing incomplete environments."""

import pytest

from .fresh_django import PRODUCTION_ENVIRONMENT, last_line, run_python, start_django


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


def test_postgresql_is_asked_to_end_the_queries_of_a_client_gone(monkeypatch) -> None:
    from {{ cookiecutter.project_slug }}.settings.base import database

    url = "postgres://app@localhost/app"
    assert database(url)["OPTIONS"] == {"options": "-c client_connection_check_interval=5s"}
    monkeypatch.setenv("DJANGO_DB_CLIENT_CHECK_INTERVAL", "0")  # Behind PgBouncer.
    assert "options" not in database(url).get("OPTIONS", {})
    monkeypatch.delenv("DJANGO_DB_CLIENT_CHECK_INTERVAL")
    assert "options" not in database("sqlite:////tmp/db.sqlite3").get("OPTIONS", {})

"""Settings: inline tasks without a broker, production refusing incomplete environments."""

import os
import subprocess
import sys

import pytest
from celery import current_app
from django.conf import settings

from {{ cookiecutter.project_slug }}.celery import app

PRODUCTION_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project_slug }}.settings.prod",
    "DJANGO_SECRET_KEY": "a-production-secret",
    "DJANGO_ALLOWED_HOSTS": "example.com",
    "DATABASE_URL": "postgres://app@localhost/app",
    "CELERY_BROKER_URL": "{{ 'redis://localhost:6379/0' if cookiecutter.broker == 'redis' else 'amqp://guest:guest@localhost:5672//' }}",
{%- if cookiecutter.result_backend == "redis" and cookiecutter.broker == "rabbitmq" %}
    "CELERY_RESULT_BACKEND": "redis://localhost:6379/0",
{%- endif %}
}


def start_django(**environment: str) -> subprocess.CompletedProcess[str]:
    """Run django.setup() in a fresh process with exactly these variables set."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_broker_tasks_run_inline() -> None:
    assert settings.TASKS_RUN_INLINE
    assert app.conf.broker_url == "memory://localhost/"
    assert app.conf.task_always_eager
    assert current_app.main == "{{ cookiecutter.project_slug }}"


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


def test_production_refuses_the_in_memory_broker() -> None:
    completed = start_django(**{**PRODUCTION_ENVIRONMENT, "CELERY_BROKER_URL": "memory://"})

    assert "ImproperlyConfigured: CELERY_BROKER_URL is not set" in completed.stderr

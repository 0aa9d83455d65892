"""Django started in a fresh process: settings are read once per process, from its environment."""

import os
import subprocess
import sys

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

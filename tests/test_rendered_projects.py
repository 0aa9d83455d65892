"""The rendered projects work: installed from their own pyproject.toml, checked, tested."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import run
from tooling.options import COMBINATIONS_TO_RUN, ONE_AT_A_TIME, label

# Each Python and each Django version installs a different set of packages, and the
# user model changes the migrations. The default render's checks and unit tests run in
# test_generated_ci.py, as its own CI job runs them.
VERSIONS = [a for a in ONE_AT_A_TIME if {"python_version", "django_version", "user_model"} & set(a)]
VARIANTS = COMBINATIONS_TO_RUN[1:] + VERSIONS
# The project's tests whose subject no broker, result backend or scheduler changes (each
# starts a fresh interpreter per case: a quarter of a suite's time). They run in the
# default render's CI job and with each version, not again in every combination.
TESTS_NO_COMBINATION_CHANGES = ["tests/test_email.py", "tests/test_observability_settings.py"]

# Nothing from the machine's environment may pick settings, a broker or a database.
CLEAN_ENVIRONMENT: dict[str, str | None] = {
    "DJANGO_SETTINGS_MODULE": None,
    "DATABASE_URL": None,
    "CELERY_BROKER_URL": None,
    "CELERY_RESULT_BACKEND": None,
}


@pytest.fixture
def working_copy(bake, tmp_path) -> Callable[..., Path]:
    """Copy a bake to work in, so what a run leaves (db.sqlite3) never reaches other tests."""

    def copy(**answers: str) -> Path:
        return Path(shutil.copytree(bake(**answers), tmp_path / "my_project"))

    return copy


@pytest.mark.parametrize("answers", VARIANTS, ids=map(label, VARIANTS))
def test_checks_migrations_and_own_tests_pass(working_copy, project_python, answers) -> None:
    project = working_copy(**answers)
    python = project_python(project)

    def manage(*arguments: str) -> str:
        return run([python, "manage.py", *arguments], cwd=project, env=CLEAN_ENVIRONMENT).stdout

    manage("check", "--fail-level", "WARNING")
    manage("makemigrations", "--check", "--dry-run")
    manage("migrate", "--no-input")
    left_out = [] if answers in VERSIONS else TESTS_NO_COMBINATION_CHANGES
    for path in left_out:
        assert (project / path).is_file(), path
    run(
        [
            python,
            *("-m", "pytest", "-p", "no:cacheprovider", "-q"),
            *(f"--ignore={path}" for path in left_out),
        ],
        cwd=project,
        env=CLEAN_ENVIRONMENT,
    )


@pytest.mark.parametrize("answers", COMBINATIONS_TO_RUN, ids=map(label, COMBINATIONS_TO_RUN))
def test_a_task_runs_inline_without_a_broker(working_copy, project_python, answers) -> None:
    project = working_copy(**answers)
    python = project_python(project)
    run([python, "manage.py", "migrate", "--no-input"], cwd=project, env=CLEAN_ENVIRONMENT)

    completed = run(
        [
            python,
            "manage.py",
            "shell",
            "-v0",
            "-c",
            "from base.tasks import add; print(add.delay(2, 2).get())",
        ],
        cwd=project,
        env=CLEAN_ENVIRONMENT,
    )

    assert completed.stdout == "4\n"
    assert completed.stderr.count("tasks run inline") == 1


@pytest.mark.parametrize("answers", COMBINATIONS_TO_RUN, ids=map(label, COMBINATIONS_TO_RUN))
def test_production_settings_refuse_to_start_without_a_broker(
    working_copy, project_python, answers
) -> None:
    project = working_copy(**answers)
    environment = {
        **CLEAN_ENVIRONMENT,
        "DJANGO_SETTINGS_MODULE": "my_project.settings.prod",
        "DJANGO_SECRET_KEY": "a-production-secret",
        "DJANGO_ALLOWED_HOSTS": "example.com",
        "DATABASE_URL": "postgres://app@localhost/app",
    }

    completed = run(
        [project_python(project), "manage.py", "check"], cwd=project, env=environment, check=False
    )

    assert completed.returncode != 0
    assert completed.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: CELERY_BROKER_URL is not set: production "
        "needs a real broker (redis://... or amqp://...); without one, or with memory://, "
        "every task would be lost"
    )

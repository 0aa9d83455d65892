"""The beat schedule check: `manage.py check` fails on an entry beat could not run."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from celery.schedules import crontab
from django.conf import settings
from django.core.checks import run_checks

from infrastructure.checks import beat_schedule_errors
from {{ cookiecutter.project_slug }}.celery import app


def manage_py_check(**environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_project_schedule_passes() -> None:
    assert {"heartbeat", "clear-expired-sessions", "dev-add-every-30-seconds"} <= set(
        settings.CELERY_BEAT_SCHEDULE
    )
    assert run_checks(tags=["celery"]) == []


def test_a_misspelled_task_fails_manage_py_check_naming_the_entry(beat_schedule_settings) -> None:
    misspelled = {"heartbeat": {"task": "base.tasks.heartbeet", "schedule": 300}}

    completed = manage_py_check(**beat_schedule_settings(misspelled))

    assert completed.returncode == 1
    assert (
        "(infrastructure.E002) CELERY_BEAT_SCHEDULE entry 'heartbeat' names task "
        "'base.tasks.heartbeet', which the Celery app does not register.\n"
        "\tHINT: Did you mean 'base.tasks.heartbeat'?"
    ) in completed.stderr
    assert "1 issue" in completed.stderr


def test_the_same_settings_without_the_typo_pass(beat_schedule_settings) -> None:
    correct = {"heartbeat": {"task": "base.tasks.heartbeat", "schedule": 300}}

    completed = manage_py_check(**beat_schedule_settings(correct))

    assert completed.returncode == 0, completed.stderr
    assert "System check identified no issues" in completed.stdout


def settings_importing(tmp_path: Path, modules: list[str]) -> dict[str, str]:
    """Test settings with CELERY_IMPORTS and a beat entry for a task defined outside any app."""
    (tmp_path / "nightly_reports.py").write_text(
        "from celery import shared_task\n\n\n@shared_task\ndef send() -> None:\n    pass\n"
    )
    (tmp_path / "imports_settings.py").write_text(
        "from {{ cookiecutter.project_slug }}.settings.test import *\n"
        "from {{ cookiecutter.project_slug }}.settings.test import CELERY_BEAT_SCHEDULE\n"
        f"CELERY_IMPORTS = {modules!r}\n"
        "CELERY_BEAT_SCHEDULE = CELERY_BEAT_SCHEDULE | "
        "{'nightly-report': {'task': 'nightly_reports.send', 'schedule': 3600}}\n"
    )
    return {"DJANGO_SETTINGS_MODULE": "imports_settings", "PYTHONPATH": str(tmp_path)}


def test_a_task_in_a_module_of_celery_imports_passes(tmp_path) -> None:
    completed = manage_py_check(**settings_importing(tmp_path, ["nightly_reports"]))

    assert completed.returncode == 0, completed.stderr
    assert "System check identified no issues" in completed.stdout


def test_a_module_of_celery_imports_that_cannot_be_imported_is_an_error(tmp_path) -> None:
    completed = manage_py_check(**settings_importing(tmp_path, ["nightly_reprots"]))

    assert completed.returncode == 1
    assert (
        "(infrastructure.E004) Celery cannot import the task module 'nightly_reprots': "
        "No module named 'nightly_reprots'."
    ) in completed.stderr


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"task": "reports.tasks.send", "schedule": 60},
            "names task 'reports.tasks.send', which the Celery app does not register",
        ),
        (
            {"task": "base.tasks.add", "schedule": "*/5 * * * *"},
            "has a schedule beat cannot use: '*/5 * * * *' is not a schedule",
        ),
        (
            {"task": "base.tasks.add", "schedule": 0},
            "has a schedule beat cannot use: 0 is not a positive interval",
        ),
        (
            {"task": "base.tasks.add", "schedule": timedelta(0)},
            "has a schedule beat cannot use: datetime.timedelta(0) is not a positive interval",
        ),
        ({"task": "base.tasks.add"}, "is not a dict with 'task' and 'schedule'"),
    ],
    ids=["unknown-task", "cron-string", "zero-seconds", "zero-timedelta", "no-schedule"],
)
def test_an_entry_beat_cannot_run_is_an_error_naming_it(entry, message) -> None:
    errors = beat_schedule_errors({"nightly-report": entry}, app)

    assert [error.msg for error in errors] == [
        f"CELERY_BEAT_SCHEDULE entry 'nightly-report' {message}."
    ]


def test_an_unknown_task_with_no_similar_name_gets_a_hint_but_no_guess() -> None:
    # An app of its own, whose tasks stay put: the project's may gain one named like this.
    isolated = Celery("isolated", set_as_current=False)

    @isolated.task(name="billing.tasks.charge")
    def charge() -> None:
        """The one task of this app."""

    schedule = {"report": {"task": "reports.tasks.send", "schedule": 60}}

    [error] = beat_schedule_errors(schedule, isolated)

    assert error.id == "infrastructure.E002"
    assert "Did you mean" not in error.hint


@pytest.mark.parametrize(
    "schedule",
    [30, 2.5, timedelta(minutes=5), crontab(hour=3, minute=30), crontab(day_of_week="mon")],
    ids=repr,
)
def test_every_form_celery_accepts_passes(schedule) -> None:
    assert beat_schedule_errors({"ok": {"task": "base.tasks.add", "schedule": schedule}}, app) == []

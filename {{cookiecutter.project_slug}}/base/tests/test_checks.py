"""The beat schedule check: `manage.py check` fails on an entry beat could not run."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.checks import run_checks

from base.checks import beat_schedule_errors
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
        "(base.E002) CELERY_BEAT_SCHEDULE entry 'heartbeat' names task 'base.tasks.heartbeet', "
        "which the Celery app does not register.\n\tHINT: Did you mean 'base.tasks.heartbeat'?"
    ) in completed.stderr
    assert "1 issue" in completed.stderr


def test_the_same_settings_without_the_typo_pass(beat_schedule_settings) -> None:
    correct = {"heartbeat": {"task": "base.tasks.heartbeat", "schedule": 300}}

    completed = manage_py_check(**beat_schedule_settings(correct))

    assert completed.returncode == 0, completed.stderr
    assert "System check identified no issues" in completed.stdout


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
    [error] = beat_schedule_errors({"report": {"task": "reports.tasks.send", "schedule": 60}}, app)

    assert error.id == "base.E002"
    assert "Did you mean" not in error.hint


@pytest.mark.parametrize(
    "schedule",
    [30, 2.5, timedelta(minutes=5), crontab(hour=3, minute=30), crontab(day_of_week="mon")],
    ids=repr,
)
def test_every_form_celery_accepts_passes(schedule) -> None:
    assert beat_schedule_errors({"ok": {"task": "base.tasks.add", "schedule": schedule}}, app) == []

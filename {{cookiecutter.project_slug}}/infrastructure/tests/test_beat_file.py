"""With the file scheduler, beat refuses in one line to start on a file it cannot use."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from infrastructure.tests.beat import started_scheduler


def start_beat(schedule_filename: Path) -> subprocess.CompletedProcess[str]:
    """Run `celery beat` until it exits; a beat that starts runs into the timeout instead."""
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "{{ cookiecutter.project_slug }}", "beat"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "CELERY_BEAT_SCHEDULE_FILENAME": str(schedule_filename)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_beat_keeps_its_schedule_in_the_file(tmp_path) -> None:
    path = tmp_path / "celerybeat-schedule"
    scheduler = started_scheduler(schedule_filename=str(path))
    entries = set(scheduler.schedule)
    scheduler.close()

    assert set(settings.CELERY_BEAT_SCHEDULE) <= entries
    assert list(tmp_path.glob("celerybeat-schedule*"))


@pytest.mark.parametrize(
    ("unusable", "problem"),
    [
        ("missing/celerybeat-schedule", "directory {tmp_path}/missing does not exist"),
        # What a container's bind mount of a file that did not exist leaves behind.
        ("directory/", "{tmp_path}/directory is not a file"),
    ],
    ids=["missing-directory", "a-directory-instead"],
)
def test_an_unusable_file_stops_beat_with_one_line(tmp_path, unusable, problem) -> None:
    path = tmp_path / unusable
    if unusable.endswith("/"):
        path.mkdir()

    completed = start_beat(path)

    assert completed.returncode == 78  # EX_CONFIG: a supervisor can stop restarting it.
    assert "Traceback" not in completed.stdout + completed.stderr
    [line] = [line for line in completed.stderr.splitlines() if "SCHEDULE_FILENAME" in line]
    assert line.endswith(
        f"Beat cannot keep its schedule in CELERY_BEAT_SCHEDULE_FILENAME={path}: "
        f"{problem.format(tmp_path=tmp_path)}. Set it to a path in a directory this beat can "
        "write; deleting the old file is safe (it only holds last-run times)."
    )

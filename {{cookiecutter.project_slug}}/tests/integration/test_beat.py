"""A real beat process sends the schedule's entries, and the worker runs them."""
{%- if cookiecutter.broker == "rabbitmq" %}

import os

from infrastructure.beat_guard import EXIT_TEMPORARY_FAILURE
from infrastructure.tests.probe import probe

from .conftest import TIMEOUT, CeleryProcess
{%- endif %}


def test_beat_sends_a_scheduled_task_that_the_worker_runs(start_celery, worker, tmp_path) -> None:
    beat = start_celery(
        "beat",
        "--loglevel=INFO",
        name="beat",
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "celerybeat-schedule"),
    )
    try:
        # settings/test.py schedules this entry every second.
        beat.wait_for_log(r"Sending due task integration-heartbeat \(base\.tasks\.heartbeat\)")
        worker.wait_for_log(r"base\.tasks\.heartbeat\[[^\]]+\] succeeded")
    finally:
        beat.stop()
{%- if cookiecutter.broker == "rabbitmq" %}


def test_a_second_beat_of_the_same_name_stops_with_one_line(start_celery, tmp_path) -> None:
    node = f"twin-{os.getpid()}@%h"  # As two hosts of the same name would both be called.

    def start_beat(name: str) -> CeleryProcess:
        return start_celery(
            "beat",
            "--loglevel=INFO",
            f"--hostname={node}",
            name=name,
            CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / f"{name}-schedule"),
        )

    first = start_beat("first-beat")
    first.wait_for_log(r"beat pidbox: Connected to")
    second = start_beat("second-beat")
    try:
        assert second.process.wait(timeout=TIMEOUT) == EXIT_TEMPORARY_FAILURE
        assert probe("beat-alive", "--node", node).returncode == 0  # The first runs on.
    finally:
        first.stop()
    # Restarted by its supervisor once the first has stopped, the standby takes over.
    standby = start_beat("standby-beat")
    standby.wait_for_log(r"beat pidbox: Connected to")
    taken_over = probe("beat-alive", "--node", node)
    standby.stop()

    refusals = [line for line in second.log().splitlines() if "Another beat named" in line]
    assert len(refusals) == 1
    assert "this one would send every scheduled task twice" in refusals[0]
    assert "Traceback" not in second.log()
    assert "Sending due task" not in second.log()
    assert taken_over.returncode == 0, taken_over.stderr
{%- endif %}

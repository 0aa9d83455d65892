"""A real beat process sends the schedule's entries, and the worker runs them."""
{%- if cookiecutter.broker == "rabbitmq" %}

import os
import time

from infrastructure.tests.probe import probe

from .conftest import CeleryProcess
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


def test_a_second_beat_of_the_same_name_waits_without_fighting_for_its_queue(
    start_celery, tmp_path
) -> None:
    # RabbitMQ lets one connection only consume a beat's remote-control queue, named after
    # its node name: a standby of the same name (two hosts of the same name) must not try.
    node = f"twin-{os.getpid()}@%h"

    def start_beat(name: str) -> CeleryProcess:
        return start_celery(
            "beat",
            "--loglevel=INFO",
            f"--hostname={node}",
            name=name,
            BEAT_LEADER_POLL_INTERVAL="1",
            CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / f"{name}-schedule"),
        )

    first = start_beat("first-beat")
    first.wait_for_log(r"beat pidbox: Connected to")
    second = start_beat("second-beat")
    second.wait_for_log(r"is a standby")
    time.sleep(2)  # A standby that consumed the queue would have logged ResourceLocked.
    both = probe("beat-alive", "--node", node)
    first.stop()
    second.wait_for_log(r"beat pidbox: Connected to")
    taken_over = probe("beat-alive", "--node", node)
    second.stop()

    standby = second.log().split("took over as leader")[0]
    assert "Traceback" not in standby and "ResourceLocked" not in standby
    assert "Sending due task" not in standby
    assert both.returncode == 0, both.stderr
    assert taken_over.returncode == 0, taken_over.stderr
{%- endif %}

"""A real beat process sends the schedule's entries, and the worker runs them."""


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

"""Django's task API (django.tasks) on a real worker, through the real broker.

The task is enqueued with Django's API only; the worker runs it, and the result is read
back with Django's API from where the project stores Celery's results.
"""

import time
from datetime import timedelta

from django.tasks import TaskResult, TaskResultStatus, default_task_backend
from django.utils import timezone

from base.django_tasks import send_notification

from .conftest import TIMEOUT


def finished(result: TaskResult) -> TaskResult:
    """Refresh the result until the task has finished; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not result.is_finished:
        assert time.monotonic() < deadline, f"{result.id} still {result.status}"
        time.sleep(0.1)
        result.refresh()
    return result


def test_a_django_task_runs_on_the_worker_and_its_result_reads_back(worker) -> None:
    result = send_notification.enqueue("someone@example.com", "Hello", "A message.")

    assert default_task_backend.get_result(result.id).status == TaskResultStatus.READY
    finished(result)

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1
    assert result.worker_ids == [worker.wait_for_log(r"\b(integration@\S+) ready").group(1)]
    assert worker.wait_for_log(rf"base\.django_tasks\.send_notification\[{result.id}\] succeeded")
    # Read again from nothing but its id, as another process would.
    again = send_notification.get_result(result.id)
    assert (again.status, again.args, again.return_value) == (
        TaskResultStatus.SUCCESSFUL,
        ["someone@example.com", "Hello", "A message."],
        1,
    )


def test_a_failed_django_task_reports_its_error(worker) -> None:
    result = finished(send_notification.enqueue("someone@example.com"))

    assert result.status == TaskResultStatus.FAILED
    [error] = result.errors
    assert error.exception_class is TypeError
    assert "missing 2 required positional arguments" in error.traceback


def test_run_after_holds_the_task_until_then(worker) -> None:
    later = send_notification.using(run_after=timezone.now() + timedelta(seconds=2))

    result = later.enqueue("someone@example.com", "Later", "A message.")
    time.sleep(1)
    result.refresh()
    assert result.status == TaskResultStatus.READY

    assert finished(result).status == TaskResultStatus.SUCCESSFUL
    assert result.finished_at >= later.run_after

"""Django's task API (django.tasks) on a real worker, through the real broker.

Tasks are enqueued with Django's API only and run by the worker; the outcome is read back
with Django's API from the result store, or from the worker's log where the project
stores no results (result_backend none), so the same assertions hold for every one.
"""

import time
from datetime import timedelta

from django.tasks import TaskResult, TaskResultStatus, default_task_backend
from django.utils import timezone

from base.django_tasks import send_notification

from .conftest import TIMEOUT, CeleryProcess


def outcome(result: TaskResult, worker: CeleryProcess) -> str:
    """Wait for the task to finish; return "SUCCESSFUL: <value>" or "FAILED: <exception>"."""
    if not default_task_backend.supports_get_result:
        finished = r"(succeeded in [\d.e-]+s: (.*)|raised unexpected: (\w+))"
        match = worker.wait_for_log(rf"send_notification\[{result.id}\] {finished}")
        if match.group(2) is not None:
            return f"SUCCESSFUL: {match.group(2)}"
        return f"FAILED: {match.group(3)}"
    deadline = time.monotonic() + TIMEOUT
    while not result.is_finished:
        assert time.monotonic() < deadline, f"{result.id} still {result.status}"
        time.sleep(0.1)
        result.refresh()
    if result.status == TaskResultStatus.SUCCESSFUL:
        return f"SUCCESSFUL: {result.return_value!r}"
    return f"FAILED: {result.errors[-1].exception_class.__name__}"


def test_a_django_task_runs_on_the_worker(worker) -> None:
    result = send_notification.enqueue("someone@example.com", "Hello", "A message.")

    assert outcome(result, worker) == "SUCCESSFUL: 1"
    # The worker's log names the Django task, not the Celery task that carries it.
    assert worker.wait_for_log(rf"base\.django_tasks\.send_notification\[{result.id}\] succeeded")


def test_a_failed_django_task_reports_its_exception(worker) -> None:
    result = send_notification.enqueue("someone@example.com")

    assert outcome(result, worker) == "FAILED: TypeError"


def test_run_after_holds_the_task_until_then(worker) -> None:
    later = send_notification.using(run_after=timezone.now() + timedelta(seconds=2))

    result = later.enqueue("someone@example.com", "Later", "A message.")

    assert outcome(result, worker) == "SUCCESSFUL: 1"
    assert timezone.now() >= later.run_after


def test_a_result_reads_back_from_its_id_alone_where_results_are_stored(worker) -> None:
    """As another process would: get_result() rebuilds it, READY until the worker is done."""
    result = send_notification.enqueue("someone@example.com", "Hello", "A message.")

    if not default_task_backend.supports_get_result:
        outcome(result, worker)
        assert result.status == TaskResultStatus.READY  # Nothing to refresh it from.
        return
    assert send_notification.get_result(result.id).status in {
        TaskResultStatus.READY,
        TaskResultStatus.SUCCESSFUL,
    }
    outcome(result, worker)
    again = send_notification.get_result(result.id)
    assert (again.status, again.args, again.kwargs, again.return_value) == (
        TaskResultStatus.SUCCESSFUL,
        ["someone@example.com", "Hello", "A message."],
        {},
        1,
    )
    assert again.worker_ids == [worker.wait_for_log(r"\b(integration@\S+) ready").group(1)]
    assert again.finished_at is not None


def test_a_queue_name_is_the_celery_queue_a_worker_consumes(settings, start_worker) -> None:
    """Listed in TASKS' QUEUES, a queue name routes the task to that Celery queue."""
    settings.TASKS = {
        "default": {**settings.TASKS["default"], "QUEUES": ["default", "django-reports"]}
    }
    reports = start_worker("django-reports", queue="django-reports")

    result = send_notification.using(queue_name="django-reports").enqueue(
        "someone@example.com", "Report", "A message."
    )

    assert outcome(result, reports) == "SUCCESSFUL: 1"
    assert reports.wait_for_log(rf"send_notification\[{result.id}\] succeeded")

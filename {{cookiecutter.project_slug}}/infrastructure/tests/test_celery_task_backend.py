"""Django's task API on Celery (celery_task_backend.py), with tasks run inline.

Celery runs tasks inline in the unit tests (conftest.py), and so does the backend: each
enqueue() goes through Celery's apply_async and its result store, as on a worker.
tests/integration/test_django_tasks.py runs the same on a real worker.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.tasks import TaskResultStatus, default_task_backend, task, task_backends
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.utils import timezone

from base.django_tasks import send_notification
from base.tasks import add
from infrastructure.celery_task_backend import (
    BROKER_HAS_PRIORITIES,
    CeleryBackend,
    celery_priority,
    run_django_task,
)

pytestmark = pytest.mark.django_db


@task(takes_context=True)
def attempt(context, label: str) -> str:
    """A task that reads its context: which attempt this is."""
    return f"{label} {context.attempt}"


@task
async def double(number: int) -> int:
    """A coroutine task: the worker runs it to completion."""
    return 2 * number


def test_the_project_enqueues_onto_celery() -> None:
    assert isinstance(task_backends["default"], CeleryBackend)
    assert default_task_backend.supports_defer


def test_an_enqueued_task_runs_and_its_result_reads_back() -> None:
    result = send_notification.enqueue("someone@example.com", "Hello", "A message.")

    [message] = mail.outbox
    assert (message.subject, message.to) == ("Hello", ["someone@example.com"])
    # Results are read back wherever Celery stores them; without a result backend,
    # get_result says so.
    stored = getattr(settings, "CELERY_RESULT_BACKEND", None)
    assert default_task_backend.supports_get_result == bool(stored)
    if not default_task_backend.supports_get_result:
        with pytest.raises(NotImplementedError, match="get_result needs a result backend"):
            result.refresh()
        return
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1
    assert result.finished_at is not None
    again = send_notification.get_result(result.id)
    assert (again.args, again.kwargs, again.return_value) == (
        ["someone@example.com", "Hello", "A message."],
        {},
        1,
    )


def test_a_failed_task_reports_its_exception() -> None:
    result = send_notification.enqueue("someone@example.com")

    assert result.status == TaskResultStatus.READY  # As returned: it was sent, then ran.
    if default_task_backend.supports_get_result:
        result.refresh()
        assert result.status == TaskResultStatus.FAILED
        [error] = result.errors
        assert error.exception_class is TypeError
        assert "missing 2 required positional arguments" in error.traceback


def test_a_task_that_takes_its_context_and_a_coroutine_task_run() -> None:
    results = [attempt.enqueue("attempt"), double.enqueue(21)]

    if default_task_backend.supports_get_result:
        for result in results:
            result.refresh()
        assert [result.return_value for result in results] == ["attempt 1", 42]


def test_an_unknown_id_or_a_celery_tasks_id_has_no_result() -> None:
    if default_task_backend.supports_get_result:
        with pytest.raises(TaskResultDoesNotExist):
            default_task_backend.get_result("no-such-id")
        with pytest.raises(TaskResultDoesNotExist):
            default_task_backend.get_result(add.delay(2, 2).id)


def test_arguments_must_be_json() -> None:
    with pytest.raises(TypeError):
        send_notification.enqueue("someone@example.com", "Hello", object())

    assert mail.outbox == []


def test_a_task_that_cannot_be_sent_leaves_no_record(monkeypatch) -> None:
    """The broker refused it: get_result() must not report it as waiting to run."""
    sent = []

    def broker_away(*args, task_id: str, **options) -> None:
        sent.append(task_id)
        raise OSError("broker away")

    monkeypatch.setattr(run_django_task, "apply_async", broker_away)
    with pytest.raises(OSError, match="broker away"):
        send_notification.enqueue("someone@example.com", "Hello", "A message.")

    [task_id] = sent
    if default_task_backend.supports_get_result:
        with pytest.raises(TaskResultDoesNotExist):
            default_task_backend.get_result(task_id)


def test_the_worker_runs_django_tasks_only() -> None:
    """A message naming any other function (a Celery task here) is refused, not called."""
    outcome = run_django_task.apply(args=["base.tasks.add", [2, 2], {}])

    assert outcome.failed()
    assert "base.tasks.add is not a django.tasks Task" in str(outcome.result)


def test_a_queue_the_backend_does_not_list_is_refused() -> None:
    with pytest.raises(InvalidTask, match="Queue 'reports' is not valid"):
        send_notification.using(queue_name="reports")


def test_priorities_that_the_broker_cannot_keep_are_refused() -> None:
    with pytest.raises(InvalidTask, match="priority 10 cannot be kept"):
        send_notification.using(priority=10)
    if BROKER_HAS_PRIORITIES:
        # Redis: 0 is every Celery task's band; lower Django priorities go behind it.
        assert send_notification.using(priority=-50).priority == -50
        priorities = [0, -1, -33, -34, -66, -67, -100]
        assert [celery_priority(p) for p in priorities] == [None, 3, 3, 6, 6, 9, 9]
    else:
        with pytest.raises(InvalidTask, match="no x-max-priority"):
            send_notification.using(priority=-50)


def test_run_after_further_than_the_broker_can_hold_is_refused() -> None:
    longest = getattr(settings, "BROKER_LONGEST_COUNTDOWN", None)
    soon = send_notification.using(run_after=timezone.now() + timedelta(seconds=30))

    assert soon.run_after is not None
    if longest is not None:
        with pytest.raises(InvalidTask, match="BROKER_LONGEST_COUNTDOWN"):
            send_notification.using(run_after=timezone.now() + timedelta(seconds=longest + 60))

"""The django-db result backend: one row per task, written in one statement, seen quickly."""

import pytest
from celery import Celery, exceptions
from django.db import connection
from django_celery_results.models import TaskResult

from base.tasks import add
from infrastructure import results
from {{ cookiecutter.project_slug }} import celery_app

pytestmark = pytest.mark.django_db


def test_a_result_is_stored_as_a_task_result_row() -> None:
    result = add.delay(2, 3)

    row = TaskResult.objects.get(task_id=result.id)
    assert row.status == "SUCCESS"
    assert row.task_name == "base.tasks.add"
    assert row.result == "5"


def test_a_task_keeps_one_row_through_its_states() -> None:
    backend = results.DatabaseBackend(app=celery_app)

    backend.store_result("task-1", None, "STARTED")
    started = TaskResult.objects.get(task_id="task-1")
    backend.store_result("task-1", 42, "SUCCESS")
    done = TaskResult.objects.get(task_id="task-1")

    assert (started.status, done.status, done.result) == ("STARTED", "SUCCESS", "42")
    assert done.date_started == started.date_started is not None
    assert done.date_created == started.date_created
    assert done.date_done >= started.date_done
    assert backend.get_task_meta("task-1")["result"] == 42


@pytest.mark.django_db(transaction=True)
def test_a_write_is_one_statement_in_no_transaction_of_its_own() -> None:
    # BEGIN and COMMIT around one statement would be two more round trips per write.
    backend = results.DatabaseBackend(app=celery_app)
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql.split()[0], "ON CONFLICT" in sql, connection.get_autocommit()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        backend.store_result("task-1", 42, "SUCCESS")

    assert statements == [("INSERT", True, True)]
    assert TaskResult.objects.get(task_id="task-1").result == "42"


class FakeClock:
    """Stands in for time.monotonic and time.sleep, recording each wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(results.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(results.time, "sleep", fake.sleep)
    return fake


def backend_ready_after(polls: int, monkeypatch) -> results.DatabaseBackend:
    """A backend (of an app that has workers) whose task is PENDING for `polls` polls."""
    backend = results.DatabaseBackend(app=Celery("polling", set_as_current=False))
    states = iter(["PENDING"] * polls + ["SUCCESS"])
    monkeypatch.setattr(backend, "get_task_meta", lambda task_id: {"status": next(states)})
    return backend


def test_get_polls_quickly_at_first_then_backs_off_to_the_interval(clock, monkeypatch) -> None:
    backend = backend_ready_after(polls=10, monkeypatch=monkeypatch)

    assert backend.wait_for("id", interval=0.5) == {"status": "SUCCESS"}

    assert clock.waits == [min(results.FIRST_WAIT * 2**n, 0.5) for n in range(10)]
    assert clock.waits[0] == 0.002
    assert clock.waits[-1] == 0.5


def test_get_gives_up_at_its_timeout(clock, monkeypatch) -> None:
    backend = backend_ready_after(polls=1000, monkeypatch=monkeypatch)

    with pytest.raises(exceptions.TimeoutError):
        backend.wait_for("id", timeout=1.0, interval=0.5)
    assert clock.now == pytest.approx(1.0)

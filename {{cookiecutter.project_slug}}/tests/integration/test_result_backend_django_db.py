"""With the django-db backend, a result is a django_celery_results TaskResult row, written
through a database outage."""

import collections
import re
import time
import urllib.parse
from datetime import timedelta

from celery import group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_results.backends import DatabaseBackend as ResultsDatabaseBackend
from django_celery_results.models import GroupResult, TaskResult

from base.tasks import add
from infrastructure import results
from {{ cookiecutter.project_slug }}.celery import app

from .conftest import TIMEOUT, OutageProxy, database_url_of_test_database, with_address
from .tasks import fail, pause


def test_the_result_is_a_task_result_row_written_by_the_worker(worker) -> None:
    result = add.delay(20, 22)
    result.get(timeout=TIMEOUT)

    row = TaskResult.objects.get(task_id=result.id)
    assert (row.status, row.task_name, row.result) == ("SUCCESS", "base.tasks.add", "42")
    assert row.worker.startswith("integration@")


def test_a_read_is_one_statement_and_gives_what_django_celery_results_gives(worker) -> None:
    succeeded, failed = add.delay(2, 3), fail.delay("on purpose")
    succeeded.get(timeout=TIMEOUT)
    failed.get(timeout=TIMEOUT, propagate=False)
    backend = app.backend

    for task_id in (succeeded.id, failed.id, "never-sent"):
        with CaptureQueriesContext(connection) as queries:
            ours = backend._get_task_meta_for(task_id)
        theirs = ResultsDatabaseBackend._get_task_meta_for(backend, task_id)

        assert [query["sql"] for query in queries] == [
            results.read_statement("default").replace("%s", f"'{task_id}'")
        ]
        # An exception compares by identity: compare its type and arguments.
        for meta in (ours, theirs):
            if isinstance(meta["result"], Exception):
                meta["result"] = (type(meta["result"]), meta["result"].args)
        assert ours == theirs
    assert (ours["status"], theirs["status"]) == ("PENDING", "PENDING")


TASKS = 200
OUTAGE_SECONDS = 10


def test_every_result_is_stored_through_a_ten_second_database_outage(start_worker) -> None:
    # The worker reaches PostgreSQL through a proxy that cuts its connections and refuses
    # new ones for the outage; this test reads the results past it, on its own connection.
    database = urllib.parse.urlsplit(database_url_of_test_database())
    proxy = OutageProxy((database.hostname or "localhost", database.port or 5432))
    through_proxy = with_address(database_url_of_test_database(), "127.0.0.1", proxy.port)
    worker = start_worker("db-outage", queue="db-outage", DATABASE_URL=through_proxy)

    batch = group(pause.s(0.05) for _ in range(TASKS)).apply_async(queue="db-outage")
    deadline = time.monotonic() + TIMEOUT
    while worker.log().count(" succeeded in ") < 20:  # Well into the batch.
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.1)
    proxy.outage(seconds=OUTAGE_SECONDS)
    back = time.monotonic()
    batch.join(timeout=TIMEOUT * 2, propagate=False)
    recovered = time.monotonic() - back

    states = collections.Counter(result.state for result in batch.results)
    runs = collections.Counter(re.findall(r"pause\[([\w-]+)\] succeeded", worker.log()))
    duplicated = sum(1 for count in runs.values() if count > 1)
    print(
        f"\n{TASKS} sent, {states['SUCCESS']} results stored, {TASKS - len(runs)} never ran, "
        f"{duplicated} ran twice; the last result {recovered:.1f} s after the database "
        f"came back ({OUTAGE_SECONDS} s outage)"
    )
    assert states == {"SUCCESS": TASKS}, states
    assert "Retrying" in worker.log()  # The outage did hit result writes.


def test_cleanup_deletes_expired_results_in_batches_of_their_own(monkeypatch) -> None:
    expired = [f"expired-{n}" for n in range(7)]
    fresh = [f"fresh-{n}" for n in range(3)]
    TaskResult.objects.bulk_create(TaskResult(task_id=task_id) for task_id in expired + fresh)
    GroupResult.objects.create(group_id="expired-group")
    # date_done is set to now on every save: age the rows with UPDATE.
    eight_days_ago, six_days_ago = (
        timezone.now() - timedelta(days=8),
        timezone.now() - timedelta(days=6),
    )
    TaskResult.objects.filter(task_id__in=expired).update(date_done=eight_days_ago)
    TaskResult.objects.filter(task_id__in=fresh).update(date_done=six_days_ago)
    GroupResult.objects.update(date_done=eight_days_ago)
    monkeypatch.setattr(results, "CLEANUP_BATCH_SIZE", 3)
    pauses: list[float] = []
    monkeypatch.setattr(results.time, "sleep", pauses.append)
    backend = results.DatabaseBackend(app=app, expires=timedelta(days=7))

    with CaptureQueriesContext(connection) as queries:
        backend.cleanup()

    assert sorted(TaskResult.objects.values_list("task_id", flat=True)) == fresh
    assert not GroupResult.objects.exists()
    table = '"django_celery_results_taskresult"'
    deletes = [q["sql"] for q in queries if q["sql"].startswith(f"DELETE FROM {table}")]
    # 3 + 3 + 1 rows, each DELETE committed on its own: no statement holds them all.
    assert len(deletes) == 3, deletes
    assert all("LIMIT 3" in sql for sql in deletes), deletes
    # A pause after each full batch, none after the last (nor for the one group result).
    assert len(pauses) == 2 and all(pause > 0 for pause in pauses), pauses

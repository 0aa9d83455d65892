"""django-celery-results' database backend, quicker to write a result and to wait for one.

- Writing: django-celery-results reads the task's row, then inserts it in a transaction
  (or saves it again): four statements for each state a task goes through. Here the same
  row is written by one INSERT ... ON CONFLICT statement, in autocommit, which also
  settles two workers writing one task at once. Not through Django's
  bulk_create(update_conflicts=True), which builds the same statement but wraps even one
  row in a transaction: BEGIN and COMMIT are two more round trips for every write.
  Measured on PostgreSQL with a real worker (3,000 tasks, median of 3 interleaved
  rounds), its CPU per task went from 3.93 ms with bulk_create to 3.28 ms. TaskResult's
  save signals are not sent for these writes.
- Retrying: with CELERY_RESULT_BACKEND_ALWAYS_RETRY (settings), Celery writes a result
  again when the backend says the error is safe to retry. django-celery-results says so
  for InterfaceError (a connection already closed) only; a database restart raises
  OperationalError first (the write that found the server gone, then each connection
  refused), and those results were lost. The write is one idempotent upsert, so both
  are retried here, on a new connection.
- Waiting: database backends cannot push a result to a waiting caller, so
  `AsyncResult.get()` polls, every `interval` (0.5 s unless the caller says otherwise):
  a task that took 2 ms kept its caller waiting half a second. Here the wait between
  polls starts at FIRST_WAIT and doubles up to `interval`, so quick tasks are seen within
  milliseconds and a long wait still costs one indexed query per `interval`.
- Reading: django-celery-results builds its query through the ORM at every read, which
  cost the waiting caller 0.57 ms of CPU a poll, against 0.30 ms with the SELECT built
  once (PostgreSQL; other databases keep django-celery-results' read).
- Cleaning up: beat's daily celery.backend_cleanup deletes the results older than
  CELERY_RESULT_EXPIRES. django-celery-results does that in one DELETE, one transaction:
  on a busy project, a million rows whose locks it holds until the last is gone, while
  its snapshot keeps vacuum from reclaiming anything newer. Here they go in batches of
  CLEANUP_BATCH_SIZE, oldest first along the date_done index, each batch a statement and
  a transaction of its own, with a pause after each so that tasks keep their pace.
"""

import binascii
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django
from celery import exceptions, states
from celery.utils.time import maybe_timedelta
from django.apps import apps

if not apps.ready:
    # `celery call`, `celery result` and the like load this backend in a process where
    # Celery has not set Django up (it does so for workers and beat); the models imported
    # below need it.
    django.setup()

from django.db import InterfaceError, OperationalError, connections, models, router
from django.utils import timezone
from django_celery_results.backends import DatabaseBackend as ResultsDatabaseBackend
from django_celery_results.models import TaskResult
from kombu.exceptions import DecodeError

logger = logging.getLogger(__name__)

FIRST_WAIT = 0.002  # Seconds.
# Rows per DELETE in the expired-results cleanup. A batch holds its rows' locks only while
# its own statement runs: 5,000 rows took 31 ms (104 at most) in the template's benchmark,
# short beside any task, while a million expired rows still take only 200 statements
# (about 7 s of deleting in all; django-celery-results' single DELETE took 1.6 s, holding
# every lock until its end).
CLEANUP_BATCH_SIZE = 5000
# After each batch the cleanup waits CLEANUP_PAUSE times as long as the batch took, so it
# keeps the database busy a sixth of the time at most, whatever the machine. In the
# benchmark (a quiet 2-core machine, where the database, worker and producer share the
# cores) the worker kept 0.74 of its rate during the cleanup of a million rows with
# pauses of 3 times, 0.79 with 5; a million rows then take well under a minute, once a
# day.
CLEANUP_PAUSE = 5


class DatabaseBackend(ResultsDatabaseBackend):
    def _store_result(
        self,
        task_id: str,
        result: Any,
        status: str,
        traceback: str | None = None,
        request: Any = None,
        using: str | None = None,
    ) -> Any:
        """Write the task's row, with the same columns django-celery-results writes."""
        using = using or router.db_for_write(TaskResult)
        if not connections[using].features.supports_update_conflicts_with_target:
            # No ON CONFLICT (task_id) here (MySQL, say): django-celery-results' own writes.
            return super()._store_result(task_id, result, status, traceback, request, using)
        content_type, content_encoding, encoded_result = self.encode_content(result)
        meta = {
            **self._get_meta_from_request(request),
            "children": self.current_task_children(request),
        }
        now = timezone.now()
        row = {
            "task_id": task_id,
            "status": status,
            "result": encoded_result,
            "traceback": traceback,
            "content_type": content_type,
            "content_encoding": content_encoding,
            "meta": self.encode_content(meta)[2],
            **self._get_extended_properties(request, traceback),
            "date_done": now,
        }
        if status == states.STARTED:
            row["date_started"] = now
        upsert(row, created=now, using=using)
        return encoded_result

    def _get_task_meta_for(self, task_id: str) -> dict:
        """The task's meta, as django-celery-results gives it, read by a statement built once."""
        using = router.db_for_read(TaskResult)
        connection = connections[using]
        if connection.vendor != "postgresql":
            # psycopg returns every column as the ORM would (timestamptz as an aware
            # datetime); other drivers' datetimes need Django's converters.
            return super()._get_task_meta_for(task_id)
        with connection.cursor() as cursor:
            cursor.execute(read_statement(using), [task_id])
            row = cursor.fetchone()
        if row is None:  # No row yet: PENDING, as django-celery-results answers.
            task = TaskResult(task_id=task_id)
        else:
            task = TaskResult.from_db(using, [field.attname for field in READ_FIELDS], row)
        stored = task.as_dict()
        extra = self.decode_content(task, stored.pop("meta")) or {}
        arguments, keywords = stored["task_args"], stored["task_kwargs"]
        with contextlib.suppress(DecodeError, binascii.Error):  # Kept as stored, then.
            arguments = self.decode_content(task, arguments)
            keywords = self.decode_content(task, keywords)
        decoded = {
            "result": self.decode_content(task, stored["result"]),
            # Under both names, as django-celery-results gives them.
            "args": arguments,
            "kwargs": keywords,
            "task_args": arguments,
            "task_kwargs": keywords,
        }
        return self.meta_from_decoded({**stored, **extra, **decoded})

    def exception_safe_to_retry(self, exc: Exception) -> bool:
        """Retry a write that failed on the connection: it was lost, refused, or closed."""
        if isinstance(exc, OperationalError | InterfaceError):
            # The broken connection is of no more use: the next try opens a new one.
            connections[router.db_for_write(TaskResult)].close()
            return True
        return super().exception_safe_to_retry(exc)

    def cleanup(self) -> None:
        """Delete the task and group results older than result_expires, in batches."""
        if not self.expires:
            return
        expires = maybe_timedelta(self.expires)
        for model in (self.TaskModel, self.GroupModel):
            deleted = delete_expired(model, expires, CLEANUP_BATCH_SIZE, CLEANUP_PAUSE)
            logger.info("Deleted %d expired %s rows.", deleted, model.__name__)

    def wait_for(
        self,
        task_id: str,
        timeout: float | None = None,
        interval: float = 0.5,
        no_ack: bool = True,
        on_interval: Callable[[], None] | None = None,
    ) -> dict:
        """Poll until the task is ready; return its meta. Raise TimeoutError after `timeout`."""
        self._ensure_not_eager()
        deadline = None if timeout is None else time.monotonic() + timeout
        wait = min(FIRST_WAIT, interval)
        while True:
            meta = self.get_task_meta(task_id)
            if meta["status"] in states.READY_STATES:
                return meta
            if on_interval:
                on_interval()
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise exceptions.TimeoutError("The operation timed out.")
                wait = min(wait, left)
            time.sleep(wait)
            wait = min(wait * 2, interval)


def upsert(row: dict[str, Any], created: Any, using: str) -> None:
    """Insert a TaskResult row, or update every given column of the task's existing row.

    One INSERT ... ON CONFLICT (task_id) DO UPDATE statement, run on its own (autocommit;
    inside a caller's transaction, such as an inline task's, it joins that one instead).
    date_created is set only by the insert; a column not in `row` keeps its value (so
    date_started survives the SUCCESS that follows STARTED).
    """
    connection = connections[using]
    columns = (*row, "date_created")
    fields = [TaskResult._meta.get_field(name) for name in columns]
    values = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, (*row.values(), created), strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(upsert_statement(using, columns), values)


@functools.cache
def upsert_statement(using: str, columns: tuple[str, ...]) -> str:
    """The INSERT ... ON CONFLICT statement for these TaskResult columns, built once.

    Its syntax is PostgreSQL's and SQLite's, the databases that have
    supports_update_conflicts_with_target (DatabaseBackend._store_result checks).
    """
    quote = connections[using].ops.quote_name
    meta = TaskResult._meta
    names = [quote(meta.get_field(column).column) for column in columns]
    task_id = quote(meta.get_field("task_id").column)
    updated = [
        name
        for column, name in zip(columns, names, strict=True)
        if column not in ("task_id", "date_created")
    ]
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))}) "
        f"ON CONFLICT ({task_id}) DO UPDATE SET "
        + ", ".join(f"{name} = EXCLUDED.{name}" for name in updated)
    )


# What a read needs, in the model's order (Model.from_db takes them so): the columns of
# TaskResult.as_dict(), which the meta is made of, and the encoding of their contents.
READ_FIELDS = [
    field
    for field in TaskResult._meta.concrete_fields
    if field.name in {*TaskResult().as_dict(), "content_encoding"}
]


@functools.cache
def read_statement(using: str) -> str:
    """SELECT READ_FIELDS of one task's row, built once."""
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(field.column) for field in READ_FIELDS)
    task_id = quote(TaskResult._meta.get_field("task_id").column)
    return f"SELECT {columns} FROM {quote(TaskResult._meta.db_table)} WHERE {task_id} = %s"


def delete_expired(
    model: type[models.Model],
    expires: timedelta,
    batch_size: int,
    pause: float = 0,
    using: str | None = None,
) -> int:
    """Delete `model`'s rows done longer than `expires` ago, `batch_size` rows per statement.

    Each batch is one DELETE ... WHERE id IN (SELECT id ... ORDER BY date_done LIMIT n),
    committed on its own (Django's autocommit): the subquery walks the date_done index from
    its oldest end. Rows done after the cutoff, taken once at the start, are never read.
    After each full batch it waits `pause` times as long as the batch took. Returns how
    many rows went.
    """
    using = using or router.db_for_write(model)
    expired = model._default_manager.using(using).filter(date_done__lt=timezone.now() - expires)
    deleted = 0
    while True:
        started = time.monotonic()
        batch = expired.order_by("date_done").values("pk")[:batch_size]
        if not connections[using].features.allow_sliced_subqueries_with_in:
            batch = list(batch)  # MySQL: no LIMIT in an IN subquery, so the ids first.
        count, _ = model._default_manager.using(using).filter(pk__in=batch).delete()
        deleted += count
        if count < batch_size:
            return deleted
        time.sleep((time.monotonic() - started) * pause)

"""The class every task of the project is made from (celery.py names it)."""

import contextlib
from datetime import datetime

import psycopg
from celery.contrib.django.task import DjangoTask
from celery.utils.time import maybe_make_aware
from django.conf import settings
from django.db import connections
from psycopg.pq import TransactionStatus


def too_far_ahead(name: str, delay: float | None) -> str | None:
    """Why a task `delay` seconds ahead cannot be sent (see Task.apply_async), or None."""
    longest = getattr(settings, "BROKER_LONGEST_COUNTDOWN", None)
    if longest is None or delay is None or delay <= longest:
        return None
    return (
        f"{name}: a countdown or eta {delay:.0f} s ahead is more than the broker "
        f"can hold a task unacknowledged ({longest} s, BROKER_LONGEST_COUNTDOWN), so it "
        "would run twice; run work that far ahead from a beat entry, or raise "
        "CELERY_VISIBILITY_TIMEOUT"
    )


class Task(DjangoTask):
    """Django's task class (delay_on_commit, ...) with a retry delay chosen for this project,
    no countdown the broker cannot keep, and no query left running when a task fails.

    A task whose pool process died (out of memory, a crash) is sent again as retry() would
    send it (CELERY_TASK_RETRY_ON_WORKER_LOST), after default_retry_delay: Celery's 3
    minutes made a crash cost minutes, and a poison task took 9 to exhaust its retries.
    10 s lets a passing cause (a sibling's memory spike, a restart) go by, and the same
    task fails for good within half a minute. It is also the countdown of self.retry()
    called without one; a task can set its own with @shared_task(default_retry_delay=...).
    """

    default_retry_delay = 10

    def __call__(self, *args, **kwargs):
        """Run the task; if it raised in the middle of a query, abandon that query first.

        This runs before Celery stores the failure, which may need the database too.
        """
        try:
            return super().__call__(*args, **kwargs)
        except BaseException:
            abandon_interrupted_queries()
            raise

    def apply_async(self, *args, **options):
        """Refuse a countdown or eta further ahead than BROKER_LONGEST_COUNTDOWN (settings).

        A worker holds a task that is not due yet, unacknowledged, until it is; a broker
        that takes unacknowledged tasks back after a while (Redis's visibility timeout)
        would hand it to a second worker, and it would run twice. A signal receiver could
        only log this: Celery's signals swallow exceptions. Retries pass through here too.
        """
        delay = self.seconds_ahead(options.get("countdown"), options.get("eta"))
        problem = too_far_ahead(self.name, delay)
        if problem is not None:
            raise ValueError(problem)
        return super().apply_async(*args, **options)

    def seconds_ahead(self, countdown: float | None, eta: datetime | str | None) -> float | None:
        """How far ahead the task is due, or None when it is due now."""
        if countdown is not None:
            return float(countdown)
        if eta is None:
            return None
        if isinstance(eta, str):
            eta = datetime.fromisoformat(eta)
        return (maybe_make_aware(eta) - self.app.now()).total_seconds()


def abandon_interrupted_queries() -> None:
    """Cancel the query of each connection an exception interrupted, and close the connection.

    The soft time limit raises SoftTimeLimitExceeded wherever the task is, also while
    psycopg waits for a query's result. That connection then refuses every command
    ("can't change 'autocommit' now"), so the failure stored would be that error and not
    the time limit, and PostgreSQL would run the query to its end, holding its locks.
    The next task would replace the connection (its health check), but only then.
    """
    for connection in connections.all(initialized_only=True):
        driver = connection.connection
        if driver is None or connection.vendor != "postgresql":
            continue
        if driver.info.transaction_status == TransactionStatus.ACTIVE:
            # Rare (an interrupted query): the connection the cancel request opens
            # costs nothing per task. A cancel that fails must not hide the task's own
            # exception; closing is enough then (settings: client check interval).
            with contextlib.suppress(psycopg.Error):
                driver.cancel_safe(timeout=5)
            connection.close()

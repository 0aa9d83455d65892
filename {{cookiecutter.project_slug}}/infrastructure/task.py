"""The class every task of the project is made from (celery.py names it)."""

from datetime import datetime

from celery.contrib.django.task import DjangoTask
from celery.utils.time import maybe_make_aware
from django.conf import settings


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
    and no countdown the broker cannot keep.

    A task whose pool process died (out of memory, a crash) is sent again as retry() would
    send it (CELERY_TASK_RETRY_ON_WORKER_LOST), after default_retry_delay: Celery's 3
    minutes made a crash cost minutes, and a poison task took 9 to exhaust its retries.
    10 s lets a passing cause (a sibling's memory spike, a restart) go by, and the same
    task fails for good within half a minute. It is also the countdown of self.retry()
    called without one; a task can set its own with @shared_task(default_retry_delay=...).
    """

    default_retry_delay = 10

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

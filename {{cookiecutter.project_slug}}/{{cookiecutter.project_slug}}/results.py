"""django-celery-results' database backend, with a `.get()` that returns as soon as it can.

Database backends cannot push results to a waiting caller; `AsyncResult.get()` polls.
Celery polls every `interval` (0.5 s unless the caller says otherwise), so a task that
took 2 ms kept its caller waiting half a second. Here the wait between polls starts at
FIRST_WAIT and doubles up to `interval`: quick tasks are seen within milliseconds, and
a long wait still costs one indexed query per `interval`.
"""

import time
from collections.abc import Callable

from celery import exceptions, states
from django_celery_results.backends import DatabaseBackend as ResultsDatabaseBackend

FIRST_WAIT = 0.002  # Seconds.


class DatabaseBackend(ResultsDatabaseBackend):
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

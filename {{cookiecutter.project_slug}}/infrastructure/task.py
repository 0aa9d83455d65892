"""The class every task of the project is made from (celery.py names it)."""

from celery.contrib.django.task import DjangoTask


class Task(DjangoTask):
    """Django's task class (delay_on_commit, ...) with a retry delay chosen for this project.

    A task whose pool process died (out of memory, a crash) is sent again as retry() would
    send it (CELERY_TASK_RETRY_ON_WORKER_LOST), after default_retry_delay: Celery's 3
    minutes made a crash cost minutes, and a poison task took 9 to exhaust its retries.
    10 s lets a passing cause (a sibling's memory spike, a restart) go by, and the same
    task fails for good within half a minute. It is also the countdown of self.retry()
    called without one; a task can set its own with @shared_task(default_retry_delay=...).
    """

    default_retry_delay = 10

"""Error reports to Sentry and JSON log lines, each off until its variable is set."""

import logging

from celery import current_task


class TaskContext(logging.Filter):
    """Give each record logged inside a task the task's id and name.

    JSON log lines (DJANGO_LOG_FORMAT=json) carry them as `task_id` and `task_name`, so a
    log collector can gather everything one task logged, whichever logger wrote it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        task = current_task._get_current_object()
        if task is not None and task.request.id is not None:
            record.task_id = task.request.id
            record.task_name = task.name
        return True


def send_errors_to_sentry(dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Report unhandled errors of requests and tasks to Sentry (settings call this).

    Called while settings load, so web processes and workers both report: a worker's
    pool processes inherit the client when they fork, and Sentry's client starts its
    sending thread again in each. Imported only when SENTRY_DSN is set: nothing to pay
    otherwise.
    """
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user names, e-mail or IP addresses in reports unless you decide otherwise.
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
    )

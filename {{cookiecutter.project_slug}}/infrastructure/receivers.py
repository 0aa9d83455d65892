"""Receivers of Celery's signals, one per piece of policy; {{ cookiecutter.project_slug }}/celery.py connects them."""

import logging.handlers
import os

from celery import Task, current_app
from django import db


def require_settings_module(**kwargs) -> None:
    """Refuse to guess between development and production settings.

    `celery` commands and the probes name no settings module of their own: it comes
    from .env or the environment. Django would fail too, with a traceback; this is one
    line. (wsgi.py and asgi.py, which only production servers load, default to prod.)
    """
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise SystemExit(
            "DJANGO_SETTINGS_MODULE is not set: set it, in .env or the environment, to "
            "{{ cookiecutter.project_slug }}.settings.dev or "
            "{{ cookiecutter.project_slug }}.settings.prod"
        )


def also_log_to_logfile(logger: logging.Logger, logfile: str | None, **kwargs) -> None:
    """Honour --logfile (celery multi, deploy/systemd), which Celery alone would ignore.

    Django's LOGGING has already given the root logger a handler, so Celery adds none.
    Pool processes inherit the file handler from the worker that forked them, so their
    records join its file once. WatchedFileHandler reopens the file after logrotate.
    """
    if logfile and not any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        handler = logging.handlers.WatchedFileHandler(logfile)
        handler.setFormatter(logger.handlers[0].formatter)
        logger.addHandler(handler)


def close_old_connections(sender: Task, **kwargs) -> None:
    """Treat a task like a request: close database connections that are too old or broken.

    Django does this around each request; without it a worker would keep a connection
    past DJANGO_CONN_MAX_AGE or after the database dropped it (CELERY_DB_REUSE_MAX in
    settings turns off Celery's own closing, which opened a new connection per task).
    Inline (eager) tasks run inside the caller's request and transaction: leave those.
    """
    if not sender.request.is_eager:
        db.close_old_connections()


def leave_time_limits_to_the_worker(headers: dict, **kwargs) -> None:
    """Send no time limit that is only the sender's default: the worker applies its own.

    Celery writes the sending process's CELERY_TASK_TIME_LIMIT and _SOFT_ into every
    message, and the worker obeys the message: a web process with 3600 s let a task run
    an hour on workers configured for 60 s, whose grace periods (compose, systemd) were
    sized for 60 s. A limit the caller chose for this task (apply_async(time_limit=...) or
    the task's own) differs from the default and is kept.
    """
    limits = headers.get("timelimit")
    if limits:
        defaults = (current_app.conf.task_time_limit, current_app.conf.task_soft_time_limit)
        headers["timelimit"] = [
            None if limit == default else limit
            for limit, default in zip(limits, defaults, strict=True)
        ]

"""Receivers of Celery's signals, one per piece of policy; {{ cookiecutter.project_slug }}/celery.py connects them."""

import logging.handlers
import os

from celery import Task
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

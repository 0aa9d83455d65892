"""Receivers of Celery's signals, one per piece of policy; {{ cookiecutter.project_slug }}/celery.py connects them."""

import logging.handlers
import os
import signal
import threading
import time

from billiard.process import active_children
from celery import Task, current_app
from django import db
from django.conf import settings

# Seconds a cold stop may take before its pool processes are ended; it takes about 2.
COLD_STOP_TIMEOUT = 5


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


def hand_back_tasks_at_the_stop_deadline(how: str, **kwargs) -> None:
    """Bound a worker's stop: tasks still running WORKER_STOP_TIMEOUT s after SIGTERM go back.

    On SIGTERM (warm shutdown) the worker takes no new task and waits for the running
    ones, however long they take. Its supervisor waits only so long (compose's
    stop_grace_period, systemd's TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds)
    and then SIGKILLs it; on Redis its tasks then stay invisible for visibility_timeout
    (hours). So at the deadline the worker stops itself the cold way (SIGQUIT): it
    cancels the tasks still running and the broker hands them to another worker at once,
    where they start again from the beginning. Set the grace periods a minute longer.

    Not Celery's soft shutdown (worker_soft_shutdown_timeout with REMAP_SIGTERM=SIGQUIT):
    it sleeps the whole timeout whenever a task is running, however soon the task ends
    (tried: a 1 s task and a 6 s timeout, the stop took 7.8 s), so a timeout long enough
    for real tasks would make every deploy wait that long. A warm shutdown ends with
    the last task.
    """
    if how == "Warm" and settings.WORKER_STOP_TIMEOUT:
        # A daemon thread: a worker whose tasks finished in time exits without it.
        threading.Thread(
            target=stop_cold_at, args=(settings.WORKER_STOP_TIMEOUT,), daemon=True
        ).start()


def stop_cold_at(deadline: float) -> None:
    """SIGQUIT this worker `deadline` s from now; end pool processes still there soon after.

    Celery's cold stop cancels the tasks the pool has started, then waits for the pool's
    processes to exit. A task already handed to a process that had not started it (one
    still starting up, on a loaded host) is not cancelled: it starts, runs to its end
    and, its message restored to the broker as the worker exits, runs again elsewhere
    (seen in CI; tests/integration/test_worker_stops.py pauses a process to show it).
    Ending the processes that outlive the cold stop hands that task back unfinished.
    """
    time.sleep(deadline)
    os.kill(os.getpid(), signal.SIGQUIT)
    time.sleep(COLD_STOP_TIMEOUT)
    for process in active_children():
        os.kill(process.pid, signal.SIGTERM)

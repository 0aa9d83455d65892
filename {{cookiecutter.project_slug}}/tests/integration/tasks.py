"""Tasks that only the integration tests' workers load (celery worker --include)."""

import logging
import os
import signal
import time

from celery import shared_task
from django.db import connection


@shared_task
def database_session() -> int:
    """The id of the PostgreSQL session (server process) this task's connection uses."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@shared_task
def pause(seconds: float) -> float:
    """Take `seconds`, touching nothing: a batch of these lasts long enough to fault."""
    time.sleep(seconds)
    return seconds


@shared_task
def process_id() -> int:
    """The id of the pool process that ran this task."""
    return os.getpid()


@shared_task
def die_once(marker: str) -> str:
    """Kill this pool process the first time (the marker file does not exist yet)."""
    if not os.path.exists(marker):
        open(marker, "x").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return "ran again"


RUNS_TABLE = "integration_runs"


@shared_task
def record_run(token: str, seconds: float = 0) -> None:
    """Take `seconds`, then record that the task with this token ran to its end."""
    logging.getLogger(__name__).info("record_run %s started", token)
    time.sleep(seconds)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {RUNS_TABLE} (token) VALUES (%s)", [token])


@shared_task
def fail(message: str) -> None:
    """Raise an error nothing handles, as a bug in a task would."""
    raise RuntimeError(message)


@shared_task
def log_line(text: str) -> None:
    """Log one INFO line through an ordinary logger."""
    logging.getLogger(__name__).info(text)


@shared_task
def process_and_database_session() -> list[int]:
    """The ids of the pool process that ran this task and of its PostgreSQL session."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return [os.getpid(), cursor.fetchone()[0]]


@shared_task
def sleep_in_database(seconds: float, deaf_to_soft_time_limit: bool = False) -> None:
    """Wait inside a query, where a time limit interrupts it (the comment finds it).

    Deaf to the soft time limit, the task stands for one stuck where no signal handler
    runs (in C code, in a cleanup that hangs): only the hard time limit ends it.
    """
    if deaf_to_soft_time_limit:
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s) -- sleep_in_database", [seconds])

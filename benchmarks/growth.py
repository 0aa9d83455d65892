"""Measurements of a rendered project as its tables grow, run in the project's virtualenv.

python -m benchmarks.growth COMMAND --app NAME ...  (DJANGO_SETTINGS_MODULE set, in the
project's directory) prints one JSON object:

- fill --rows N: deletes the rows the tasks of earlier rounds wrote, and adds result rows
  done 8 days ago (expired, with the default week of CELERY_RESULT_EXPIRES) until the
  results table holds N, then VACUUM ANALYZE, as autovacuum would have by then;
- writes --samples N: the time of the backend's result write (what the worker calls
  when a task ends: a new row) and of one poll of .get() (a read of a row), each sample;
- cleanup: runs the backend's cleanup() (what beat's daily celery.backend_cleanup calls),
  timing each DELETE statement on the results table;
- load --task MODULE:NAME --completions FILE --stop FILE: keeps the worker busy, a backlog
  always queued, until FILE exists;
- beat --tasks N --ticks T: N periodic tasks in the database; the project's scheduler's
  start-up (the leader lock, the reconcile with settings, the first read) and T ticks
  with nothing changed: process CPU time and SQL statements per tick.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import django

from benchmarks import completions

RESULTS_TABLE = "django_celery_results_taskresult"
EXPIRED_AGE = "8 days"  # Past the rendered project's week of CELERY_RESULT_EXPIRES.
BACKLOG = 200  # Tasks kept queued by `load`: the worker never waits for work.


def fill(rows: int) -> dict[str, object]:
    """Add expired result rows, shaped as a worker writes them, until the table has `rows`."""
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        # The rows an earlier round's tasks wrote go: each round starts from `rows`.
        cursor.execute(f"DELETE FROM {RESULTS_TABLE} WHERE task_id NOT LIKE 'growth-%%'")
        cursor.execute(f"SELECT count(*) FROM {RESULTS_TABLE}")
        missing = max(0, rows - cursor.fetchone()[0])
        # One statement, rows made by PostgreSQL: a million take seconds, not the hours
        # the worker would. Each a millisecond older than the last, as a steady stream.
        cursor.execute(
            f"""
            INSERT INTO {RESULTS_TABLE} (
                task_id, status, content_type, content_encoding, result, date_done,
                date_created, meta, task_args, task_kwargs, task_name, worker
            )
            SELECT
                'growth-' || gen_random_uuid(), 'SUCCESS', 'application/json', 'utf-8', '2',
                now() - interval '{EXPIRED_AGE}' - n * interval '1 millisecond',
                now() - interval '{EXPIRED_AGE}' - n * interval '1 millisecond',
                '{{"children": []}}', '(1, 1)', '{{}}', 'base.tasks.add', 'celery@growth'
            FROM generate_series(1, %s) AS n
            """,
            [missing],
        )
        cursor.execute(f"VACUUM ANALYZE {RESULTS_TABLE}")
        cursor.execute(f"SELECT count(*) FROM {RESULTS_TABLE}")
        return {"rows": cursor.fetchone()[0], "fill_s": time.perf_counter() - started}


def writes(app, samples: int) -> dict[str, object]:
    """Time the worker's result write and .get()'s poll, one call each per sample."""
    backend = app.backend
    write_ms, read_ms = [], []
    for _ in range(samples):
        task_id = str(uuid.uuid4())
        started = time.perf_counter()
        backend.store_result(task_id, 2, "SUCCESS")
        written = time.perf_counter()
        backend.get_task_meta(task_id)
        read = time.perf_counter()
        write_ms.append((written - started) * 1000)
        read_ms.append((read - written) * 1000)
    return {
        "write_p50_ms": statistics.median(write_ms),
        "read_p50_ms": statistics.median(read_ms),
    }


def cleanup(app) -> dict[str, object]:
    """Run the backend's cleanup, timing each DELETE on the results table."""
    from django.db import connection

    batches: list[float] = []
    deleted = 0

    def timed(execute, sql, params, many, context):
        nonlocal deleted
        if not sql.startswith(f'DELETE FROM "{RESULTS_TABLE}"'):
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            batches.append(time.perf_counter() - started)
            deleted += context["cursor"].rowcount

    started, started_at = time.perf_counter(), time.time()
    with connection.execute_wrapper(timed):
        app.backend.cleanup()
    total, finished_at = time.perf_counter() - started, time.time()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {RESULTS_TABLE}")
        left = cursor.fetchone()[0]
    return {
        "started_at": started_at,  # Epoch seconds, as in the completions file.
        "finished_at": finished_at,
        "deleted": deleted,
        "left": left,
        "total_s": total,
        "batches": len(batches),
        "longest_batch_s": max(batches, default=0.0),
        "median_batch_s": statistics.median(batches) if batches else 0.0,
    }


def load(task_name: str, completions_path: Path, stop: Path) -> dict[str, object]:
    """Send tasks so that BACKLOG stay queued, until `stop` exists."""
    from celery.utils.imports import symbol_by_name

    task = symbol_by_name(task_name)
    sent = 0
    while not stop.exists():
        if sent - completions.count(completions_path) < BACKLOG:
            for _ in range(BACKLOG // 2):
                task.delay(1, 1)
            sent += BACKLOG // 2
        else:
            time.sleep(0.005)
    return {"sent": sent}


def beat(app, tasks: int, ticks: int) -> dict[str, object]:
    """The project's database scheduler with `tasks` periodic tasks, none of them due."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_celery_beat.models import IntervalSchedule, PeriodicTask
    from infrastructure.beat_database import ReconcilingDatabaseScheduler

    daily, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.DAYS)
    existing = PeriodicTask.objects.filter(name__startswith="growth-").count()
    PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"growth-{n}", task="base.tasks.add", interval=daily, args="[1, 1]")
        for n in range(existing, tasks)
    )
    scheduler = ReconcilingDatabaseScheduler(app=app)
    started = time.perf_counter()
    scheduler.lead(f"growth-{uuid.uuid4().hex[:8]}@benchmark")  # As beat_init does.
    setup_s = time.perf_counter() - started
    try:
        scheduler.tick()  # The first builds the heap; every later one finds nothing new.
        cpu = time.process_time()
        for _ in range(ticks):
            scheduler.tick()
        cpu_ms = (time.process_time() - cpu) * 1000 / ticks
        # Counted apart from the timed ticks: capturing costs CPU too. The leader lock
        # asks its own connection, which Django does not see: counted by its calls.
        lock_checks = 0
        held = scheduler.lock.held if scheduler.lock else None

        def counted_held() -> bool:
            nonlocal lock_checks
            lock_checks += 1
            return held()

        if held:
            scheduler.lock.held = counted_held
        with CaptureQueriesContext(connection) as queries:
            for _ in range(ticks):
                scheduler.tick()
    finally:
        if scheduler.lock:
            scheduler.lock.release()
    return {
        "periodic_tasks": PeriodicTask.objects.count(),
        "setup_s": setup_s,
        "tick_cpu_ms": cpu_ms,
        "queries_per_tick": (len(queries) + lock_checks) / ticks,
        "statements": sorted({query["sql"] for query in queries}),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("fill", "writes", "cleanup", "load", "beat"))
    parser.add_argument("--app", required=True, help="as for celery -A")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--task", help="module:name of the add task")
    parser.add_argument("--completions", type=Path)
    parser.add_argument("--stop", type=Path)
    parser.add_argument("--tasks", type=int)
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args(argv)

    django.setup()
    from celery.app.utils import find_app

    app = find_app(args.app)
    if args.command == "fill":
        measured = fill(args.rows)
    elif args.command == "writes":
        measured = writes(app, args.samples)
    elif args.command == "cleanup":
        measured = cleanup(app)
    elif args.command == "load":
        measured = load(args.task, args.completions, args.stop)
    else:
        measured = beat(app, args.tasks, args.ticks)
    json.dump(measured, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

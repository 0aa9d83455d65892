"""The producer side of one measurement, run in the project's virtualenv, next to a worker.

python -m benchmarks.client --app NAME --task MODULE:NAME --completions FILE ...
prints one JSON object: enqueue and end-to-end rates, and every .get() latency.

For a rendered project DJANGO_SETTINGS_MODULE is set and Django starts first, as in the
web process that would send the tasks; the task is called as the project calls it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from benchmarks import completions

TIMEOUT = 300  # Seconds for a phase to finish; a healthy run needs a fraction of that.
DISTRIBUTIONS = (
    "celery",
    "kombu",
    "billiard",
    "amqp",
    "redis",
    "django",
    "django-celery-results",
    "django-celery-beat",
    "psycopg",
)


def wait_for_completions(path: Path, total: int, timeout: float = TIMEOUT) -> None:
    """Wait until the worker has recorded `total` completions in all."""
    deadline = time.monotonic() + timeout
    while completions.count(path) < total:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"the worker completed {completions.count(path)} of {total} tasks "
                f"within {timeout:.0f} s"
            )
        time.sleep(0.01)  # The times come from the file, so polling only decides when to look.


def percentile(samples: list[float], fraction: float) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(fraction * 100) - 1]


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in DISTRIBUTIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", required=True, help="as for celery -A")
    parser.add_argument("--task", required=True, help="module:name of the add task")
    parser.add_argument("--completions", type=Path, required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--round-trips", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    args = parser.parse_args(argv)

    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        import django

        django.setup()
    from celery.app.utils import find_app
    from celery.backends.base import DisabledBackend
    from celery.utils.imports import symbol_by_name

    app = find_app(args.app)
    add = symbol_by_name(args.task)
    has_results = not isinstance(app.backend, DisabledBackend)
    expected = 0

    # Warm up: connections, the worker's first database connection, lazy imports.
    for _ in range(args.warmup):
        add.delay(1, 1)
    expected += args.warmup
    wait_for_completions(args.completions, expected)
    if has_results:
        for _ in range(5):
            add.delay(1, 1).get(timeout=TIMEOUT)
        expected += 5

    # Latency: one task at a time, waited for as a caller would, with .get()'s defaults.
    latencies_ms: list[float] = []
    if has_results:
        for _ in range(args.round_trips):
            started = time.perf_counter()
            result = add.delay(1, 1).get(timeout=TIMEOUT)
            latencies_ms.append((time.perf_counter() - started) * 1000)
            assert result == 2, result
        expected += args.round_trips
    # The last task's completion is recorded just after .get() has its result.
    wait_for_completions(args.completions, expected)

    # Throughput: enqueue as fast as possible while the worker consumes, until the
    # worker has completed the last one.
    started = time.time()
    for _ in range(args.tasks):
        add.delay(1, 1)
    enqueued = time.time()
    # However many tasks, as long as the worker completes at least 10 a second.
    wait_for_completions(args.completions, expected + args.tasks, TIMEOUT + args.tasks / 10)
    finished = max(completions.times(args.completions, expected, expected + args.tasks))

    json.dump(
        {
            "tasks_per_s": args.tasks / (finished - started),
            "enqueue_per_s": args.tasks / (enqueued - started),
            "end_to_end_s": finished - started,
            "enqueue_s": enqueued - started,
            "get_ms": latencies_ms or None,
            "get_p50_ms": statistics.median(latencies_ms) if latencies_ms else None,
            "get_p99_ms": percentile(latencies_ms, 0.99) if latencies_ms else None,
            "result_backend": type(app.backend).__name__,
            "versions": versions(),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

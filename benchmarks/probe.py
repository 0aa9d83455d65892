"""The app every benchmark worker runs: `celery -A benchmarks.probe:app worker ...`.

It loads the app named by BENCHMARK_APP the way `celery -A NAME` would (a rendered
project's package, or benchmarks.bare), and adds the same two signal handlers to either:
each task's completion is appended to BENCHMARK_COMPLETIONS (see completions.py), and
the time the worker is ready to consume goes to BENCHMARK_READY.
"""

import os
import time

from celery.app.utils import find_app
from celery.signals import task_postrun, worker_ready

from benchmarks import completions

app = find_app(os.environ["BENCHMARK_APP"])

_descriptor: int | None = None  # Opened by each pool process after the fork.


@task_postrun.connect
def record_completion(**kwargs) -> None:
    global _descriptor
    if _descriptor is None:
        _descriptor = completions.open_for_append(os.environ["BENCHMARK_COMPLETIONS"])
    completions.record(_descriptor)


@worker_ready.connect
def record_ready(**kwargs) -> None:
    ready = time.time()
    path = os.environ["BENCHMARK_READY"]
    with open(f"{path}.tmp", "w") as handle:
        handle.write(f"{ready:.6f}")
    os.replace(f"{path}.tmp", path)  # Whole or absent for the reader.

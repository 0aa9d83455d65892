"""Bare Celery: every default, except the broker and a Redis result backend.

The benchmark's baseline: `celery -A benchmarks.probe:app` with BENCHMARK_APP=benchmarks.bare,
in the same virtualenv as a rendered project, so the Celery is the same.
"""

import os

from celery import Celery

app = Celery(
    "bare",
    broker=os.environ["BARE_BROKER_URL"],
    backend=os.environ["BARE_RESULT_BACKEND"],
)


@app.task
def add(x: int, y: int) -> int:
    return x + y

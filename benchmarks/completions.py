"""The file where a benchmark worker records the time each task completed.

One fixed-width line per task, appended with O_APPEND by whichever pool process ran it,
so the producer counts completions from the file's size and reads their times. A file,
not Redis: every virtualenv can write one (a RabbitMQ project may lack redis-py), and an
append costs the same microseconds in every configuration.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LINE = 18  # "%017.6f\n": seconds since the epoch, microseconds.


def open_for_append(path: str | Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def record(descriptor: int) -> None:
    """Append the current time, in one write."""
    os.write(descriptor, b"%017.6f\n" % time.time())


def count(path: Path) -> int:
    """How many completions the file holds."""
    try:
        return path.stat().st_size // LINE
    except FileNotFoundError:
        return 0


def times(path: Path, first: int, last: int) -> list[float]:
    """The times of completions first..last-1 (0-based), in file order."""
    with path.open("rb") as handle:
        handle.seek(first * LINE)
        data = handle.read((last - first) * LINE)
    return [float(data[i : i + LINE]) for i in range(0, len(data), LINE)]

"""Long-running subprocesses (servers, workers), shared by the tests and the benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def background(
    command: list[str | Path],
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    stop_timeout: float = 60,
) -> Iterator[subprocess.Popen]:
    """Run a command in its own process group, output to `log`, for the block's duration.

    Afterwards the whole group (autoreloader, worker pool) gets SIGTERM, then SIGKILL if
    it has not exited within `stop_timeout` seconds.
    """
    process = subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        for stop in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, stop)
                process.wait(timeout=stop_timeout)
                break
            except ProcessLookupError:
                break  # Already gone.
            except subprocess.TimeoutExpired:
                continue

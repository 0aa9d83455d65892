"""`celery multi`, as the README runs it: a detached worker writing pid and log files."""

import re
import time
from pathlib import Path

from base.tasks import add

from .conftest import TIMEOUT


def wait_for_line(path: Path, pattern: str) -> list[str]:
    """Wait until the file has a line matching the regular expression; return all such lines."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""  # The detached worker creates it.
        lines = [line for line in text.splitlines() if re.search(pattern, line)]
        if lines:
            return lines
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in {path}:\n{text[-3000:]}")


def test_multi_starts_and_stops_a_worker_with_pid_and_log_files(start_celery, tmp_path) -> None:
    files = [f"--pidfile={tmp_path}/%n.pid", f"--logfile={tmp_path}/%n.log"]
    started = start_celery(
        "multi", "start", "multi", "--loglevel=INFO", "--queues=multi", *files, name="multi-start"
    )
    try:
        assert started.process.wait(timeout=TIMEOUT) == 0
        wait_for_line(tmp_path / "multi.log", r"multi@\S+ ready\.")
        assert (tmp_path / "multi.pid").exists()

        result = add.apply_async((2, 3), queue="multi")

        # Logged by the pool process that ran it: once, through the worker's log file.
        assert len(wait_for_line(tmp_path / "multi.log", rf"\[{result.id}\] succeeded")) == 1
    finally:
        # The worker is detached: the harness would not stop it.
        stopped = start_celery("multi", "stopwait", "multi", *files, name="multi-stop")
        assert stopped.process.wait(timeout=TIMEOUT) == 0
    assert not (tmp_path / "multi.pid").exists()

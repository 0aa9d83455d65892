"""The bootstep that keeps the worker's liveness file fresh (liveness.py says where it is)."""

import atexit
import os
import threading
import time
from pathlib import Path

from celery import bootsteps

from .liveness import liveness_file

# Seconds between refreshes; the probe's default limit allows several missed ones.
REFRESH_INTERVAL = float(os.environ.get("CELERY_LIVENESS_INTERVAL") or 5)


class LivenessFile(bootsteps.StartStopStep):
    """Touch the worker's liveness file every few seconds while its main process runs.

    A thread of its own, not the worker's event loop: while the broker is unreachable the
    loop waits to reconnect, and a liveness probe must not get a worker restarted for that
    (the readiness probe, worker-ready, reports it). So the file proves the process runs
    and is not frozen; a worker that exits, is killed or is stopped lets it go stale.
    """

    def start(self, worker) -> None:
        path = liveness_file(worker.hostname)
        path.parent.mkdir(parents=True, exist_ok=True)
        threading.Thread(target=refresh, args=(path,), name="LivenessFile", daemon=True).start()
        # Removed when the worker exits, once its warm shutdown has let running tasks
        # finish: when this step stops, the pool may still be finishing them. Pool
        # processes, forked from this one, must not remove it when they exit.
        atexit.register(remove_in_process, path, os.getpid())


def refresh(path: Path) -> None:
    while True:
        path.touch()
        time.sleep(REFRESH_INTERVAL)


def remove_in_process(path: Path, pid: int) -> None:
    if os.getpid() == pid:
        path.unlink(missing_ok=True)

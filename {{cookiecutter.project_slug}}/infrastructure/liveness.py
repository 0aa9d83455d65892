"""The worker's liveness file: a thread of the worker keeps it fresh, a probe reads its age.

`python -m infrastructure.health worker-alive` passes while the file is
younger than its limit; beat-alive accepts a standby beat's file likewise
(infrastructure/beat_leader.py). The file is named after the worker's node name (celery@host), so
several workers on one machine each have their own, in a directory named after the
project, so another project's worker of the same name never answers for this one's.
"""

import atexit
import os
import tempfile
import threading
import time
from pathlib import Path

from celery import bootsteps

# Seconds between refreshes; the probe's default limit allows several missed ones.
REFRESH_INTERVAL = float(os.environ.get("CELERY_LIVENESS_INTERVAL") or 5)

# The systemd units' RuntimeDirectory: shared by the services and a shell on the host.
RUN_DIRECTORY = Path("/run/{{ cookiecutter.project_slug }}")


def liveness_directory() -> Path:
    """The directory of the liveness files, found the same way by the worker and the probe.

    CELERY_LIVENESS_DIR when set; else, when it is a directory this process can write,
    /run/{{ cookiecutter.project_slug }} (the systemd units' RuntimeDirectory); else
    {{ cookiecutter.project_slug }}/ in the temp directory (a container, a development
    machine). Not the temp directory itself: under systemd, the units' PrivateTmp=yes
    hides the worker's /tmp from a probe run in a shell. Nor RUNTIME_DIRECTORY, which
    systemd sets for the worker only: that shell would not have it.
    """
    if configured := os.environ.get("CELERY_LIVENESS_DIR"):
        return Path(configured)
    if RUN_DIRECTORY.is_dir() and os.access(RUN_DIRECTORY, os.W_OK | os.X_OK):
        return RUN_DIRECTORY
    return Path(tempfile.gettempdir()) / "{{ cookiecutter.project_slug }}"


def liveness_file(nodename: str) -> Path:
    """The liveness file of the worker named `nodename`."""
    return liveness_directory() / f"{nodename}.alive"


def standby_file(nodename: str) -> Path:
    """The file a standby beat named `nodename` keeps fresh while it waits to lead."""
    return liveness_directory() / f"{nodename}.standby"


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

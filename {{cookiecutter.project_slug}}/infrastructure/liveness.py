"""Where the liveness files are: a worker keeps its own fresh, a probe reads its age.

`python -m infrastructure.health worker-alive` passes while the file is
younger than its limit; beat-alive accepts a standby beat's file likewise
(infrastructure/beat_leader.py). The file is named after the worker's node name (celery@host), so
several workers on one machine each have their own, in a directory named after the
project, so another project's worker of the same name never answers for this one's.
The worker keeps it fresh with a bootstep (liveness_step.py). This module imports
nothing but the standard library: the probe, which runs every few seconds, imports it.
"""

import os
import tempfile
from pathlib import Path

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

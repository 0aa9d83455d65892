"""The file schedule: beat refuses, in one line, to start on a schedule file it cannot use.

Celery's PersistentScheduler keeps each entry's last-run time in a file
(CELERY_BEAT_SCHEDULE_FILENAME; dbm adds a suffix such as .db or .dat on some systems).
It recreates a file it cannot read. A file it cannot write is different: a missing
directory, a read-only filesystem, a file left by another user, a directory where the
file should be (what a container bind mount of a missing file creates). Beat then dies
with a traceback hundreds of lines long, and its supervisor restarts it into the same
traceback. This scheduler checks first, and exits with one line that says what to do.
"""

import dbm
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from celery.beat import PersistentScheduler

from .beat_leader import LeaderScheduler

logger = logging.getLogger(__name__)

# sysexits.h's EX_CONFIG: restarting cannot help, and a supervisor can be told so
# (systemd: RestartPreventExitStatus=78).
EXIT_CONFIGURATION_ERROR = 78


class CheckedPersistentScheduler(LeaderScheduler, PersistentScheduler):
    """Celery's PersistentScheduler, exiting with one clear line on an unusable file.

    It opens the file once its beat leads (beat_leader.py): beats that share the file (a
    volume that `docker compose up --scale beat=2` gives both) never write it together.
    """

    def lead(self, node: str) -> None:
        # Before waiting: a standby could never take over with this file.
        if problem := schedule_file_problem(Path(self.schedule_filename), self.known_suffixes):
            self.refuse(problem)
        super().lead(node)

    def setup_schedule(self) -> None:
        problem = schedule_file_problem(Path(self.schedule_filename), self.known_suffixes)
        if problem is None:
            try:
                super().setup_schedule()
                return
            except dbm.error as error:  # A tuple: dbm's own errors and OSError.
                problem = str(error)
        self.refuse(problem)

    def refuse(self, problem: str) -> NoReturn:
        logger.critical(
            "Beat cannot keep its schedule in CELERY_BEAT_SCHEDULE_FILENAME=%s: %s. Set it to a "
            "path in a directory this beat can write; deleting the old file is safe (it only "
            "holds last-run times).",
            self.schedule_filename,
            problem,
        )
        raise SystemExit(EXIT_CONFIGURATION_ERROR)


def schedule_file_problem(path: Path, suffixes: Iterable[str]) -> str | None:
    """Say why beat could not keep its schedule at path, or return None when it can.

    dbm writes files next to path (path.dat, path.db...) and replaces them, so the
    directory must be writable as well as every such file that exists.
    """
    directory = path.parent
    if not directory.is_dir():
        return f"directory {directory} does not exist"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"directory {directory} is not writable"
    for file in (path.with_name(path.name + suffix) for suffix in suffixes):
        if file.exists() and not file.is_file():
            return f"{file} is not a file"
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            return f"{file} is not readable and writable"
    return None

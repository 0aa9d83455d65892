"""One beat sends the schedule; any other is a hot standby that takes over when it stops.

A second beat (a second host, `docker compose up --scale beat=2`, a Kubernetes rolling
update with surge) would send every entry a second time. So beat leads only while it
holds a PostgreSQL advisory lock, session-level, named after the project, on a
connection of its own (not Django's, which close_old_connections may close at any tick):

- a beat that cannot take the lock logs one line saying it is a standby, and tries again
  every BEAT_LEADER_POLL_INTERVAL seconds (5). It has not opened its schedule yet (the
  file, or the database's last-run times), nor its remote-control queue: on RabbitMQ a
  standby of the same node name would otherwise fight the leader for that exclusive
  queue. It keeps a standby file fresh instead, which the beat-alive probe accepts.
- when the leader exits or is killed, the kernel closes its socket and PostgreSQL ends
  its session and the lock with it: a standby leads within one poll interval. When the
  leader's host is lost, PostgreSQL's keepalives (set per session below) end the
  session within KEEPALIVE_BOUND seconds, then the standby takes over.
- the leader asks its lock connection before every tick that may send: if the session
  is gone (PostgreSQL restarted, the session killed, the network cut), it sends nothing
  more and exits with status 75 (EX_TEMPFAIL) without saving anything, as another beat
  may lead by now; its supervisor restarts it as a standby.

Beat checks the lock and then sends, so the two are not one step: a beat whose session
ends in between sends once more. A leader that is frozen rather than gone (SIGSTOP, a
stuck call) keeps its session and the lock; it stops answering beat-alive after 60 s,
and the restart that probe brings hands the lock over.

The lock needs a session of its own, so DATABASE_URL must not go through a pooler in
transaction mode (PgBouncer's default).

On SQLite (development: prod.py refuses it) there is no other host to guard against, and
no lock: beat leads at once.
"""

import atexit
import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from celery.beat import Scheduler, Service, beat_nodename
from django.conf import settings
from django.db import connections

from .liveness import standby_file

logger = logging.getLogger(__name__)

# sysexits.h's EX_TEMPFAIL: a supervisor should start it again (as a standby).
EXIT_TEMPORARY_FAILURE = 75

# TCP keepalives on the lock's connection, both ends: PostgreSQL ends the session of a
# lost host after KEEPALIVE_IDLE quiet seconds and KEEPALIVE_COUNT unanswered probes, one
# every KEEPALIVE_INTERVAL; beat's own end fails a query the server no longer acknowledges.
KEEPALIVE_IDLE = 10
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3
KEEPALIVE_BOUND = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT


def poll_interval() -> float:
    """settings.BEAT_LEADER_POLL_INTERVAL, 5 s where a project does not set it."""
    return getattr(settings, "BEAT_LEADER_POLL_INTERVAL", 5)


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key: the same for every beat of the project, from its name."""
    digest = hashlib.sha256(f"celery beat {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock:
    """The advisory lock, held by this beat's own PostgreSQL session."""

    def __init__(self, name: str) -> None:
        self.key = lock_key(name)
        self.connection: psycopg.Connection | None = None

    def connect(self) -> psycopg.Connection:
        params = connections["default"].get_connection_params()
        server_keepalives = (
            f"-c tcp_keepalives_idle={KEEPALIVE_IDLE} "
            f"-c tcp_keepalives_interval={KEEPALIVE_INTERVAL} "
            f"-c tcp_keepalives_count={KEEPALIVE_COUNT}"
        )
        params["options"] = f"{params.get('options', '')} {server_keepalives}".strip()
        return psycopg.connect(
            **params,
            autocommit=True,
            application_name="celery beat (leader lock)",
            connect_timeout=KEEPALIVE_BOUND,
            keepalives=1,
            keepalives_idle=KEEPALIVE_IDLE,
            keepalives_interval=KEEPALIVE_INTERVAL,
            keepalives_count=KEEPALIVE_COUNT,
            tcp_user_timeout=KEEPALIVE_BOUND * 1000,
        )

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; False also when PostgreSQL is away."""
        try:
            if self.connection is None or self.connection.closed:
                self.connection = self.connect()
            row = self.connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as error:
            logger.warning("Beat could not ask PostgreSQL for the leader lock: %s", error)
            self.release()
            return False
        return bool(row and row[0])

    def held(self) -> bool:
        """This session still holds the lock: PostgreSQL answers, and lists it."""
        if self.connection is None:
            return False
        try:
            row = self.connection.execute(
                "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND granted)"
            ).fetchone()
        except psycopg.Error as error:
            logger.critical("Beat's leader lock connection failed: %s", error)
            return False
        return bool(row and row[0])

    def release(self) -> None:
        if self.connection is not None:
            self.connection.close()  # Ends the session, and the lock with it.
            self.connection = None


class LeaderScheduler(Scheduler):
    """A scheduler that sets up its schedule, and ticks, only while its beat leads; a
    stop that arrives while it publishes an entry waits for the publish (stops_held).

    Put it first among a scheduler's bases. Beat builds its scheduler before beat_init;
    on PostgreSQL this one then defers its setup (opening the schedule file, reading the
    database) to lead(), which beat_init calls (wait_to_lead).
    """

    lock: LeaderLock | None = None

    def __init__(self, app, *args, lazy: bool = False, **kwargs) -> None:
        if not lazy and connections["default"].vendor == "postgresql":
            self.lock = LeaderLock(app.main)
        super().__init__(app, *args, lazy=lazy or self.lock is not None, **kwargs)

    def lead(self, node: str) -> None:
        """Wait, as a standby, until this beat holds the lock; then set up the schedule."""
        if self.lock is None:
            return  # SQLite, or a scheduler built lazily: set up already, or never.
        standby = standby_file(node)
        waited = time.monotonic()
        announced = False
        while not self.lock.try_acquire():
            if not announced:
                announced = True
                standby.parent.mkdir(parents=True, exist_ok=True)
                atexit.register(standby.unlink, missing_ok=True)
                logger.info(
                    "Another beat of %s leads: %s is a standby, asking again every %g s, "
                    "to take over once that one stops.",
                    self.app.main,
                    node,
                    poll_interval(),
                )
            standby.touch()
            time.sleep(poll_interval())
        if announced:
            standby.unlink(missing_ok=True)
            logger.warning(
                "Beat %s took over as leader after %.1f s as a standby.",
                node,
                time.monotonic() - waited,
            )
        else:
            logger.info("Beat %s leads: it holds the leader lock.", node)
        self.setup_schedule()

    def tick(self, *args, **kwargs) -> float:
        if self.lock is not None and not self.lock.held():
            logger.critical(
                "Beat lost its leader lock: it sends nothing more and exits (status %d), "
                "saving nothing, as another beat may lead now; restarted, it is a standby.",
                EXIT_TEMPORARY_FAILURE,
            )
            logging.shutdown()  # Flush the line above: os._exit skips it.
            # Not SystemExit, which beat would catch and follow with a save of the schedule.
            os._exit(EXIT_TEMPORARY_FAILURE)
        return super().tick(*args, **kwargs)

    def apply_entry(self, entry, producer=None) -> None:
        with stops_held():
            super().apply_entry(entry, producer=producer)


@contextmanager
def stops_held() -> Iterator[None]:
    """Hold SIGTERM and SIGINT until the block ends, then act on them.

    Beat marks an entry as run, then publishes it, and its handler for these signals
    saves the schedule and exits wherever it lands: in the publish, that period's send
    would be lost for good (seen: a beat stopped just after its "Sending due task" line
    published nothing). A stop waits for the publish instead, which gives up after a few
    seconds when the broker is away (Celery's publish retry policy).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # Beat run in a thread (embedded in some workers) has no handlers to hold.
        return
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)

    handlers = {stop: signal.signal(stop, hold) for stop in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for stop, handler in handlers.items():
            signal.signal(stop, handler)
        for signum in held:
            signal.raise_signal(signum)


def wait_to_lead(sender: Service, **kwargs) -> None:
    """On beat_init, before beat answers remote control or ticks: lead, or wait to."""
    scheduler = sender.scheduler
    if isinstance(scheduler, LeaderScheduler):
        scheduler.lead(beat_nodename(sender.hostname))

"""Two real beats send each entry once: one leads, the other waits and takes over.

Each beat here also schedules settings/test.py's `leader-test` entry, every PERIOD
seconds, to a queue no worker reads: the messages in that queue are the sends, checked
against the beats' logs, whose timestamps say when each send happened.
"""

import itertools
import os
import re
import time
from datetime import datetime
from pathlib import Path

from django.db import connection
from kombu import Exchange, Queue

from infrastructure.beat_leader import EXIT_TEMPORARY_FAILURE
from infrastructure.tests.probe import probe
from {{ cookiecutter.project_slug }}.celery import app

from .conftest import TIMEOUT, CeleryProcess

SEND = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*Sending due task leader-test ", re.MULTILINE
)
POLL = 1  # BEAT_LEADER_POLL_INTERVAL for these beats, in seconds.


def counted_queue(name: str) -> Queue:
    """The entry's queue, declared before beat sends to it so that no message is dropped."""
    queue = Queue(name, Exchange(name), routing_key=name)
    with app.connection_for_write() as broker:
        queue(broker.default_channel).declare()
        queue(broker.default_channel).purge()
    return queue


def messages_in(queue: Queue) -> int:
    with app.connection_for_read() as broker:
        return queue(broker.default_channel).queue_declare().message_count


def send_times(*beats: CeleryProcess) -> list[float]:
    """When the beats sent `leader-test`, in seconds since the epoch, in order."""
    return sorted(
        datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        for beat in beats
        for stamp in SEND.findall(beat.log())
    )


def wait_for_sends(queue: Queue, *beats: CeleryProcess) -> None:
    """Wait until every send the beats have logged (before publishing) is in the queue."""
    deadline = time.monotonic() + TIMEOUT
    while messages_in(queue) < len(send_times(*beats)) and time.monotonic() < deadline:
        time.sleep(0.1)


def kill_after_its_next_send(beat: CeleryProcess, queue: Queue) -> float:
    """SIGKILL the beat half a second after its next send is in the queue; return when.

    Not sooner: beat saves an entry's last run a few milliseconds after publishing it,
    and a beat killed in between has that entry sent again by whichever beat runs next
    (no lock can make a publish and a save one step; the README says so).
    """
    sent = len(send_times(beat))
    deadline = time.monotonic() + TIMEOUT
    while len(send_times(beat)) == sent and time.monotonic() < deadline:
        time.sleep(0.05)
    wait_for_sends(queue, beat)
    time.sleep(0.5)
    beat.kill()  # SIGKILL: its session ends with its socket, and the lock with it.
    return time.time()


def start_beat(start_celery, name: str, tmp_path: Path, queue: Queue, period: float):
    return start_celery(
        "beat",
        "--loglevel=INFO",
        f"--hostname={name}@%h",
        name=name,
        BEAT_LEADER_POLL_INTERVAL=str(POLL),
        BEAT_LEADER_TEST_PERIOD=str(period),
        BEAT_LEADER_TEST_QUEUE=queue.name,
        # One file for both, as a volume shared by scaled containers: the standby must
        # not open it while the leader writes it. (Ignored by the database scheduler.)
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "celerybeat-schedule"),
        CELERY_LIVENESS_DIR=str(tmp_path),
    )


def test_a_second_beat_waits_and_takes_over_sending_every_entry_once(
    start_celery, tmp_path
) -> None:
    period = 2.0
    queue = counted_queue(f"beat-leader-{os.getpid()}")
    first = start_beat(start_celery, "leader-a", tmp_path, queue, period)
    first.wait_for_log(r"leads: it holds the leader lock")
    second = start_beat(start_celery, "leader-b", tmp_path, queue, period)
    second.wait_for_log(r"is a standby")
    liveness = {"CELERY_LIVENESS_DIR": str(tmp_path)}
    standby_probe = probe("beat-alive", "--node", "leader-b@%h", **liveness)
    leader_probe = probe("beat-alive", "--node", "leader-a@%h", **liveness)
    time.sleep(10)  # About 5 periods with two beats running.

    killed = kill_after_its_next_send(first, queue)
    second.wait_for_log(r"took over as leader")
    time.sleep(6)
    second.stop()

    before = send_times(first)
    after = send_times(second)
    sends = send_times(first, second)
    gaps = [(earlier, later - earlier) for earlier, later in itertools.pairwise(sends)]
    duplicated = sum(gap < period / 2 for _, gap in gaps)
    # Beat sends an overdue entry once, late, never once per period it was away: a
    # period passes unsent where a gap is longer than the period and some slack.
    missed = sum(
        round(gap / period) - 1
        for earlier, gap in gaps
        if gap > period + 1.5 and earlier != before[-1]
    )
    takeover = after[0] - killed if after else float("inf")
    print(
        f"\nbeat leader: sent {len(sends)} ({len(before)} by the first beat, {len(after)} by "
        f"the standby), {messages_in(queue)} in the queue, duplicated {duplicated}, missed "
        f"{missed} (besides the takeover), takeover {takeover:.1f} s after SIGKILL"
    )

    assert standby_probe.returncode == 0, standby_probe.stderr
    assert leader_probe.returncode == 0, leader_probe.stderr
    assert len(re.findall("is a standby", second.log())) == 1  # One line, not one per poll.
    assert len(before) >= 4 and before[-1] < killed
    assert "Sending due task" not in second.log().split("took over as leader")[0]
    assert messages_in(queue) == len(sends)
    assert duplicated == 0
    assert missed == 0
    # The standby asks every POLL seconds, then sends the entry that fell due meanwhile.
    assert takeover < POLL + period + 2
    assert len(after) >= 2


def test_a_restarted_beat_does_not_send_again_what_it_sent_before_it_was_killed(
    start_celery, tmp_path
) -> None:
    period = 6.0
    queue = counted_queue(f"beat-restart-{os.getpid()}")
    beat = start_beat(start_celery, "killed-beat", tmp_path, queue, period)
    kill_after_its_next_send(beat, queue)
    restarted = start_beat(start_celery, "restarted-beat", tmp_path, queue, period)
    # Stopped the moment it logs its send, as CI once did: the message must still go out.
    restarted.wait_for_log("Sending due task leader-test ", timeout=TIMEOUT)
    restarted.stop()

    (sent,) = send_times(beat)
    again = send_times(restarted)[0]
    print(f"\nbeat restart: sent again {again - sent:.1f} s after the send before SIGKILL")
    assert again - sent > period - 0.5
    # Every message is one the logs show (a slow stop may let a later period's through).
    assert messages_in(queue) == 1 + len(send_times(restarted))


def test_a_leader_that_loses_its_lock_sends_nothing_more_and_exits(start_celery, tmp_path) -> None:
    queue = counted_queue(f"beat-lost-{os.getpid()}")
    beat = start_beat(start_celery, "lost-beat", tmp_path, queue, 1.0)
    beat.wait_for_log("Sending due task leader-test ")
    # As a PostgreSQL restart or a lost network would: the lock's session ends.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'celery beat (leader lock)' AND datname = current_database()"
        )
        assert cursor.fetchall() == [(True,)]

    assert beat.process.wait(timeout=TIMEOUT) == EXIT_TEMPORARY_FAILURE
    log = beat.log()
    assert len(re.findall("lost its leader lock", log)) == 1
    assert "Sending due task" not in log.split("lost its leader lock")[1]
    assert messages_in(queue) == len(send_times(beat))

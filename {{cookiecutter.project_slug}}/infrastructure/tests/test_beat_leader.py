"""A stop that lands while beat sends an entry waits until the message is out."""

import os
import signal
from datetime import timedelta

import pytest

from infrastructure.beat_leader import LeaderScheduler
from {{ cookiecutter.project_slug }}.celery import app


class StoppedWhilePublishing(LeaderScheduler):
    """The project's tick over Celery's in-memory schedule: each publish is recorded, and
    the stop arrives in the middle of it."""

    producer = None  # Nothing here opens a broker connection.

    def __init__(self) -> None:
        super().__init__(app, lazy=True)  # lazy: no leader lock, no schedule from settings.
        self.published: list[str] = []

    def apply_async(self, entry, producer=None, advance=True, **options) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # The stop lands mid-publish...
        self.published.append(entry.name)  # ...and the message still goes out.


@pytest.fixture
def beats_stop_handler():
    """What `celery beat` installs for SIGTERM: save the schedule, then exit."""

    def save_and_exit(signum, frame) -> None:
        raise SystemExit

    previous = signal.signal(signal.SIGTERM, save_and_exit)
    yield save_and_exit
    signal.signal(signal.SIGTERM, previous)


def test_a_stop_while_beat_sends_an_entry_waits_until_the_message_is_out(
    beats_stop_handler,
) -> None:
    scheduler = StoppedWhilePublishing()
    scheduler.schedule["due"] = scheduler.Entry(
        name="due",
        task="base.tasks.add",
        schedule=timedelta(hours=1),
        last_run_at=app.now() - timedelta(hours=2),
        app=app,
    )

    with pytest.raises(SystemExit):
        scheduler.tick()

    assert scheduler.published == ["due"]
    assert signal.getsignal(signal.SIGTERM) is beats_stop_handler  # Beat's is back.

"""The example tasks, run the way callers run them (.delay, canvas), inline here."""

from datetime import timedelta
from unittest import mock

import pytest
from celery import chain, group
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from base.tasks import (
    add,
    clear_expired_sessions,
    count_signups,
    heartbeat,
    long_running_job,
    mul,
    xsum,
)

pytestmark = pytest.mark.django_db


def test_arithmetic_tasks_return_their_results() -> None:
    assert add.delay(2, 2).get() == 4
    assert mul.delay(3, 4).get() == 12
    assert xsum.delay([1, 2, 3]).get() == 6


def test_a_chain_passes_each_result_to_the_next_task() -> None:
    assert chain(add.s(2, 2), mul.s(10)).delay().get() == 40


def test_a_group_returns_every_result_in_order() -> None:
    assert group(add.s(n, n) for n in range(4)).delay().get() == [0, 2, 4, 6]


def test_the_tasks_are_registered_under_their_module_names() -> None:
    assert add.name == "base.tasks.add"
    assert xsum.name == "base.tasks.xsum"


def test_long_running_job_reports_each_step_then_returns_the_total() -> None:
    with mock.patch.object(
        long_running_job, "update_state", wraps=long_running_job.update_state
    ) as update_state:
        result = long_running_job.delay(3)

    assert result.get() == {"done": 3, "total": 3}
    assert [call.kwargs for call in update_state.call_args_list] == [
        {"state": "PROGRESS", "meta": {"done": done, "total": 3}} for done in range(3)
    ]


def test_heartbeat_returns_the_time_it_ran() -> None:
    before = timezone.now()
    assert heartbeat.delay().get() >= before.isoformat()


def test_clear_expired_sessions_keeps_live_sessions() -> None:
    expired, live = SessionStore(), SessionStore()
    expired.set_expiry(timezone.now() - timedelta(days=1))
    expired.create()
    live.create()

    clear_expired_sessions.delay().get()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_count_signups_counts_and_skips_while_another_run_holds_the_lock(
    django_user_model,
) -> None:
    django_user_model.objects.create_user("ada")
    today = timezone.localdate().isoformat()
    lock = f"count_signups:{today}:lock"

    assert cache.add(lock, "held")  # As another run would, at the same time.
    assert count_signups.delay(today).get() is None
    assert cache.get(f"count_signups:{today}") is None
    cache.delete(lock)

    assert count_signups.delay(today).get() == 1
    assert cache.get(f"count_signups:{today}") == 1
    assert cache.add(lock, "held")  # The run let go of the lock.

"""The example tasks on a real worker, through the real broker."""

import time
from datetime import timedelta

import pytest
from celery import chain, group
from celery.signals import before_task_publish
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from base.tasks import add, clear_expired_sessions, deliver_webhook, long_running_job, mul, xsum

from .conftest import TIMEOUT, CeleryProcess
from .tasks import die_once, process_id


def test_arithmetic_round_trips(outcome) -> None:
    assert outcome(add.delay(2, 2)) == "SUCCESS: 4"
    assert outcome(mul.delay(3, 4)) == "SUCCESS: 12"
    assert outcome(xsum.delay([1, 2, 3])) == "SUCCESS: 6"


def test_a_chain_runs_each_step_on_the_worker(outcome) -> None:
    assert outcome(chain(add.s(2, 2), mul.s(10)).delay()) == "SUCCESS: 40"


def test_a_group_runs_every_task(outcome) -> None:
    results = group(add.s(n, n) for n in range(3)).delay().results

    assert [outcome(result) for result in results] == ["SUCCESS: 0", "SUCCESS: 2", "SUCCESS: 4"]


def test_webhook_backs_off_until_the_receiver_recovers(outcome, webhook_server) -> None:
    webhook_server.statuses = ["close", 503, 200]

    assert outcome(deliver_webhook.delay(webhook_server.url, {"n": 1})) == "SUCCESS: 200"
    assert len(webhook_server.bodies) == 3


def test_a_task_runs_without_a_result_backend_too(outcome) -> None:
    """Proven by its side effect: the expired session is gone from the database."""
    expired = SessionStore()
    expired.set_expiry(timezone.now() - timedelta(days=1))
    expired.create()

    outcome(clear_expired_sessions.delay())

    assert not Session.objects.filter(session_key=expired.session_key).exists()


def welcome_tasks_received(worker) -> int:
    return worker.log().count("base.tasks.send_welcome_email[")


def test_delay_on_commit_sends_after_commit_and_never_on_rollback(worker) -> None:
    users = get_user_model().objects
    before = welcome_tasks_received(worker)

    try:
        with transaction.atomic():
            users.create_user("rolled-back", email="rolled-back@example.com")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with transaction.atomic():
        users.create_user("committed", email="committed@example.com")
        time.sleep(1)  # Long enough for the worker to run a task sent too early...
        assert welcome_tasks_received(worker) == before  # ...but none was sent.

    # The worker takes one message at a time, in order: once the committed user's task
    # has run, a task from the rollback would have been received before it.
    worker.wait_for_log(r"send_welcome_email\[[^\]]+\] succeeded in [\d.e-]+s: True", TIMEOUT)
    assert welcome_tasks_received(worker) == before + 2  # "received" and "succeeded".


def test_a_task_over_its_soft_time_limit_fails_and_the_worker_goes_on(outcome) -> None:
    # Steps of 2 s: the limit strikes during the step's sleep, not while update_state
    # writes to the result backend (an interrupted write ends as that backend's error).
    slow = long_running_job.apply_async((10, 2.0), soft_time_limit=1, time_limit=30)

    assert outcome(slow) == "FAILURE: SoftTimeLimitExceeded"
    assert outcome(add.delay(1, 1)) == "SUCCESS: 2"


@pytest.fixture(scope="module")
def strict_worker(start_worker) -> CeleryProcess:
    """A worker whose operator chose short time limits and tiny pool processes."""
    return start_worker(
        "strict",
        queue="strict",
        CELERY_TASK_TIME_LIMIT="3",
        CELERY_TASK_SOFT_TIME_LIMIT="2",
        # Every pool process holds more than 1 KiB: each task gets a fresh one.
        CELERY_WORKER_MAX_MEMORY_PER_CHILD="1",
    )


def test_the_workers_own_time_limit_applies_whatever_the_senders(strict_worker, outcome) -> None:
    # This process, the sender, has the default hour.
    slow = long_running_job.apply_async((10, 1.0), queue="strict")
    assert outcome(slow, strict_worker) == "FAILURE: SoftTimeLimitExceeded"

    # A limit the caller chose for this task is still the one that applies.
    chosen = long_running_job.apply_async(
        (4, 1.0), queue="strict", soft_time_limit=20, time_limit=30
    )
    assert outcome(chosen, strict_worker).startswith("SUCCESS")


def test_a_pool_process_over_its_memory_allowance_is_replaced(strict_worker, outcome) -> None:
    processes = [outcome(process_id.apply_async(queue="strict"), strict_worker) for _ in range(3)]
    assert len(set(processes)) == 3, processes


def test_a_task_whose_pool_process_died_runs_again_after_the_retry_delay(
    worker, outcome, tmp_path
) -> None:
    sent = time.monotonic()
    result = die_once.delay(str(tmp_path / "died"))

    assert outcome(result) == "SUCCESS: 'ran again'"
    took = time.monotonic() - sent
    print(f"\nits pool process died; the task succeeded {took:.1f} s after it was sent")
    assert took >= die_once.default_retry_delay == 10


def test_a_pickled_message_is_refused(worker, outcome) -> None:
    refused = add.apply_async((1, 2), serializer="pickle")

    worker.wait_for_log(r"Refusing to deserialize untrusted content of type pickle")
    assert outcome(add.delay(2, 3)) == "SUCCESS: 5"  # Later messages still run...
    assert f"[{refused.id}] succeeded" not in worker.log()  # ...the pickled one never did.


def test_slow_work_is_sent_to_the_slow_queue(outcome) -> None:
    queues = []

    def note_queue(routing_key: str, **kwargs) -> None:
        queues.append(routing_key)

    before_task_publish.connect(note_queue)
    try:
        slow = long_running_job.delay(1, 0)
        quick = add.delay(1, 1)
    finally:
        before_task_publish.disconnect(note_queue)

    assert queues == ["slow", "celery"]
    assert outcome(slow) == "SUCCESS: {'done': 1, 'total': 1}"
    assert outcome(quick) == "SUCCESS: 2"

"""Workers reuse their database connection from task to task: safely, not only fast.

Celery once reverted reusing connections (celery/celery#9824): a query interrupted by a
time limit can leave a connection that looks usable and is not. Each test breaks the
connection of a real worker in one such way, then sends BATCH tasks that use the
database: every one must succeed, and PostgreSQL must not go on running the broken query.
The worker reaches PostgreSQL through a proxy, which cuts its connections as a restart does.
"""

import json
import time
import urllib.parse
from collections.abc import Callable

import pytest
from django.db import connection

from .conftest import CeleryProcess, OutageProxy, database_url_of_test_database, with_address
from .tasks import process_and_database_session, sleep_in_database

BATCH = 50
QUEUE = "connections"
# The worker's query is gone this long after its client (settings: client check interval).
QUERY_ABANDONED_WITHIN = 5 + 5


@pytest.fixture(scope="module")
def proxy(django_db_setup) -> OutageProxy:
    """The worker's way to PostgreSQL, which can cut its connections as a restart does."""
    url = urllib.parse.urlsplit(database_url_of_test_database())
    return OutageProxy((url.hostname, url.port or 5432))


@pytest.fixture(scope="module")
def connections_worker(start_worker, proxy) -> CeleryProcess:
    """A worker of its own (one pool process): these tests kill and count its processes."""
    through_proxy = with_address(database_url_of_test_database(), "127.0.0.1", proxy.port)
    worker = start_worker("connections", queue=QUEUE, DATABASE_URL=through_proxy)
    yield worker
    worker.stop()


def run_batch(outcome: Callable[..., str], worker: CeleryProcess) -> list[tuple[int, int]]:
    """Send BATCH database tasks; assert that all succeed; return (process, session) of each."""
    results = [process_and_database_session.apply_async(queue=QUEUE) for _ in range(BATCH)]
    outcomes = [outcome(result, worker) for result in results]
    succeeded = [
        tuple(json.loads(value.removeprefix("SUCCESS: ")))
        for value in outcomes
        if value.startswith("SUCCESS: ")
    ]
    processes = sorted({process for process, _ in succeeded})
    sessions = sorted({session for _, session in succeeded})
    print(
        f"sent {BATCH}, succeeded {len(succeeded)}, failed {BATCH - len(succeeded)}, "
        f"first {outcomes[0]}, pool processes {processes}, database sessions {sessions}"
    )
    assert len(succeeded) == BATCH, [value for value in outcomes if value.startswith("FAIL")]
    return succeeded


def one_task(outcome: Callable[..., str], worker: CeleryProcess) -> list[int]:
    """(process, session) of one database task."""
    value = outcome(process_and_database_session.apply_async(queue=QUEUE), worker)
    return json.loads(value.removeprefix("SUCCESS: "))


def seconds_until_no_sleeping_query(within: float) -> float:
    """How long PostgreSQL still runs sleep_in_database's query; fail past `within`."""
    start = time.monotonic()
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, state, wait_event FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE %s",
                ["%-- sleep_in_database"],
            )
            running = cursor.fetchall()
        waited = time.monotonic() - start
        if not running:
            return waited
        assert waited < within, f"still running after {waited:.1f} s: {running}"
        time.sleep(0.2)


def test_a_query_cut_by_the_soft_time_limit_is_cancelled_and_the_process_goes_on(
    connections_worker, outcome
) -> None:
    process, session = one_task(outcome, connections_worker)
    interrupted = sleep_in_database.apply_async((60,), soft_time_limit=1, queue=QUEUE)

    # The time limit, and not the connection it broke, is the failure recorded.
    assert outcome(interrupted, connections_worker) == "FAILURE: SoftTimeLimitExceeded"
    lingered = seconds_until_no_sleeping_query(within=2)
    batch = run_batch(outcome, connections_worker)

    print(f"pool process {process}; the interrupted query ended {lingered:.1f} s after")
    assert {task_process for task_process, _ in batch} == {process}
    assert session not in {task_session for _, task_session in batch}


def test_a_process_killed_by_the_hard_time_limit_leaves_no_query_running(
    connections_worker, outcome
) -> None:
    process, _ = one_task(outcome, connections_worker)
    killed = sleep_in_database.apply_async((60, True), soft_time_limit=1, time_limit=2, queue=QUEUE)

    connections_worker.wait_for_log(rf"Hard time limit \(2s\) exceeded for \S+\[{killed.id}\]")
    lingered = seconds_until_no_sleeping_query(within=QUERY_ABANDONED_WITHIN)
    batch = run_batch(outcome, connections_worker)

    print(f"pool process {process} killed; PostgreSQL ended its query {lingered:.1f} s after")
    assert len({task_process for task_process, _ in batch} | {process}) == 2


def test_a_session_the_database_terminated_between_tasks_is_replaced(
    connections_worker, outcome
) -> None:
    process, session = one_task(outcome, connections_worker)
    with connection.cursor() as cursor:
        # What PostgreSQL does to every session when it shuts down or fails over.
        cursor.execute("SELECT pg_terminate_backend(%s)", [session])

    batch = run_batch(outcome, connections_worker)

    # The first task succeeds at once: the health check replaced the connection.
    assert batch[0][1] != session
    assert {task_process for task_process, _ in batch} == {process}


def test_after_a_database_restart_the_worker_reconnects_by_itself(
    connections_worker, proxy, outcome
) -> None:
    process, session = one_task(outcome, connections_worker)

    # As a restart looks to the worker: its connection cut, new ones refused a while.
    proxy.outage(seconds=1)
    batch = run_batch(outcome, connections_worker)

    assert batch[0][1] != session
    assert {task_process for task_process, _ in batch} == {process}

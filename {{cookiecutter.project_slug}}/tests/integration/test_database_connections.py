"""Workers keep their database connection from task to task, and replace a broken one."""

from django.db import connection

from .tasks import database_session


def test_a_worker_reuses_its_database_connection_between_tasks(outcome) -> None:
    # One pool process: without reuse, Celery's Django fixup would open a new
    # PostgreSQL session for every task.
    first = outcome(database_session.delay())
    second = outcome(database_session.delay())

    assert first.startswith("SUCCESS: ")
    assert second == first


def test_a_connection_the_database_dropped_is_replaced_before_the_next_task(outcome) -> None:
    before = outcome(database_session.delay())
    session = int(before.removeprefix("SUCCESS: "))
    with connection.cursor() as cursor:
        # What a database restart or failover does to every open connection.
        cursor.execute("SELECT pg_terminate_backend(%s)", [session])

    after = outcome(database_session.delay())

    assert after.startswith("SUCCESS: ")
    assert after != before

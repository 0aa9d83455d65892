"""The cache is the broker's Redis, shared by every process: a lock held here stops a
worker's run of base.tasks.count_signups, and what the worker caches is read here."""

import time

from django.core.cache import cache
from django.utils import timezone

from base.tasks import count_signups

from .conftest import TIMEOUT


def test_a_lock_held_in_another_process_stops_the_workers_run(worker, django_user_model) -> None:
    django_user_model.objects.create_user("ada")
    today = timezone.localdate().isoformat()
    lock, counted = f"count_signups:{today}:lock", f"count_signups:{today}"

    assert cache.add(lock, "held", timeout=TIMEOUT)  # As a run on another worker would.
    try:
        result = count_signups.delay(today)
        worker.wait_for_log(rf"\[{result.id}\] succeeded")
        assert f"Signups of {today} are being counted by another run" in worker.log()
        assert cache.get(counted) is None
    finally:
        cache.delete(lock)

    count_signups.delay(today)
    deadline = time.monotonic() + TIMEOUT
    while cache.get(counted) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get(counted) == 1
    assert cache.add(lock, "held")  # The worker's run let go of the lock.
    cache.delete_many([lock, counted])

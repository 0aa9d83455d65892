"""With a result backend: chords, and progress the caller can watch."""

import time

from celery import chord

from base.tasks import add, long_running_job, xsum

from .conftest import TIMEOUT


def test_a_chord_sums_its_header_results(worker) -> None:
    result = chord(add.s(n, n) for n in range(4))(xsum.s())

    assert result.get(timeout=TIMEOUT) == 12


def test_progress_is_visible_while_the_task_runs(worker) -> None:
    result = long_running_job.delay(20, 0.2)

    seen = []
    deadline = time.monotonic() + TIMEOUT
    while not result.ready() and time.monotonic() < deadline:
        # One read for the state and its info: read apart (result.state, then
        # result.info), the task may end in between, and the info be its result.
        meta = result.backend.get_task_meta(result.id)
        if meta["status"] == "PROGRESS":
            seen.append(meta["result"]["done"])
        time.sleep(0.1)

    assert result.get(timeout=TIMEOUT) == {"done": 20, "total": 20}
    assert len(set(seen)) > 1, "PROGRESS was never seen twice with different steps"
    assert seen == sorted(seen)
    assert all(0 <= done < 20 for done in seen)

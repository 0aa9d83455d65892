"""/metrics over HTTP from gunicorn, as Prometheus scrapes it: the broker's real queue lengths.

Tasks go to a queue no worker reads, so they stay there to be counted.
"""

import uuid
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.project_slug }}.celery import app

from .conftest import Web
from .tasks import record_run

TOKEN = "a-token-for-the-integration-tests"
WAITING = 7  # Tasks sent to the queue that no worker reads.


@pytest.fixture
def queues() -> Iterator[tuple[str, str]]:
    """Names of two queues of this run only: one to fill, removed after; one never used."""
    run = uuid.uuid4().hex[:8]
    full, empty = f"metrics-full-{run}", f"metrics-empty-{run}"
    yield full, empty
    with app.connection_for_write() as connection:
        # Purged first: Redis's queue_delete leaves the messages.
        connection.default_channel.queue_purge(full)
        connection.default_channel.queue_delete(full)


def test_prometheus_reads_each_queues_length_from_the_broker(queues, tmp_path) -> None:
    full, empty = queues
    for number in range(WAITING):
        record_run.apply_async((f"metrics-{number}",), queue=full)
    # Reported because METRICS_QUEUES names them: apply_async(queue=...) is not in settings.
    web = Web(tmp_path / "gunicorn.log", METRICS_TOKEN=TOKEN, METRICS_QUEUES=f"{full},{empty}")
    try:
        refused, _ = web.get("/metrics")
        status, page = web.get("/metrics", token=TOKEN)
    finally:
        web.stop()

    assert refused == 401
    assert status == 200, page
    samples = {
        (sample.name, sample.labels.get("queue")): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }
    assert samples[("celery_broker_up", None)] == 1
    assert samples[("celery_queue_length", full)] == WAITING
    assert samples[("celery_queue_length", empty)] == 0
    # The queues settings route to, without being named: how full they are depends on
    # the other tests' workers.
    assert {"celery", "slow"} <= {queue for name, queue in samples if name == "celery_queue_length"}

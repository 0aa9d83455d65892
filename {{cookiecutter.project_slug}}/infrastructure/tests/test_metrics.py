"""/metrics: off without a token, refuses a wrong one, and reports every routed queue.

Unit tests run on the in-memory broker, whose queues are empty; the counts of real
queues on Redis and RabbitMQ are tests/integration/test_metrics.py's.
"""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from celery import Celery
from django.test import Client, override_settings
from kombu import Queue
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.metrics import METRICS_PATH, QueueLengthCollector, routed_queues
from {{ cookiecutter.project_slug }}.celery import app

TOKEN = "a-token-for-the-tests"
BROKER_AT = "{{ 'redis://127.0.0.1:{port}/0' if cookiecutter.broker == 'redis' else 'amqp://guest:guest@127.0.0.1:{port}//' }}"


def samples(text: str) -> dict[tuple[str, str | None], float]:
    """{(metric name, queue label): value} of a Prometheus text page."""
    return {
        (sample.name, sample.labels.get("queue")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@override_settings(METRICS_TOKEN="")
def test_without_a_token_there_is_no_metrics_page(client: Client) -> None:
    response = client.get(METRICS_PATH, headers={"Authorization": "Bearer "})
    assert response.status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", TOKEN, f"Basic {TOKEN}"])
def test_a_missing_or_wrong_token_is_refused(client: Client, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get(METRICS_PATH, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"celery_queue_length" not in response.content


# Production as Prometheus meets it: a host name it does not know, plain HTTP.
@override_settings(METRICS_TOKEN=TOKEN, ALLOWED_HOSTS=["example.com"], SECURE_SSL_REDIRECT=True)
def test_the_right_token_gets_every_routed_queue_from_a_scraper_at_any_address(
    client: Client,
) -> None:
    response = client.get(
        METRICS_PATH, headers={"Authorization": f"Bearer {TOKEN}", "Host": "10.1.2.3:8000"}
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    assert samples(response.text) == {
        ("celery_broker_up", None): 1.0,
        ("celery_queue_length", "celery"): 0.0,
        ("celery_queue_length", "slow"): 0.0,
    }


@override_settings(METRICS_TOKEN=TOKEN, METRICS_QUEUES=["reports"])
def test_metrics_queues_adds_queues_settings_do_not_name(client: Client) -> None:
    response = client.get(METRICS_PATH, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ("celery_queue_length", "reports") in samples(response.text)


def test_the_queues_are_read_from_celerys_settings() -> None:
    assert routed_queues(app.conf) == ["celery", "slow"]


def test_every_form_of_route_names_its_queue() -> None:
    conf = {
        "task_default_queue": "default",
        "task_queues": [Queue("declared")],
        "task_routes": (
            {"a.task": {"queue": "by-mapping"}, "b.task": "by-name"},
            [("c.*", {"queue": Queue("by-pattern")})],
            {"d.task": {"exchange": "no-queue-here"}},
            lambda name, args, kwargs, options, task=None, **kw: None,  # Cannot be read.
        ),
        "beat_schedule": {"nightly": {"task": "e.task", "options": {"queue": "by-beat"}}},
    }
    assert routed_queues(conf) == [
        "by-beat",
        "by-mapping",
        "by-name",
        "by-pattern",
        "declared",
        "default",
    ]


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that accepts connections and never says a word, as a hung broker would."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return  # Closed at the end of the test.

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for connection in accepted:
        connection.close()


@override_settings(METRICS_BROKER_TIMEOUT=0.5)
@pytest.mark.parametrize("broker", ["refusing", "silent"])
def test_a_broker_that_does_not_answer_is_reported_within_the_timeout(
    broker: str, silent_broker: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Celery prefers CELERY_BROKER_URL, when set (the README's way to run with a broker),
    # to the URL given to the app.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    port = silent_broker if broker == "silent" else 1  # Nothing listens on port 1.
    url = BROKER_AT.format(port=port)
    collector = QueueLengthCollector(Celery(broker=url), lambda: ["celery"])

    started = time.monotonic()
    metrics = {family.name: family.samples for family in collector.collect()}

    # Within the timeout, give or take a loaded machine; without it, a silent broker would
    # hold the scrape until the kernel gave up on the connection, minutes later.
    assert time.monotonic() - started < 10
    assert list(metrics) == ["celery_broker_up"]  # No queue lengths: none was read.
    assert metrics["celery_broker_up"][0].value == 0

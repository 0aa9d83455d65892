"""Faults lose nothing: a broker that goes away (whole workers killed: test_worker_stops.py)."""

import urllib.parse

from django.conf import settings

from base.tasks import add

from .conftest import OutageProxy, with_address


def test_the_worker_reconnects_by_itself_after_a_broker_outage(start_worker, outcome) -> None:
    broker = urllib.parse.urlsplit(settings.CELERY_BROKER_URL)
    proxy = OutageProxy((broker.hostname, broker.port or {{ 6379 if cookiecutter.broker == "redis" else 5672 }}))
    through_proxy = with_address(settings.CELERY_BROKER_URL, "127.0.0.1", proxy.port)
    worker = start_worker("outage", queue="outage", CELERY_BROKER_URL=through_proxy)
    assert outcome(add.apply_async((1, 1), queue="outage"), worker) == "SUCCESS: 2"

    proxy.outage(seconds=3)

    worker.wait_for_log(r"Connection to broker lost")
    assert outcome(add.apply_async((2, 2), queue="outage"), worker) == "SUCCESS: 4"
    assert worker.log().count("Connected to") == 2

"""Faults lose nothing: a worker killed mid-task, and a broker that goes away."""

import time
import urllib.parse

from django.conf import settings

from base.tasks import add, long_running_job

from .conftest import OutageProxy, with_address


def test_a_task_survives_its_worker_being_killed(start_worker, outcome) -> None:
    # acks_late: the message stays unacknowledged while the task runs, so the broker
    # delivers it again once its worker is gone. RabbitMQ does so as soon as the
    # connection drops. Redis waits until the message is older than the transport's
    # visibility_timeout (by default twice the hard time limit: two hours), and then
    # restores it when a starting worker sweeps (running workers sweep about every
    # 100 s). These workers use 3 s, and the rescuer starts once that has passed.
    visibility_timeout = 3
    environment = {"CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout)}
    doomed = start_worker("doomed", queue="faults", **environment)
    result = long_running_job.apply_async((20, 0.1), queue="faults")
    doomed.wait_for_log(rf"long_running_job\[{result.id}\] received")
    time.sleep(0.5)  # Inside the task now.

    doomed.kill()
    time.sleep(visibility_timeout)
    rescuer = start_worker("rescuer", queue="faults", **environment)
    try:
        assert outcome(result, rescuer) == "SUCCESS: {'done': 20, 'total': 20}"
    finally:
        # On Redis it would go on restoring every message unacknowledged for 3 s, on any
        # queue: a later test's task that runs longer would be delivered a second time.
        rescuer.stop()


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

"""Queue lengths for Prometheus: GET /metrics, read from the broker at each scrape.

The web process answers, rather than an exporter process of its own: it already runs
everywhere the project runs (compose, systemd, Kubernetes), with the broker's address
and a health check, so there is nothing more to deploy, watch or restart. A scrape holds
one gunicorn worker for a broker round trip per queue, or METRICS_BROKER_TIMEOUT at most
while the broker is away. The numbers are the broker's, not the process's, so any web
process gives the same answer (a sum over instances would count each queue once per
instance: take the max). Task counts and run times are Flower's /metrics: they come from
the workers' events, which only a process that listens to them all can count.

Off until METRICS_TOKEN is set; then /metrics wants "Authorization: Bearer <token>",
as the site behind it is public.
"""

import hmac
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from celery import Celery
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from {{ cookiecutter.project_slug }}.celery import app

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"


def routed_queues(conf: Mapping[str, Any]) -> list[str]:
    """Every queue Celery's settings send tasks to, sorted.

    The default queue, task_queues, the queues task_routes names (a mapping, or a list of
    mappings and (pattern, route) pairs), and those of beat entries. A router function
    can send anywhere, so its queues cannot be read here: METRICS_QUEUES adds them.
    """
    names = {conf["task_default_queue"]}
    names.update(queue.name for queue in conf["task_queues"] or ())
    routers = conf["task_routes"] or ()
    for router in [routers] if isinstance(routers, Mapping) else routers:
        if isinstance(router, Mapping):
            names.update(queue_of(route) for route in router.values())
        elif isinstance(router, list | tuple):  # [(pattern, route), ...]
            names.update(queue_of(route) for _, route in router)
    for entry in (conf["beat_schedule"] or {}).values():
        names.add(queue_of(entry.get("options", {})))
    names.discard(None)
    return sorted(names)


def queue_of(route: Any) -> str | None:
    """The queue of one route: a name, {"queue": name}, or {"queue": Queue(name)}."""
    if isinstance(route, str):
        return route
    queue = route.get("queue") if isinstance(route, Mapping) else None
    return getattr(queue, "name", queue)


def message_count(connection: Connection, queue: str) -> int:
    """Messages ready in the queue, not counting those a worker has taken and not acked.

    On RabbitMQ a passive declare reads the count without creating the queue; one that no
    one has declared yet answers "404 not found": nothing waits in it. That error closes
    the channel, so each queue gets a channel of its own. A Redis queue is a list, which
    its first message creates: there a plain declare writes nothing and counts with LLEN.
    It is also the one that works with settings' global_keyprefix, as a passive declare
    asks Redis whether the list exists without the prefix (kombu 5.7), so never finds it.
    """
    passive = connection.transport.driver_type != "redis"
    with connection.channel() as channel:
        try:
            return channel.queue_declare(queue, passive=passive).message_count
        except connection.channel_errors as error:
            if str(getattr(error, "reply_code", "")) == "404":
                return 0
            raise


class QueueLengthCollector(Collector):
    """celery_queue_length per queue and celery_broker_up, read when Prometheus scrapes."""

    def __init__(self, celery_app: Celery, queues: Callable[[], Iterable[str]]) -> None:
        self.app = celery_app
        self.queues = queues

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "celery_broker_up", "1 if the broker answered this scrape in time, 0 if not."
        )
        lengths = GaugeMetricFamily(
            "celery_queue_length",
            "Tasks waiting in the queue for a worker (taken but unacknowledged ones not counted).",
            labels=["queue"],
        )
        try:
            for queue, count in self.read().items():
                lengths.add_metric([queue], count)
        except Exception as error:  # Down, refusing us, or too slow: say so as a value.
            logger.warning("metrics: could not read queue lengths from the broker: %r", error)
            up.add_metric([], 0)
            yield up
            return  # No lengths rather than made-up zeros: an alert on them sees no data.
        up.add_metric([], 1)
        yield up
        yield lengths

    def read(self) -> dict[str, int]:
        # A connection per scrape (one every 15 to 60 s): no idle connection for the broker
        # to drop between scrapes, and none shared by gunicorn's forked workers. The
        # timeouts bound the scrape when the broker is gone or stops answering: connect,
        # read and write timeouts for RabbitMQ (py-amqp), the socket ones for Redis; each
        # transport ignores the other's.
        timeout = settings.METRICS_BROKER_TIMEOUT
        timeouts = ("read_timeout", "write_timeout", "socket_timeout", "socket_connect_timeout")
        with self.app.connection_for_read(
            connect_timeout=timeout, transport_options=dict.fromkeys(timeouts, timeout)
        ) as connection:
            # One try, not Celery's retries: a scrape must end within its own timeout.
            connection.ensure_connection(max_retries=0)
            return {queue: message_count(connection, queue) for queue in self.queues()}


def reported_queues() -> list[str]:
    return sorted({*routed_queues(app.conf), *settings.METRICS_QUEUES})


# A registry of its own: the default one adds this process's CPU, memory and garbage
# collector numbers, which describe whichever gunicorn worker answered, not the project.
REGISTRY = CollectorRegistry()
REGISTRY.register(QueueLengthCollector(app, reported_queues))


class MetricsMiddleware:
    """Answer GET /metrics for Prometheus, with its bearer token, before other middleware.

    Prometheus scrapes each pod or host by address, over plain HTTP, as the health probes
    do: the host check and the HTTPS redirect would refuse it, so this comes right after
    HealthCheckMiddleware. With METRICS_TOKEN empty it does nothing and /metrics is 404.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = settings.METRICS_TOKEN
        if not token or request.path != METRICS_PATH:
            return self.get_response(request)
        given = request.headers.get("Authorization", "")
        # Constant time: how much of the token matched must not show in the reply's delay.
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("a bearer token is needed\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)

"""Example tasks, each showing one practice. Celery names them base.tasks.<function>."""

import contextlib
import datetime
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import urllib.parse

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task
def add(x: int, y: int) -> int:
    """Add two numbers: the smallest task, handy to check that workers answer."""
    return x + y


@shared_task
def mul(x: int, y: int) -> int:
    """Multiply two numbers: a step to compose in chains and groups."""
    return x * y


@shared_task
def xsum(numbers: list[int]) -> int:
    """Sum a list: the callback of a chord, which receives every header task's result."""
    return sum(numbers)


class WebhookUnavailable(Exception):
    """The receiver was unreachable, hung up or answered 429/5xx: worth trying again later."""


class WebhookRejected(Exception):
    """The receiver refused the request (4xx) or redirected it: sending it again would too."""


class UnsafeWebhookURL(ValueError):
    """The URL is not http(s), or its host is an internal address: never sent, never retried."""


RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def may_receive_webhooks(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether webhooks may go to an address: a public one, or one in WEBHOOK_ALLOWED_NETWORKS.

    Whoever chooses a webhook URL could otherwise make the worker POST inside its own
    network: to the database, to an admin port, to the cloud metadata service.
    """
    allowed = getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", ())
    if any(address in ipaddress.ip_network(network) for network in allowed):
        return True
    # Not global: loopback, private, link-local, reserved, unspecified. Multicast
    # addresses count as global, so they are refused separately.
    return address.is_global and not address.is_multicast


def connect_to_receiver(
    url: urllib.parse.SplitResult, timeout: float
) -> http.client.HTTPConnection:
    """Open a connection to the host of an http(s) URL, at an address that was checked."""
    if url.scheme not in ("http", "https") or not url.hostname:
        raise UnsafeWebhookURL(f"{url.geturl()}: only http:// and https:// URLs are delivered")
    port = url.port or (443 if url.scheme == "https" else 80)
    # Connect to the addresses checked, not to the name: resolving it again could give
    # another answer (DNS rebinding). Each in turn, as socket.create_connection does.
    for address in checked_addresses(url, port):
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
            break
        except OSError as error:
            failure = error
    else:
        raise failure
    if url.scheme == "https":
        # The certificate must be valid for the name, whatever address was connected to.
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=url.hostname)
    connection = http.client.HTTPConnection(url.hostname, port, timeout=timeout)
    connection.sock = sock  # Already open: http.client sends on it, with Host: <the name>.
    return connection


def checked_addresses(url: urllib.parse.SplitResult, port: int) -> list[str]:
    """The addresses the URL's host resolves to, if webhooks may go to every one."""
    resolved = socket.getaddrinfo(url.hostname, port, type=socket.SOCK_STREAM)
    addresses = [sockaddr[0] for *_, sockaddr in resolved]
    for address in addresses:
        if not may_receive_webhooks(ipaddress.ip_address(address)):
            raise UnsafeWebhookURL(
                f"{url.geturl()}: {address} is an internal address"
                " (add its network to WEBHOOK_ALLOWED_NETWORKS to deliver there)"
            )
    return addresses


@shared_task(
    autoretry_for=(WebhookUnavailable,),
    max_retries=5,
    # Wait about 1, 2, 4, 8, 16 s between attempts (capped at 10 minutes), each wait
    # randomised so that many tasks failing together do not all retry together.
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
)
def deliver_webhook(url: str, payload: dict) -> int:
    """POST a JSON payload to a URL, retrying with exponential backoff while it is down.

    Use this shape for any call to another service that can fail for a while, and this
    very task for URLs that users or other systems give you. Only transient failures
    are retried (no connection, a dropped connection, a timeout, 429, 5xx); the task
    fails at once when the receiver refuses, and never sends to an internal address
    or follows a redirect. Returns the HTTP status.
    """
    parts = urllib.parse.urlsplit(url)
    try:
        with contextlib.closing(connect_to_receiver(parts, timeout=10)) as connection:
            connection.request(
                "POST",
                urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")),
                body=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"},
            )
            status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        raise WebhookUnavailable(f"{url} did not answer: {error!r}") from None
    if status in RETRYABLE_STATUSES:
        raise WebhookUnavailable(f"{url} answered {status}")
    if not 200 <= status < 300:
        # Redirects too: the payload would go to a host that was not checked.
        raise WebhookRejected(f"{url} answered {status}")
    return status


@shared_task(bind=True)
def long_running_job(self, steps: int, seconds_per_step: float = 0.0) -> dict[str, int]:
    """Work in steps and report progress, for jobs someone watches (imports, reports).

    While it runs, AsyncResult(task_id).state is "PROGRESS" and .info is
    {"done": n, "total": steps}; the caller polls that to draw a progress bar.
    Progress needs a result backend to be stored in.
    """
    for done in range(steps):
        self.update_state(state="PROGRESS", meta={"done": done, "total": steps})
        time.sleep(seconds_per_step)  # Stands for one unit of real work.
    return {"done": steps, "total": steps}


@shared_task
def send_welcome_email(user_id: int) -> bool:
    """Email a new user. Takes the user's id, not the user object.

    Pass primary keys to tasks: messages are JSON, and by the time a task runs the
    row may have changed, so the task fetches its current state. A user deleted in
    the meantime is not an error. Returns whether an email was sent.
    """
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return False
    user.email_user("Welcome", f"Hello {user.get_username()}, your account is ready.")
    return True


@shared_task
def count_signups(day: str) -> int | None:
    """Count the users who joined on a day (YYYY-MM-DD), one run per day at a time.

    Use this shape for work that must not run twice at once: a report that a person and
    beat both ask for, an import clicked twice. cache.add() sets the lock only where it
    is absent, in one step, so exactly one run holds it; a copy sent meanwhile returns
    None at once. The lock expires after the hard time limit, should its worker die
    holding it. The count stays in the cache for a day, for pages to show without a query.
    """
    lock = f"count_signups:{day}:lock"
    if not cache.add(lock, "held", timeout=settings.CELERY_TASK_TIME_LIMIT):
        logger.info("Signups of %s are being counted by another run; not counting again", day)
        return None
    try:
        joined = get_user_model().objects.filter(date_joined__date=datetime.date.fromisoformat(day))
        count = joined.count()
        cache.set(f"count_signups:{day}", count, timeout=24 * 3600)
        return count
    finally:
        cache.delete(lock)


@shared_task
def heartbeat() -> str:
    """Log a line every few minutes (see CELERY_BEAT_SCHEDULE).

    When these lines stop appearing in the worker log, beat or the workers are down.
    """
    now = timezone.now().isoformat()
    logger.info("Heartbeat from beat, run by a worker at %s", now)
    return now


@shared_task
def clear_expired_sessions() -> None:
    """Delete expired sessions, which Django never removes by itself; runs nightly."""
    call_command("clearsessions")

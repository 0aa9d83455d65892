"""Example tasks, each showing one practice. Celery names them base.tasks.<function>."""

import json
import logging
import time
import urllib.error
import urllib.request

from celery import shared_task
from django.contrib.auth import get_user_model
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
    """The receiver could not be reached or answered 429/5xx: worth trying again later."""


class WebhookRejected(Exception):
    """The receiver refused the request (4xx): sending it again would fail the same way."""


RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


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

    Use this shape for any call to another service that can fail for a while. Only
    transient failures are retried; the task fails at once when the receiver refuses.
    Returns the HTTP status.
    """
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        if error.code in RETRYABLE_STATUSES:
            raise WebhookUnavailable(f"{url} answered {error.code}") from None
        raise WebhookRejected(f"{url} answered {error.code}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise WebhookUnavailable(f"{url} is unreachable: {error}") from None


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

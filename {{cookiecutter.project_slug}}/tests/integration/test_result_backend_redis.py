"""With the redis backend, a result is a key in Redis, under the project's prefix."""

import json

import redis
from django.conf import settings

from base.tasks import add

from .conftest import TIMEOUT


def test_the_result_is_a_prefixed_key_in_redis(worker) -> None:
    result = add.delay(20, 22)
    result.get(timeout=TIMEOUT)

    client = redis.Redis.from_url(settings.CELERY_RESULT_BACKEND)
    stored = json.loads(client.get(f"{{ cookiecutter.project_slug }}:celery-task-meta-{result.id}"))
    assert (stored["status"], stored["result"], stored["name"]) == ("SUCCESS", 42, "base.tasks.add")

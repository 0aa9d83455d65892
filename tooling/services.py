"""This machine's services, handed out in isolated pieces to one test run each.

Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672 (guest/guest) and PostgreSQL
127.0.0.1:5432 (trust) are shared; every run gets its own Redis database, its own
RabbitMQ virtual host and its own PostgreSQL database, all removed afterwards.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

REDIS = "redis://127.0.0.1:6379"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672"
POSTGRES = "postgres://postgres@127.0.0.1:5432"
CLAIM_KEY = "cookiecutter-django-celery:claimed-by"
# Database 0 is left to whoever else uses this Redis.
REDIS_DATABASES = range(1, 16)


@contextmanager
def redis_database() -> Iterator[str]:
    """Claim an empty Redis database; yield its URL; empty it afterwards."""
    claim = str(uuid.uuid4())
    for number in REDIS_DATABASES:
        client = redis.Redis.from_url(f"{REDIS}/{number}")
        # The claim key makes the database non-empty for every other claimant; it
        # expires, so a run that died cannot keep a database forever.
        if client.set(CLAIM_KEY, claim, nx=True, ex=3600) and client.dbsize() == 1:
            break
        if client.get(CLAIM_KEY) == claim.encode():
            client.delete(CLAIM_KEY)  # Ours, but someone else's data is there too.
    else:
        raise RuntimeError(f"no empty Redis database among {list(REDIS_DATABASES)} on {REDIS}")
    try:
        yield f"{REDIS}/{number}"
    finally:
        client.flushdb()


def rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "--quiet", *arguments], check=True, capture_output=True)


@contextmanager
def rabbitmq_vhost(label: str) -> Iterator[str]:
    """Create a RabbitMQ virtual host for guest; yield its URL; delete it afterwards."""
    vhost = f"cdc-{label}-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{RABBITMQ}/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


def postgres_url(label: str) -> str:
    """A database URL for the run; pytest-django creates and drops test_<name> itself.

    The name is unique, so two runs on one machine never drop each other's database.
    """
    name = label.replace("-", "_").replace(".", "_")
    return f"{POSTGRES}/cdc_{name}_{uuid.uuid4().hex[:8]}"


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """Create a PostgreSQL database of its own; yield its URL; drop it afterwards.

    For runs outside pytest-django, which would otherwise create and drop it itself.
    """
    url = postgres_url(label)
    host = ["--host=127.0.0.1", "--port=5432", "--username=postgres", "--no-password"]
    name = url.rpartition("/")[2]
    subprocess.run(["createdb", *host, name], check=True, capture_output=True)
    try:
        yield url
    finally:
        subprocess.run(["dropdb", *host, "--force", "--if-exists", name], capture_output=True)

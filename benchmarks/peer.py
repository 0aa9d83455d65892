"""The peer users would otherwise pick: cookiecutter-django's Celery settings.

Its `config/settings/base.py` sets these values for Celery (read 2026-11-26): results in
the broker's Redis, extended results, result writes retried up to 10 times, JSON only,
time limits of 300 s (soft 60 s), task events and sent events on. Everything else is
Celery's default, so unlike the template: no late acknowledgement, prefetch of 4, no
retry when a pool process dies. Its Celery app reads them from Django's settings and
hands logging to Django's LOGGING, as here, on a Django with only auth and contenttypes
(the benchmark's task touches no model). Run like benchmarks.bare: BENCHMARK_APP names
this module, PEER_BROKER_URL the broker.
"""

import logging.config
import os

import django
from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    USE_TZ=True,
    TIME_ZONE="UTC",
    LOGGING={
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"verbose": {"format": "%(levelname)s %(asctime)s %(module)s %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "verbose"}},
        "root": {"level": "INFO", "handlers": ["console"]},
    },
    CELERY_TIMEZONE="UTC",
    CELERY_BROKER_URL=os.environ["PEER_BROKER_URL"],
    CELERY_RESULT_BACKEND=os.environ["PEER_BROKER_URL"],
    CELERY_RESULT_EXTENDED=True,
    CELERY_RESULT_BACKEND_ALWAYS_RETRY=True,
    CELERY_RESULT_BACKEND_MAX_RETRIES=10,
    CELERY_ACCEPT_CONTENT=["json"],
    CELERY_TASK_SERIALIZER="json",
    CELERY_RESULT_SERIALIZER="json",
    CELERY_TASK_TIME_LIMIT=5 * 60,
    CELERY_TASK_SOFT_TIME_LIMIT=60,
    CELERY_WORKER_SEND_TASK_EVENTS=True,
    CELERY_TASK_SEND_SENT_EVENT=True,
)
django.setup()

app = Celery("peer")
app.config_from_object("django.conf:settings", namespace="CELERY")


@setup_logging.connect
def configure_logging(**kwargs) -> None:
    logging.config.dictConfig(settings.LOGGING)


@app.task
def add(x: int, y: int) -> int:
    return x + y

"""Tests (pytest): development settings, with fast password hashing and captured email."""

import os

from .dev import *
from .dev import CELERY_BEAT_SCHEDULE

# Hashing with the default PBKDF2 costs ~0.3 s a user; tests need no strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks inline even with a broker set in .env or the shell
# (conftest.py): store their results as a worker would.
CELERY_TASK_STORE_EAGER_RESULT = True
# The webhook tests' receivers listen on loopback, which deliver_webhook refuses by default.
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]

CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    # Due every second, so the integration tests see beat and a worker work together.
    "integration-heartbeat": {"task": "base.tasks.heartbeat", "schedule": 1.0},
}
# tests/integration/test_beat_leader.py counts one more entry's sends: due every
# BEAT_LEADER_TEST_PERIOD seconds, to a queue of its own that no worker reads.
if os.environ.get("BEAT_LEADER_TEST_PERIOD"):
    CELERY_BEAT_SCHEDULE["leader-test"] = {
        "task": "base.tasks.heartbeat",
        "schedule": float(os.environ["BEAT_LEADER_TEST_PERIOD"]),
        "options": {"queue": os.environ["BEAT_LEADER_TEST_QUEUE"]},
    }

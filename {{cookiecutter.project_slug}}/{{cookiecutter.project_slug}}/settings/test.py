"""Tests (pytest): development settings, with fast password hashing and captured email."""

from .dev import *
from .dev import CELERY_BEAT_SCHEDULE

# Hashing with the default PBKDF2 costs ~0.3 s a user; tests need no strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    # Due every second, so the integration tests see beat and a worker work together.
    "integration-heartbeat": {"task": "base.tasks.heartbeat", "schedule": 1.0},
}

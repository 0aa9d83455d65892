"""Production: every deploy-specific value must come from the environment."""

from django.core.exceptions import ImproperlyConfigured

from {{ cookiecutter.project_slug }}.env import env_bool, env_int, env_list, require

from .base import *
from .base import CELERY_BROKER_URL, database

DEBUG = False
SECRET_KEY = require("DJANGO_SECRET_KEY", "production needs its own secret key")
DATABASES = {"default": database(require("DATABASE_URL", "production needs PostgreSQL"))}

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is not set: list the host names this site serves, comma-separated"
    )

if CELERY_BROKER_URL.startswith("memory://"):
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is not set: production needs a real broker (redis://... or "
        "amqp://...); without one, or with memory://, every task would be lost"
    )
{%- if cookiecutter.result_backend == "redis" and cookiecutter.broker == "rabbitmq" %}
CELERY_RESULT_BACKEND = require("CELERY_RESULT_BACKEND", "task results are stored in Redis")
{%- endif %}

# HTTPS only: secure cookies, and browsers told to stay on HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60)
SECURE_CONTENT_TYPE_NOSNIFF = True

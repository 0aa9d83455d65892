{%- from "parts.jinja" import part with context -%}
"""Production: every deploy-specific value must come from the environment."""

from django.core.exceptions import ImproperlyConfigured

from {{ cookiecutter.project_slug }}.env import env_bool, env_int, env_list, require, require_url

from .base import *
from .base import database

DEBUG = False
SECRET_KEY = require("DJANGO_SECRET_KEY", "production needs its own secret key")
# PostgreSQL only: SQLite is a file on one host that takes one writer at a time, so
# web and worker processes would fail each other's writes with "database is locked".
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")
DATABASES = {
    "default": database(
        require_url("DATABASE_URL", POSTGRES_SCHEMES, "production needs PostgreSQL")
    )
}

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is not set: list the host names this site serves, comma-separated"
    )

# Network brokers only, the ones this project is built and tested with. Any other
# transport is refused: memory:// keeps messages in one process and filesystem:// on
# one disk, so tasks would be lost or never reach a worker; for another network
# transport (SQS, say), install it and add its scheme here.
CELERY_BROKER_URL = require_url(
    "CELERY_BROKER_URL",
    ("redis", "rediss", "amqp", "amqps", "pyamqp"),
    "production needs a real broker (redis://... or amqp://...); without one, or with "
    "memory://, every task would be lost",
)
{{- part("broker", "settings/prod.py/broker") }}
{{- part("__results_url", "settings/prod.py/results-url") }}

# collectstatic writes each file under a name with its hash, and compressed copies;
# whitenoise (see MIDDLEWARE) serves them with far-future caching. The Dockerfile
# collects at build time, the systemd web unit before gunicorn starts.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS only: secure cookies, and browsers told to stay on HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS: browsers refuse plain HTTP to this site for that many seconds. An hour limits
# the harm of a mistake (a certificate lapses, a subdomain still needs HTTP); once all
# is well over HTTPS, raise it to a year, 31536000.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 3600)
# This host's subdomains too (from app.example.com: *.app.example.com), so none can be
# used over plain HTTP to plant cookies for this site. Set false if one must stay on HTTP.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Browsers' built-in HSTS list: a commitment that takes months to undo, and anyone may
# submit a domain that sends `preload`. Opt in, once HSTS lasts a year, and submit it at
# hstspreload.org; until then, `check --deploy` need not remind you (security.W021).
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W021"]

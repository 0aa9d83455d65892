{%- from "parts.jinja" import part with context -%}
"""Settings shared by every environment; dev.py, test.py and prod.py change only what differs.

Every deploy-specific value comes from an environment variable (see .env.example).
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from {{ cookiecutter.project_slug }}.env import (
    env_bool,
    env_choice,
    env_email,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Django

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
{{- part("scheduler", "settings/base.py/apps") }}
{{- part("result_backend", "settings/base.py/apps") }}
    "infrastructure",
{{- part("user_model", "settings/base.py/apps") }}
    "base",
]

MIDDLEWARE = [
    # First: answers /health/ probes before the HTTPS redirect and the host check.
    "infrastructure.middleware.HealthCheckMiddleware",
    # Then /metrics for Prometheus, for the same reason, once METRICS_TOKEN is set.
    "infrastructure.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ from the web process itself, with far-future caching of the hashed
    # files that collectstatic writes (settings/prod.py); right after SecurityMiddleware,
    # as whitenoise asks, so its responses get the security headers too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"
WSGI_APPLICATION = "{{ cookiecutter.project_slug }}.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database(url: str) -> dict:
    """Django's DATABASES entry for a database URL such as postgres://user@host/name."""
    # Persistent connections with a health check: cheap reuse, no stale sockets.
    entry = dj_database_url.parse(
        url, conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    # PostgreSQL runs a query to its end even when the process that sent it is gone (a
    # worker killed by its hard time limit), holding its locks all the while. With this
    # it checks every few seconds, during a query, that the client is still there.
    # 0 leaves it out: PgBouncer refuses unknown options, PostgreSQL < 14 lacks it.
    interval = env_int("DJANGO_DB_CLIENT_CHECK_INTERVAL", 5)
    if interval and entry["ENGINE"] == "django.db.backends.postgresql":
        options = entry.setdefault("OPTIONS", {})
        options["options"] = f"-c client_connection_check_interval={interval}s"
    return entry


DATABASES = {"default": database(env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
{{- part("user_model", "settings/base.py/auth") }}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = {{ cookiecutter.timezone | tojson }}
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))

# Where e-mail goes, as one URL: a provider's submission port is
# smtp+tls://user:password@smtp.example.com:587; by default, the relay on this host.
# Sets EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS and EMAIL_USE_SSL (env.py's env_email lists the forms).
globals().update(env_email("EMAIL_URL", "smtp://localhost:25"))
# A mail server that stops answering fails the send after 30 s, not at the task's time limit.
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env_str(
    "DJANGO_DEFAULT_FROM_EMAIL",
    {{ cookiecutter.author_email | tojson }},
)

# Internal networks that deliver_webhook (base/tasks.py) may post to, comma-separated
# CIDR such as 10.0.5.0/24: it refuses loopback, private and other non-public addresses.
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS")

# Celery writes through these loggers too: worker_hijack_root_logger is off below.
# DJANGO_LOG_FORMAT=json writes one JSON object per line for log collectors; a record
# logged inside a task carries task_id and task_name (infrastructure/observability.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"task": {"()": "infrastructure.observability.TaskContext"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(name)s] %(processName)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(processName)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_choice("DJANGO_LOG_FORMAT", ("plain", "json")),
            "filters": ["task"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}
# Workers log one INFO line per task received, retried and succeeded; failures are
# logged at ERROR either way. CELERY_TASK_LOGS=false drops the INFO lines: quieter
# workers, and a cost the template's README measures (Performance).
if not env_bool("CELERY_TASK_LOGS", default=True):
    LOGGING["loggers"] = {
        name: {"level": "WARNING"} for name in ("celery.app.trace", "celery.worker.strategy")
    }

# Celery: every CELERY_<NAME> here is Celery's <name> setting (see celery.py).

# Empty means "no broker": memory:// keeps messages in this process, where Celery's
# own default (amqp://guest@localhost) would publish to a broker nobody configured.
# dev.py then runs tasks inline; prod.py refuses to start.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "memory://localhost/")
{{- part("result_backend", "settings/base.py/results") }}
{{- part("__results_url", "settings/base.py/results") }}
# Same clock as Django, so crontab entries mean the time the project lives in.
CELERY_TIMEZONE = TIME_ZONE
# JSON only: pickle would let anyone who can publish a message run code on the workers.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Acknowledge after the task ran, so a crashed worker's task is delivered again.
CELERY_TASK_ACKS_LATE = True
# A task whose worker process died (OOM, segfault) is retried within its max_retries,
# so one poison message cannot loop forever; requeued if that retry cannot be sent. It
# runs again 10 s later (infrastructure/task.py says why), not Celery's 3 minutes.
CELERY_TASK_RETRY_ON_WORKER_LOST = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Pool processes per worker; unset (or 0) means one per CPU, which in a container is the
# host's CPU count, not the container's share: set it there.
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 0) or None
# Reserve one message per pool process: with acks_late a long task then holds no other
# task back. Workers that run only short tasks can reserve more (fewer broker round
# trips, most of all on RabbitMQ).
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1)
# A pool process is replaced by a fresh one after this many tasks, or after a task that
# leaves it holding more than this much memory (KiB), so a slow leak in a library or in a
# task cannot grow a worker until the kernel kills it mid-task. A fresh process forks from
# the worker, which has imported everything already: a few milliseconds. 0 turns either off.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 10_000) or None
CELERY_WORKER_MAX_MEMORY_PER_CHILD = (
    env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 512 * 1024) or None
)
# Every task ends: the soft limit raises SoftTimeLimitExceeded inside the task so it
# can clean up; the hard limit, 10 % later, kills the process if cleanup hangs.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int(
    "CELERY_TASK_SOFT_TIME_LIMIT", CELERY_TASK_TIME_LIMIT * 9 // 10
)
# Slow work has a queue of its own, with its own workers (compose's worker-slow, systemd's
# celery-worker@slow), so a backlog of it never holds back the quick tasks on the default
# queue, "celery". Route a task there by its name. A worker started without --queues
# takes the default queue only: in development, give it --queues=celery,slow.
CELERY_TASK_ROUTES = {"base.tasks.long_running_job": {"queue": "slow"}}
# A stopping worker (SIGTERM) lets its running tasks finish for this long, then hands
# the rest back to the broker for another worker (infrastructure/receivers.py). By
# default every task can finish; lower it for quicker deploys. The grace periods of
# compose, systemd and Kubernetes are this plus a minute: change them together.
WORKER_STOP_TIMEOUT = env_int("CELERY_WORKER_STOP_TIMEOUT", CELERY_TASK_TIME_LIMIT)
# STARTED shows which tasks are running now, at the cost of one more result write
# per task; off, a running task reads PENDING until it ends.
CELERY_TASK_TRACK_STARTED = env_bool("CELERY_TASK_TRACK_STARTED", default=False)
# Task events cost a broker message per task state. Off by default: Flower switches
# them on in the workers it watches (its enable_events option), so they cost only
# while someone watches. On here, `celery events` and exporters see every task,
# including the "sent" event that only producers can send.
CELERY_WORKER_SEND_TASK_EVENTS = env_bool("CELERY_TASK_EVENTS", default=False)
CELERY_TASK_SEND_SENT_EVENT = CELERY_WORKER_SEND_TASK_EVENTS
# Store task name, args and worker with each result, so a result explains itself.
CELERY_RESULT_EXTENDED = True
# Results are kept a week; beat's built-in celery.backend_cleanup removes older ones.
CELERY_RESULT_EXPIRES = timedelta(days=7)
# A result the worker cannot write because the result store is away (a database or Redis
# restart) is written again with growing pauses, for about a minute, instead of being
# lost: the task has run, and its caller would wait for ever. Each try's pause is random,
# up to 0.1 s doubled per try and at most 5 s; 25 tries wait 50 s on average, 100 at most.
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = 25
CELERY_RESULT_BACKEND_BASE_SLEEP_BETWEEN_RETRIES_MS = 100
CELERY_RESULT_BACKEND_MAX_SLEEP_BETWEEN_RETRIES_MS = 5000
# Keep retrying the broker at startup too, so a worker outlives a broker that starts late.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# On broker connection loss the unacknowledged tasks go back to the queue; cancel
# the running copies instead of letting them finish and run twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Show the worker's traceback when the caller re-raises a task's exception (needs tblib).
CELERY_TASK_REMOTE_TRACEBACKS = True
# Let Django's LOGGING, not Celery, decide where log records go.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection around every task unless it
# may reuse it this many times: a new PostgreSQL session per task. Practically never:
# celery.py treats each task like a request instead, so DJANGO_CONN_MAX_AGE and the
# connection health check decide, as they do for the web.
CELERY_DB_REUSE_MAX = 2**31
{{- part("broker", "settings/base.py/broker") }}
{{- part("result_backend", "settings/base.py/results-transport") }}
# Beat answers `celery inspect ping`, so its health can be checked like a worker's.
CELERY_BEAT_ENABLE_REMOTE_CONTROL = True
# Beat saves each entry's last-run time right after sending it (Celery's default: every
# 3 minutes), so a beat killed and restarted does not send an entry a second time.
CELERY_BEAT_SYNC_EVERY = 1
# Only the beat that holds a PostgreSQL lock sends; any other is a standby that asks for
# the lock again this often, in seconds, and so takes over this soon after the leader
# stops (infrastructure/beat_leader.py). Keep it under the beat-alive probe's --max-age.
BEAT_LEADER_POLL_INTERVAL = env_int("BEAT_LEADER_POLL_INTERVAL", 5)
{{- part("scheduler", "settings/base.py/beat") }}
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "base.tasks.heartbeat",
        "schedule": timedelta(minutes=5),
    },
    "clear-expired-sessions": {
        "task": "base.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=30),
    },
}
{{- part("django_version", "settings/base.py/tasks") }}
{{ part("broker", "settings/base.py/cache") }}

# Sentry: unhandled errors of requests and tasks are reported when SENTRY_DSN is set;
# SENTRY_TRACES_SAMPLE_RATE (0 to 1) also sends that share of requests and tasks as traces.
if SENTRY_DSN := env_str("SENTRY_DSN"):
    from infrastructure.observability import send_errors_to_sentry

    send_errors_to_sentry(
        SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )

# Prometheus: GET /metrics with "Authorization: Bearer <METRICS_TOKEN>" answers each queue's
# length, read from the broker at every scrape (infrastructure/metrics.py). Empty: off,
# /metrics is a 404. It reports the queues settings route to; METRICS_QUEUES adds those only
# apply_async(queue=...) or a router function names (comma-separated).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_QUEUES = env_list("METRICS_QUEUES")
# A scrape waits this long (seconds) for the broker, then answers celery_broker_up 0,
# well within Prometheus's scrape_timeout (10 s by default).
METRICS_BROKER_TIMEOUT = env_float("METRICS_BROKER_TIMEOUT", 3.0)

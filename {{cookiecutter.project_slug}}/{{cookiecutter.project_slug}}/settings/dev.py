{%- from "parts.jinja" import part with context -%}
"""Development: debug on, a fixed dev-only key, and tasks run inline until a broker is set."""

from {{ cookiecutter.project_slug }}.env import env_bool, env_email, env_list, env_str

from .base import *
from .base import CELERY_BEAT_SCHEDULE, CELERY_BROKER_URL

# Never use this key anywhere but a developer's machine: prod.py requires DJANGO_SECRET_KEY.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
DEBUG = env_bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ("localhost", "127.0.0.1", "[::1]"))

# Print e-mail to the console unless EMAIL_URL sends it somewhere.
globals().update(env_email("EMAIL_URL", "console://"))

# No broker configured: run each task inline in the calling process, so the project
# works before Redis or RabbitMQ is installed. Set CELERY_BROKER_URL to use workers.
TASKS_RUN_INLINE = CELERY_BROKER_URL.lower().startswith("memory://")
if TASKS_RUN_INLINE:
    CELERY_TASK_ALWAYS_EAGER = True
    # A failed task raises in the caller at .get(), as it does with a worker. Raising
    # from .delay() (task_eager_propagates) would turn every retry into an exception
    # in the caller (celery/celery#4661), so the retry examples could not run inline.
    CELERY_TASK_EAGER_PROPAGATES = False
    # Store results and states as a worker would, so the admin and .get() behave the same.
    CELERY_TASK_STORE_EAGER_RESULT = True
{{- part("result_backend", "settings/dev.py/results") }}

CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    # Shows beat and a worker working together: a result every 30 seconds.
    "dev-add-every-30-seconds": {
        "task": "base.tasks.add",
        "schedule": 30.0,
        "args": (2, 2),
    },
}

"""The Celery application.

`celery -A {{ cookiecutter.project_slug }} worker` and `beat` start from here. The lines
after Celery's own three each connect one piece of policy from the infrastructure app.
"""

from celery import Celery
from celery.signals import (
    after_setup_logger,
    beat_init,
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
    worker_shutting_down,
)

from infrastructure import observability, receivers
from infrastructure.beat_leader import wait_to_lead
from infrastructure.flower_auth import refuse_flower_without_basic_auth
from infrastructure.liveness_step import LivenessFile

# Django's task class (delay_on_commit, ...) with the project's retry delay. Celery picks
# its own Django class only when DJANGO_SETTINGS_MODULE is set as the app is created;
# gunicorn and manage.py import this before they set it, so the app names it.
app = Celery("{{ cookiecutter.project_slug }}", task_cls="infrastructure.task:Task")

# Every Django setting named CELERY_<NAME> configures Celery's <name> setting.
app.config_from_object("django.conf:settings", namespace="CELERY")

# Import tasks.py from every installed app.
app.autodiscover_tasks()

# Refuse to guess between development and production settings.
app.on_configure.connect(receivers.require_settings_module)

# Flower shows task arguments and can stop workers: never let it run open.
refuse_flower_without_basic_auth()

# Workers keep a file fresh for the liveness probe, worker-alive.
app.steps["worker"].add(LivenessFile)

# One beat sends the schedule; a second waits as a standby until the first stops.
beat_init.connect(wait_to_lead)

# Honour --logfile (celery multi, systemd), which Celery alone ignores under Django's LOGGING.
after_setup_logger.connect(receivers.also_log_to_logfile)

# The worker's own CELERY_TASK_TIME_LIMIT applies, not the default of whoever sent the task.
before_task_publish.connect(receivers.leave_time_limits_to_the_worker)

# A stop waits for running tasks up to WORKER_STOP_TIMEOUT, then hands them back.
worker_shutting_down.connect(receivers.hand_back_tasks_at_the_stop_deadline)

# Close database connections that are too old or broken around each task, as Django
# does around each request.
task_prerun.connect(receivers.close_old_connections)
task_postrun.connect(receivers.close_old_connections)

# Trace tasks when OTEL_EXPORTER_OTLP_ENDPOINT is set: in each pool process, after the fork.
worker_process_init.connect(observability.trace_worker_process)
worker_process_shutdown.connect(observability.flush_traces)

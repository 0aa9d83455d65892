"""The project's beat scheduler, built and set up as `celery beat` does."""

from celery.utils.imports import symbol_by_name
from django.conf import settings

from {{ cookiecutter.project_slug }}.celery import app


def started_scheduler(**arguments: object):
    """Build the scheduler as beat does, then lead as beat_init makes it (beat_leader.py).

    On PostgreSQL it takes the leader lock to set up its schedule, then lets it go: no
    session of its own is left to keep the test database from being dropped.
    """
    scheduler = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)(app=app, **arguments)
    scheduler.lead("unit-test")
    if scheduler.lock is not None:
        scheduler.lock.release()
    return scheduler

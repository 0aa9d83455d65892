"""manage.py reconcile_beat_schedule: what beat does to the database schedule when it starts."""

from django.core.management.base import BaseCommand

from infrastructure.beat_database import reconcile, removed_entries_setting
from {{ cookiecutter.project_slug }}.celery import app


class Command(BaseCommand):
    help = (
        "Make the periodic tasks in the database match CELERY_BEAT_SCHEDULE, as beat does when "
        "it starts: a running beat picks the change up within seconds, without a restart."
    )

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(str(reconcile(app.conf.beat_schedule, removed_entries_setting())))

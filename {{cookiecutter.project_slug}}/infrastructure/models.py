"""Which periodic tasks CELERY_BEAT_SCHEDULE owns, kept as data (see beat_database.py).

The model is not registered in the admin, on purpose. It is beat's bookkeeping, not a
setting: a record an admin could edit or delete would change ownership with a click,
which is what keeping it out of the periodic task's description is for. And Django's
admin refuses to delete an object whose cascade reaches a registered model the user may
not delete, so a read-only registration would stop admins deleting a periodic task
settings no longer list, the one thing they are told to do with it. The description
still tells the admin which rows come from settings.
"""

from django.db import models
from django_celery_beat.models import PeriodicTask


class PeriodicTaskFromSettings(models.Model):
    """A periodic task written from a CELERY_BEAT_SCHEDULE entry: settings own it.

    It goes with its periodic task (deleted in the admin, or by BEAT_REMOVED_ENTRIES =
    "delete"); it outlives the entry's removal from settings, so the entry is still owned,
    and enabled again or not, if it comes back.
    """

    class State(models.TextChoices):
        LISTED = "listed", "Listed in settings"
        # Disabled by reconcile() when settings stopped listing it: enabled again if it
        # comes back.
        REMOVED = "removed", "Removed from settings, so disabled"
        # The admin had disabled it before: it stays disabled if it comes back.
        REMOVED_WHILE_DISABLED = "removed-while-disabled", "Removed from settings while disabled"

    periodic_task = models.OneToOneField(
        PeriodicTask, on_delete=models.CASCADE, primary_key=True, related_name="from_settings"
    )
    state = models.CharField(max_length=32, choices=State, default=State.LISTED)

    class Meta:
        verbose_name = "periodic task from settings"
        verbose_name_plural = "periodic tasks from settings"

    def __str__(self) -> str:
        return f"{self.periodic_task.name}: {self.get_state_display()}"

"""The database schedule, kept in step with CELERY_BEAT_SCHEDULE.

django-celery-beat's DatabaseScheduler writes every settings entry to the database when
beat starts, but never removes one that settings stop listing: it keeps firing. Here
each row written from settings says so in its description, which survives restarts and
needs no change to django-celery-beat's tables, so later runs know which rows settings
own. reconcile() applies these rules, when beat starts and from
`manage.py reconcile_beat_schedule`:

- an entry in settings is created, or updated to match settings (task, schedule,
  arguments, options); its Enabled box belongs to the admin and is left as it is;
- a row from settings that settings no longer list is disabled (BEAT_REMOVED_ENTRIES =
  "disable", also when the setting is absent), and enabled again if it comes back
  (unless it was disabled before it was removed); or deleted ("delete");
- any other row (created in the admin, or Celery's own) is never touched, unless
  settings list an entry of the same name: the name is the entry's identity.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

logger = logging.getLogger(__name__)

# A row's description tells where it came from; people read it in the admin, and
# reconcile() reads it to know which rows settings own. Changing these sentences
# would orphan the rows that carry the old ones.
FROM_SETTINGS = (
    "From CELERY_BEAT_SCHEDULE in settings: beat resets its task, schedule and arguments "
    "from settings when it starts, so change those in the code. Unticking Enabled lasts."
)
REMOVED = (
    "Removed from CELERY_BEAT_SCHEDULE in settings, so it was disabled. Delete it, or put "
    "it back in settings to enable it again."
)
REMOVED_WHILE_DISABLED = (
    "Removed from CELERY_BEAT_SCHEDULE in settings while it was disabled. Delete it, or put "
    "it back in settings (it stays disabled)."
)
OWNED_BY_SETTINGS = frozenset({FROM_SETTINGS, REMOVED, REMOVED_WHILE_DISABLED})

REMOVED_ENTRIES_CHOICES = ("disable", "delete")


def removed_entries_setting() -> str:
    """settings.BEAT_REMOVED_ENTRIES; "disable" where a project does not set it.

    The default keeps the scheduler a drop-in for any project, and is the undoable
    choice: a disabled row can be enabled again, a deleted one is gone.
    """
    return getattr(settings, "BEAT_REMOVED_ENTRIES", "disable")


@dataclass
class Reconciliation:
    """What reconcile() did: the names of the entries it changed, by action."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reenabled: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unchanged: int = 0
    left_alone: int = 0

    def __str__(self) -> str:
        changes = [
            f"{action} {', '.join(names)}"
            for action, names in [
                ("created", self.created),
                ("updated", self.updated),
                ("re-enabled", self.reenabled),
                ("disabled", self.disabled),
                ("deleted", self.deleted),
                ("could not write", self.failed),
            ]
            if names
        ]
        changes.append(f"{self.unchanged} unchanged")
        changes.append(f"{self.left_alone} not from settings left alone")
        return "Beat schedule reconciled with CELERY_BEAT_SCHEDULE: " + "; ".join(changes)


def reconcile(
    beat_schedule: Mapping[str, Mapping[str, object]], removed_entries: str
) -> Reconciliation:
    """Make the periodic tasks in the database match the settings' schedule, by the rules above.

    `removed_entries` says what becomes of a row whose entry settings no longer list:
    "disable" or "delete".
    """
    if removed_entries not in REMOVED_ENTRIES_CHOICES:
        raise ImproperlyConfigured(
            f"BEAT_REMOVED_ENTRIES must be one of {', '.join(REMOVED_ENTRIES_CHOICES)}, "
            f"got {removed_entries!r}"
        )
    result = Reconciliation()
    with transaction.atomic():
        rows = {row.name: row for row in PeriodicTask.objects.select_for_update()}
        for name, entry in beat_schedule.items():
            write_entry(name, entry, rows.get(name), result)
        for name, row in rows.items():
            if name in beat_schedule:
                continue
            if row.description not in OWNED_BY_SETTINGS:
                result.left_alone += 1
            elif removed_entries == "delete":
                row.delete()
                result.deleted.append(name)
            elif row.description == FROM_SETTINGS:
                row.description = REMOVED if row.enabled else REMOVED_WHILE_DISABLED
                row.enabled = False
                row.save()
                result.disabled.append(name)
            else:
                result.unchanged += 1  # Disabled on an earlier run.
    return result


def write_entry(
    name: str, entry: Mapping[str, object], row: PeriodicTask | None, result: Reconciliation
) -> None:
    """Create or update the row of one settings entry, leaving an existing row's Enabled box."""
    try:
        # A savepoint: an entry that cannot be written must not undo the others.
        with transaction.atomic():
            # The fields as DatabaseScheduler itself would write them (it calls this
            # when beat starts), so both always agree on what an entry looks like.
            fields = {**ModelEntry._unpack_fields(**entry), "description": FROM_SETTINGS}
            if row is None:
                PeriodicTask.objects.create(name=name, **fields)
                result.created.append(name)
                return
            action = result.updated
            if row.description == REMOVED:
                fields["enabled"] = True
                action = result.reenabled
            changed = {key: value for key, value in fields.items() if getattr(row, key) != value}
            if not changed:
                result.unchanged += 1
                return
            for key, value in changed.items():
                setattr(row, key, value)
            row.save()
            action.append(name)
    except Exception:
        # The system check (manage.py check) reports why; beat goes on with the rest.
        logger.exception("Could not write CELERY_BEAT_SCHEDULE entry %r to the database", name)
        result.failed.append(name)


class ReconcilingDatabaseScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler, reconciling the database when beat starts."""

    def setup_schedule(self) -> None:
        logger.info("%s", reconcile(self.app.conf.beat_schedule, removed_entries_setting()))
        # DatabaseScheduler.setup_schedule would write the settings entries again. Read
        # the schedule now that the database matches settings (the first read of
        # self.schedule), and add Celery's own entries as DatabaseScheduler does.
        self.install_default_entries(self.schedule)

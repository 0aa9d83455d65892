"""The database schedule, kept in step with CELERY_BEAT_SCHEDULE.

django-celery-beat's DatabaseScheduler writes every settings entry to the database when
beat starts, but never removes one that settings stop listing: it keeps firing. Here
each row written from settings gets a PeriodicTaskFromSettings record
(infrastructure/models.py), which survives restarts and whatever an admin edits in the
periodic task, so later runs know which rows settings own. reconcile() applies these
rules, when beat starts and from `manage.py reconcile_beat_schedule`:

- an entry in settings is created, or updated to match settings (task, schedule,
  arguments, options, description); its Enabled box belongs to the admin and is left as
  it is;
- a row from settings that settings no longer list is disabled (BEAT_REMOVED_ENTRIES =
  "disable", also when the setting is absent), and enabled again if it comes back
  (unless it was disabled before it was removed); or deleted ("delete");
- any other row (created in the admin, or Celery's own) is never touched, unless
  settings list an entry of the same name: the name is the entry's identity, and
  settings then own the row.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry
from kombu.utils.json import dumps

from .beat_leader import LeaderScheduler
from .models import PeriodicTaskFromSettings

logger = logging.getLogger(__name__)

State = PeriodicTaskFromSettings.State

# The description tells people in the admin where a row came from and what beat does
# with it; reconcile() writes it and never reads it: ownership is the record's.
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

# A periodic task has one schedule: the field of the entry's kind is set, the others cleared.
SCHEDULE_FIELDS = tuple(model_field for _, _, model_field in ModelEntry.model_schedules)

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
        # Read once the rows are locked, so a reconcile that held the lock before has
        # committed its records (rather than a join, which could see older ones).
        owned = {record.pk: record for record in PeriodicTaskFromSettings.objects.all()}
        for name, entry in beat_schedule.items():
            row = rows.get(name)
            write_entry(name, entry, row, owned.get(row.pk) if row else None, result)
        for name, row in rows.items():
            if name in beat_schedule:
                continue
            record = owned.get(row.pk)
            if record is None:
                result.left_alone += 1
            elif removed_entries == "delete":
                row.delete()  # Its record too.
                result.deleted.append(name)
            elif record.state == State.LISTED:
                record.state = State.REMOVED if row.enabled else State.REMOVED_WHILE_DISABLED
                record.save()
                row.description = REMOVED if row.enabled else REMOVED_WHILE_DISABLED
                row.enabled = False
                row.save()
                result.disabled.append(name)
            else:
                result.unchanged += 1  # Disabled on an earlier run.
    return result


def write_entry(
    name: str,
    entry: Mapping[str, object],
    row: PeriodicTask | None,
    record: PeriodicTaskFromSettings | None,
    result: Reconciliation,
) -> None:
    """Create or update the row of one settings entry, leaving an existing row's Enabled box.

    `record` is the row's ownership record; None for a new row, or for a row of the same
    name from the admin or Celery, which settings take over.
    """
    try:
        # A savepoint: an entry that cannot be written must not undo the others.
        with transaction.atomic():
            fields = {**periodic_task_fields(entry), "description": FROM_SETTINGS}
            if row is None:
                row = PeriodicTask.objects.create(name=name, **fields)
                PeriodicTaskFromSettings.objects.create(periodic_task=row)
                result.created.append(name)
                return
            action = result.updated
            if record is not None and record.state == State.REMOVED:
                fields["enabled"] = True
                action = result.reenabled
            changed = {key: value for key, value in fields.items() if getattr(row, key) != value}
            # Taken over from the admin or Celery, or back in settings after a removal.
            listed_anew = record is None or record.state != State.LISTED
            if not changed and not listed_anew:
                result.unchanged += 1
                return
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                row.save()
            if listed_anew:
                PeriodicTaskFromSettings.objects.update_or_create(
                    periodic_task=row, defaults={"state": State.LISTED}
                )
            action.append(name)
    except Exception:
        # The system check (manage.py check) reports why; beat goes on with the rest.
        logger.exception("Could not write CELERY_BEAT_SCHEDULE entry %r to the database", name)
        result.failed.append(name)


def periodic_task_fields(entry: Mapping[str, object]) -> dict[str, object]:
    """A settings entry's periodic task fields, as DatabaseScheduler writes them for one.

    ModelEntry.to_model_schedule finds or creates the entry's crontab, interval, solar or
    clocked row, as django-celery-beat does when beat starts; arguments and headers are
    JSON as kombu writes it, which is how the scheduler reads them back. Celery's
    `relative` and the options a periodic task has no field for are not stored, there
    as here.
    """
    schedule, schedule_field = ModelEntry.to_model_schedule(entry["schedule"])
    options = entry.get("options") or {}
    return {
        "task": entry["task"],
        **dict.fromkeys(SCHEDULE_FIELDS),
        schedule_field: schedule,
        "args": dumps(entry.get("args") or []),
        "kwargs": dumps(entry.get("kwargs") or {}),
        "queue": options.get("queue"),
        "exchange": options.get("exchange"),
        "routing_key": options.get("routing_key"),
        "priority": options.get("priority"),
        "headers": dumps(options.get("headers") or {}),
        "expire_seconds": options.get("expire_seconds"),
    }


class ReconcilingDatabaseScheduler(LeaderScheduler, DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler, reconciling the database once beat leads."""

    # The schedule the heap of due times was last built from (below).
    _heap_schedule: dict | None = None

    def populate_heap(self, *args, **kwargs) -> None:
        self._heap_schedule = self._schedule
        super().populate_heap(*args, **kwargs)

    def schedules_equal(self, old_schedules, new_schedules) -> bool:
        """Whether the heap still fits the schedule; in constant time when nothing changed.

        Celery's tick compares the schedule with a copy of it entry by entry, every tick:
        CPU that grows with the number of periodic tasks. DatabaseScheduler never edits
        its schedule in place once beat ticks: whatever changes (a periodic task edited,
        the full read every 5 minutes), it reads a new one and says so. So the object the
        heap was built from means nothing changed; any other takes Celery's comparison.
        """
        unchanged = new_schedules is not None and new_schedules is self._heap_schedule
        if unchanged and not self._heap_invalidated:
            return True
        return super().schedules_equal(old_schedules, new_schedules)

    def setup_schedule(self) -> None:
        logger.info("%s", reconcile(self.app.conf.beat_schedule, removed_entries_setting()))
        # DatabaseScheduler.setup_schedule would write the settings entries again. Read
        # the schedule now that the database matches settings (the first read of
        # self.schedule), and add Celery's own entries as DatabaseScheduler does.
        self.install_default_entries(self.schedule)

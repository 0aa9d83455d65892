"""With the database scheduler, the database's schedule is reconciled with settings."""

import importlib
from datetime import timedelta

import celery.beat
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from infrastructure.beat_database import FROM_SETTINGS, REMOVED, REMOVED_WHILE_DISABLED, reconcile
from infrastructure.models import PeriodicTaskFromSettings
from infrastructure.tests.beat import started_scheduler

pytestmark = pytest.mark.django_db

SCHEDULE = {
    "report": {"task": "base.tasks.add", "schedule": timedelta(minutes=5), "args": (1, 2)},
    "cleanup": {"task": "base.tasks.clear_expired_sessions", "schedule": 3600},
}


def without(name: str) -> dict[str, dict[str, object]]:
    return {key: entry for key, entry in SCHEDULE.items() if key != name}


def row(name: str) -> PeriodicTask:
    return PeriodicTask.objects.get(name=name)


def state(name: str) -> str | None:
    """The state of the entry's ownership record; None when settings do not own the row."""
    record = PeriodicTaskFromSettings.objects.filter(periodic_task__name=name).first()
    return None if record is None else record.state


def create_in_the_admin(name: str, **fields: object) -> PeriodicTask:
    """Save a periodic task as the admin's form does: a schedule row, then the task."""
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    return PeriodicTask.objects.create(
        name=name, task="base.tasks.add", interval=every_minute, args="[3, 4]", **fields
    )


# DatabaseScheduler closes a connection it finds inside a transaction (close_old_connections),
# as the test's own would be: on PostgreSQL the test would lose it.
BEAT_COMMITS = pytest.mark.django_db(transaction=True)


@BEAT_COMMITS
def test_beat_starts_by_writing_every_settings_entry() -> None:
    started_scheduler()

    rows = {task.name: task for task in PeriodicTask.objects.all()}
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert (rows[name].task, rows[name].description) == (entry["task"], FROM_SETTINGS), name
        assert state(name) == "listed", name
    assert rows["clear-expired-sessions"].crontab.hour == "3"
    assert rows["heartbeat"].interval.every == 300
    assert "celery.backend_cleanup" in rows  # Celery's own entry, as DatabaseScheduler adds it.
    assert state("celery.backend_cleanup") is None


def test_a_second_run_changes_nothing() -> None:
    reconcile(SCHEDULE, "disable")
    before = list(PeriodicTask.objects.values())

    result = reconcile(SCHEDULE, "disable")

    assert str(result) == (
        "Beat schedule reconciled with CELERY_BEAT_SCHEDULE: 2 unchanged; "
        "0 not from settings left alone"
    )
    assert list(PeriodicTask.objects.values()) == before


def test_a_changed_entry_is_updated_to_match_settings() -> None:
    reconcile(SCHEDULE, "disable")

    result = reconcile(SCHEDULE | {"report": {**SCHEDULE["report"], "args": (5, 6)}}, "disable")

    assert result.updated == ["report"]
    assert row("report").args == "[5, 6]"


def test_a_removed_entry_is_disabled_and_enabled_again_when_it_comes_back() -> None:
    reconcile(SCHEDULE, "disable")

    assert reconcile(without("report"), "disable").disabled == ["report"]
    assert (row("report").enabled, row("report").description) == (False, REMOVED)
    assert state("report") == "removed"
    assert reconcile(without("report"), "disable").disabled == []  # Once.

    assert reconcile(SCHEDULE, "disable").reenabled == ["report"]
    assert (row("report").enabled, row("report").description) == (True, FROM_SETTINGS)
    assert state("report") == "listed"


def test_a_removed_entry_is_deleted_when_so_configured() -> None:
    reconcile(SCHEDULE, "disable")

    assert reconcile(without("report"), "delete").deleted == ["report"]
    assert not PeriodicTask.objects.filter(name="report").exists()
    assert (state("report"), state("cleanup")) == (None, "listed")


def test_an_entry_created_in_the_admin_is_never_touched() -> None:
    reconcile(SCHEDULE, "disable")
    created = model_to_dict(create_in_the_admin("admin-entry", description="Ops: every minute"))

    for mode in ("disable", "delete"):
        assert reconcile(without("report"), mode).left_alone == 1
        assert model_to_dict(row("admin-entry")) == created


def test_an_entry_disabled_in_the_admin_stays_disabled() -> None:
    reconcile(SCHEDULE, "disable")
    disabled = row("report")
    disabled.enabled = False
    disabled.args = "[100, 200]"
    disabled.save()

    reconcile(SCHEDULE, "disable")

    assert row("report").enabled is False
    assert row("report").args == "[1, 2]"  # Settings still own the arguments.


def test_an_entry_removed_while_disabled_stays_disabled_when_it_comes_back() -> None:
    reconcile(SCHEDULE, "disable")
    PeriodicTask.objects.filter(name="report").update(enabled=False)

    reconcile(without("report"), "disable")
    assert (row("report").description, state("report")) == (
        REMOVED_WHILE_DISABLED,
        "removed-while-disabled",
    )
    reconcile(SCHEDULE, "disable")

    assert (row("report").enabled, row("report").description) == (False, FROM_SETTINGS)
    assert state("report") == "listed"


def test_settings_take_over_an_admin_entry_of_the_same_name() -> None:
    create_in_the_admin("report", enabled=False)

    assert reconcile(SCHEDULE, "disable").updated == ["report"]
    assert (row("report").args, row("report").description) == ("[1, 2]", FROM_SETTINGS)
    assert row("report").enabled is False
    assert state("report") == "listed"
    assert reconcile(without("report"), "disable").disabled == ["report"]  # Settings own it now.


def test_an_admin_entry_that_already_matches_settings_is_taken_over() -> None:
    reconcile(SCHEDULE, "disable")
    PeriodicTaskFromSettings.objects.filter(periodic_task__name="report").delete()

    assert reconcile(SCHEDULE, "disable").updated == ["report"]
    assert state("report") == "listed"


def test_editing_the_description_in_the_admin_does_not_change_who_owns_a_row() -> None:
    reconcile(SCHEDULE, "disable")
    edited = row("report")
    edited.description = "Ops: the daily report"
    edited.save()
    create_in_the_admin("copied-in-the-admin", description=FROM_SETTINGS)

    result = reconcile(without("report"), "disable")

    assert (result.disabled, result.left_alone) == (["report"], 1)
    assert (row("report").enabled, state("report")) == (False, "removed")
    assert row("copied-in-the-admin").enabled is True
    assert state("copied-in-the-admin") is None


def test_an_admin_who_may_delete_periodic_tasks_can_delete_one_from_settings(client) -> None:
    reconcile(SCHEDULE, "disable")
    admin = get_user_model().objects.create_user("ops", is_staff=True)
    admin.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="django_celery_beat",
            codename__in=["view_periodictask", "delete_periodictask"],
        )
    )
    client.force_login(admin)

    delete = reverse("admin:django_celery_beat_periodictask_delete", args=[row("report").pk])
    response = client.post(delete, {"post": "yes"})

    assert response.status_code == 302  # To the list: deleted, ownership record and all.
    assert not PeriodicTask.objects.filter(name="report").exists()
    assert state("report") is None


def test_an_entry_that_cannot_be_written_leaves_the_others_alone(caplog) -> None:
    broken = {"broken": {"task": "base.tasks.add", "schedule": "*/5 * * * *"}}

    result = reconcile(SCHEDULE | broken, "disable")

    assert (result.created, result.failed) == (["report", "cleanup"], ["broken"])
    assert "Could not write CELERY_BEAT_SCHEDULE entry 'broken'" in caplog.text


def test_an_unknown_removed_entries_setting_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="BEAT_REMOVED_ENTRIES must be one of"):
        reconcile(SCHEDULE, "archive")


@BEAT_COMMITS
def test_beat_starts_in_a_project_without_the_setting_and_disables_removed_entries(
    settings,
) -> None:
    reconcile({**settings.CELERY_BEAT_SCHEDULE, "retired": SCHEDULE["report"]}, "disable")
    del settings.BEAT_REMOVED_ENTRIES

    started_scheduler()

    assert (row("retired").enabled, row("retired").description) == (False, REMOVED)
    assert state("retired") == "removed"


@BEAT_COMMITS
def test_ticks_compare_no_entries_until_the_schedule_changes(monkeypatch) -> None:
    scheduler = started_scheduler()
    scheduler.lock = None  # Released by started_scheduler; not what this test is about.
    compared = []
    compare = celery.beat.Scheduler.schedules_equal
    monkeypatch.setattr(
        celery.beat.Scheduler,
        "schedules_equal",
        lambda self, *schedules: compared.append(1) or compare(self, *schedules),
    )
    scheduler.tick()  # The first builds the heap.
    for _ in range(3):
        scheduler.tick()
    assert compared == []

    create_in_the_admin("added in the admin")
    scheduler.tick()

    assert "added in the admin" in {event[2].name for event in scheduler._heap}


def test_the_command_reports_what_it_did(capsys) -> None:
    call_command("reconcile_beat_schedule")

    assert capsys.readouterr().out == (
        "Beat schedule reconciled with CELERY_BEAT_SCHEDULE: created "
        f"{', '.join(settings.CELERY_BEAT_SCHEDULE)}; 0 unchanged; "
        "0 not from settings left alone\n"
    )


def test_the_models_match_the_migrations() -> None:
    call_command("makemigrations", "infrastructure", "--check", "--dry-run", verbosity=0)


# What the template wrote before ownership was a record: only these sentences said so.
ADOPTION = importlib.import_module(
    "infrastructure.migrations.0002_adopt_periodic_tasks_described_as_from_settings"
)


@pytest.mark.django_db(transaction=True)  # SQLite cannot migrate inside the test's transaction.
def test_migrating_adopts_the_rows_whose_description_said_settings_own_them() -> None:
    call_command("migrate", "infrastructure", "zero", verbosity=0)
    try:
        before = {
            "report": create_in_the_admin("report", description=ADOPTION.FROM_SETTINGS),
            "cleanup": create_in_the_admin("cleanup", description=ADOPTION.FROM_SETTINGS),
            "retired": create_in_the_admin("retired", enabled=False, description=ADOPTION.REMOVED),
            "retired-while-disabled": create_in_the_admin(
                "retired-while-disabled", enabled=False, description=ADOPTION.REMOVED_WHILE_DISABLED
            ),
            "admin-entry": create_in_the_admin("admin-entry", description="Ops: every minute"),
        }
    finally:
        call_command("migrate", "infrastructure", verbosity=0)

    assert {name: state(name) for name in before} == {
        "report": "listed",
        "cleanup": "listed",
        "retired": "removed",
        "retired-while-disabled": "removed-while-disabled",
        "admin-entry": None,
    }
    back = {name: SCHEDULE["report"] for name in ("retired", "retired-while-disabled")}
    result = reconcile(without("cleanup") | back, "disable")
    assert (result.updated, result.reenabled, result.disabled, result.left_alone) == (
        ["report", "retired-while-disabled"],
        ["retired"],
        ["cleanup"],
        1,
    )
    assert row("report").args == "[1, 2]"
    assert (row("cleanup").enabled, state("cleanup")) == (False, "removed")
    assert (row("retired").enabled, row("retired-while-disabled").enabled) == (True, False)
    assert model_to_dict(row("admin-entry")) == model_to_dict(before["admin-entry"])

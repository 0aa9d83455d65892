"""With the database scheduler, a real beat keeps the database's schedule in step with settings."""

from django.conf import settings
from django.core.management import call_command
from django.forms.models import model_to_dict
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from infrastructure.models import PeriodicTaskFromSettings

from .conftest import CeleryProcess


def start_beat(start_celery, name: str, **environment: str) -> CeleryProcess:
    return start_celery("beat", "--loglevel=INFO", name=name, **environment)


def wait_for_sends(beat: CeleryProcess, entry: str, times: int = 3) -> None:
    """Wait until beat has sent this entry `times` times: that many ticks have passed."""
    beat.wait_for_log("(?s)" + f"(Sending due task {entry} .*)" * times)


def test_every_settings_entry_is_a_periodic_task_once_beat_runs(start_celery, worker) -> None:
    beat = start_beat(start_celery, "beat-database")
    try:
        beat.wait_for_log(r"Sending due task integration-heartbeat")

        rows = dict(PeriodicTask.objects.values_list("name", "task"))
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            assert rows.get(name) == entry["task"], name
        owned = PeriodicTaskFromSettings.objects.values_list("periodic_task__name", flat=True)
        assert sorted(owned) == sorted(settings.CELERY_BEAT_SCHEDULE)
    finally:
        beat.stop()


def test_an_entry_removed_from_settings_stops_being_scheduled_whatever_its_description(
    start_celery, worker, beat_schedule_settings
) -> None:
    doomed = {"doomed": {"task": "base.tasks.add", "schedule": 1.0, "args": (40, 2)}}
    before = start_beat(start_celery, "beat-with-doomed", **beat_schedule_settings(doomed))
    try:
        before.wait_for_log(r"Sending due task doomed \(base\.tasks\.add\)")
    finally:
        before.stop()
    # An admin's note: the description no longer says the row comes from settings.
    doomed_row = PeriodicTask.objects.get(name="doomed")
    doomed_row.description = "Ops: to be retired"
    doomed_row.save()

    after = start_beat(start_celery, "beat-without-doomed")  # The test settings: no "doomed".
    try:
        after.wait_for_log(r"reconciled with CELERY_BEAT_SCHEDULE: .*disabled doomed")
        # integration-heartbeat is due every second, as doomed was: ticks in which
        # doomed would have been sent.
        wait_for_sends(after, "integration-heartbeat")

        assert "Sending due task doomed" not in after.log()
        assert PeriodicTask.objects.get(name="doomed").enabled is False
        assert PeriodicTaskFromSettings.objects.get(periodic_task__name="doomed").state == "removed"
    finally:
        after.stop()


def test_an_entry_created_in_the_admin_survives_reconciliation(start_celery, worker) -> None:
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    created = PeriodicTask.objects.create(
        name="created-in-the-admin", task="base.tasks.add", interval=every_second, args="[1, 1]"
    )

    beat = start_beat(start_celery, "beat-admin-entry")
    try:
        beat.wait_for_log(r"reconciled with CELERY_BEAT_SCHEDULE: .*1 not from settings left alone")
        wait_for_sends(beat, "created-in-the-admin")
    finally:
        beat.stop()

    assert model_to_dict(PeriodicTask.objects.get(pk=created.pk)) == model_to_dict(created)


def test_a_settings_entry_disabled_in_the_admin_stays_disabled(
    start_celery, worker, beat_schedule_settings
) -> None:
    call_command("reconcile_beat_schedule")  # As after a deploy: the rows exist.
    heartbeat = PeriodicTask.objects.get(name="integration-heartbeat")
    heartbeat.enabled = False  # What unticking Enabled in the admin saves.
    heartbeat.save()

    clock = {"clock": {"task": "base.tasks.add", "schedule": 1.0, "args": (1, 1)}}
    beat = start_beat(start_celery, "beat-admin-disabled", **beat_schedule_settings(clock))
    try:
        wait_for_sends(beat, "clock")  # Ticks in which integration-heartbeat would have been sent.

        assert "Sending due task integration-heartbeat" not in beat.log()
        assert PeriodicTask.objects.get(name="integration-heartbeat").enabled is False
    finally:
        beat.stop()

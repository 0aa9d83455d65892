"""Adopt the periodic tasks that settings wrote before ownership was a record.

Until this migration, beat knew which rows CELERY_BEAT_SCHEDULE owned by the exact
sentence in their description. A row that carries one of those sentences gets the record
of its state, so an existing project's entries stay owned: updated from settings,
disabled or deleted when settings drop them. The sentences are written out here, as
they were, whatever beat_database.py writes later.
"""

from django.db import migrations

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
STATE_OF_DESCRIPTION = {
    FROM_SETTINGS: "listed",
    REMOVED: "removed",
    REMOVED_WHILE_DISABLED: "removed-while-disabled",
}


def adopt(apps, schema_editor) -> None:
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    from_settings = apps.get_model("infrastructure", "PeriodicTaskFromSettings")
    described = periodic_task.objects.using(schema_editor.connection.alias).filter(
        description__in=STATE_OF_DESCRIPTION
    )
    from_settings.objects.using(schema_editor.connection.alias).bulk_create(
        from_settings(periodic_task_id=pk, state=STATE_OF_DESCRIPTION[description])
        for pk, description in described.values_list("pk", "description")
    )


class Migration(migrations.Migration):
    dependencies = (("infrastructure", "0001_initial"),)

    # Backwards, 0001's reversal drops the records.
    operations = (migrations.RunPython(adopt, migrations.RunPython.noop),)

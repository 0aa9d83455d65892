"""Upgrading a database-scheduler project across the change that made beat's ownership data.

Before it, beat knew which periodic tasks CELERY_BEAT_SCHEDULE owned by the sentence in
their description; since, by a PeriodicTaskFromSettings record, which a data migration
gives to the rows that carry those sentences. A project rendered before the change, with
its rows in PostgreSQL, is updated with cruft as the template's README says: every
settings entry must still be there, owned, and not written again.
"""

from __future__ import annotations

import json

from conftest import VENV_BIN, commit_all, git, run
from tooling.services import postgres_database
from upgrading import take_the_working_tree, template_before_adding

# The change added this migration: the template before the commit that did is the old one.
ADOPTION = "infrastructure/migrations/0002_adopt_periodic_tasks_described_as_from_settings.py"

# What the database holds, read by the project's own Django.
ROWS = """
import json
from django.conf import settings
from django_celery_beat.models import PeriodicTask
print(json.dumps({
    "settings": sorted(settings.CELERY_BEAT_SCHEDULE),
    "rows": {task.name: {"pk": task.pk, "enabled": task.enabled}
             for task in PeriodicTask.objects.all()},
}))
"""
OWNED = """
import json
from infrastructure.models import PeriodicTaskFromSettings
records = PeriodicTaskFromSettings.objects.values_list("periodic_task__name", "state")
print(json.dumps(dict(records)))
"""
# Two entries settings once listed, as the old template's beat left them: "retired" still
# listed when the project is upgraded (settings drop it with the upgrade), "dropped" already
# removed from settings and disabled. Only their description says that settings own them.
RETIRE_TWO_ENTRIES = """
from django.conf import settings
from infrastructure.beat_database import reconcile
extra = {"task": "base.tasks.add", "schedule": 60, "args": (1, 2)}
reconcile({**settings.CELERY_BEAT_SCHEDULE, "retired": extra, "dropped": extra}, "disable")
print(reconcile({**settings.CELERY_BEAT_SCHEDULE, "retired": extra}, "disable"))
"""
REMOVE_EVERY_ENTRY = """
from infrastructure.beat_database import reconcile
print(reconcile({}, "disable"))
"""


def test_an_upgraded_project_keeps_owning_the_periodic_tasks_its_settings_wrote(
    tmp_path, project_python
) -> None:
    message = "The template before beat's ownership was a record"
    template = template_before_adding(ADOPTION, tmp_path / "template", message)
    output = tmp_path / "created"
    output.mkdir()
    cruft = [VENV_BIN / "cruft"]
    run(
        [*cruft, "create", "--no-input", "--extra-context", '{"scheduler": "database"}', template],
        cwd=output,
    )
    [project] = output.iterdir()
    git(project, "init", "--quiet")
    commit_all(project, "Generated with cruft")

    with postgres_database("beat-upgrade") as database_url:
        environment = {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": None,  # manage.py's own: development settings.
            "CELERY_BROKER_URL": None,
            "CELERY_RESULT_BACKEND": None,
        }

        def manage(*arguments: str) -> str:
            python = project_python(project)  # Follows the project's pyproject.toml.
            return run([python, "manage.py", *arguments], cwd=project, env=environment).stdout

        def query(code: str) -> dict:
            return json.loads(manage("shell", "--command", code).splitlines()[-1])

        manage("migrate", "--no-input")
        manage("reconcile_beat_schedule")
        assert "disabled dropped" in manage("shell", "--command", RETIRE_TWO_ENTRIES)
        before = query(ROWS)
        assert sorted(before["rows"]) == sorted([*before["settings"], "retired", "dropped"])

        take_the_working_tree(template)
        # Rendered before user_model: its users stay in auth.User (README: Keeping up).
        keep_users = ["--variables-to-update", '{"user_model": "django"}']
        run([*cruft, "update", "--skip-apply-ask", *keep_users], cwd=project)
        assert (project / ADOPTION).exists()
        manage("migrate", "--no-input")
        adopted = query(OWNED)
        reconciled = manage("reconcile_beat_schedule")
        after = query(ROWS)

        # Every row the old beat wrote is owned, in the state its description told.
        assert adopted == {**dict.fromkeys(before["rows"], "listed"), "dropped": "removed"}
        # None written again: the same rows, plus any entry the newer settings add.
        assert "0 not from settings left alone" in reconciled, reconciled
        assert sorted(after["rows"]) == sorted({*before["rows"], *after["settings"]})
        for name, row in before["rows"].items():
            assert after["rows"][name]["pk"] == row["pk"], name
        # Owned, so taken out of service when settings stop listing them: "retired" with
        # the upgrade, then every entry.
        enabled = {name for name, row in after["rows"].items() if row["enabled"]}
        assert enabled == set(after["settings"]), reconciled
        assert "disabled" in manage("shell", "--command", REMOVE_EVERY_ENTRY)
        assert not any(row["enabled"] for row in query(ROWS)["rows"].values())
        assert set(query(OWNED).values()) == {"removed"}

"""Updating a project rendered before the template had its own user model (users.User).

Its database keeps its users in Django's auth.User, which it cannot leave without a
migration written by hand. Updated as the README says, with user_model=django, it keeps
them and migrates; updated without, `migrate` stops before changing anything, in one line
that names the command.
"""

from __future__ import annotations

from conftest import git, run
from upgrading import generated, take_the_working_tree, template_before_adding, update_template

MIGRATION = "users/migrations/0001_initial.py"
ENVIRONMENT = {  # manage.py's own development settings, on SQLite.
    "DJANGO_SETTINGS_MODULE": None,
    "DATABASE_URL": None,
    "CELERY_BROKER_URL": None,
    "CELERY_RESULT_BACKEND": None,
}
USERS = (
    "from django.contrib.auth import get_user_model as m; "
    "print(m()._meta.label, m().objects.count())"
)


def test_a_project_from_before_keeps_auth_user_and_is_told_how(tmp_path, project_python) -> None:
    template = template_before_adding(MIGRATION, tmp_path / "template", "Before users.User")
    project = generated(template, tmp_path / "generated")

    def manage(*arguments: str, check: bool = True):
        python = project_python(project)  # Follows the project's pyproject.toml.
        return run([python, "manage.py", *arguments], cwd=project, env=ENVIRONMENT, check=check)

    manage("migrate", "--no-input")
    manage(
        "shell",
        "--command",
        "from django.contrib.auth.models import User; User.objects.create_user('ada')",
    )
    take_the_working_tree(template)

    # Updated with the new answer's default: migrate refuses, the database untouched.
    updated = update_template(project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert (project / MIGRATION).exists(), updated.stdout + updated.stderr
    refused = manage("migrate", "--no-input", check=False)
    assert refused.returncode != 0
    assert (
        "database 'default' has its users in Django's auth.User, not in users.User\n"
        "\tHINT: keep them there: scripts/update-template user_model=django "
        "(README: Keeping up with the template)"
    ) in refused.stderr, refused.stderr
    git(project, "reset", "--quiet", "--hard")  # As the README says, to undo an update.
    git(project, "clean", "--quiet", "-d", "--force")  # db.sqlite3 is ignored: kept.

    # Updated as the README says: the users stay where they are, and it migrates.
    updated = update_template(project, "user_model=django")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert not (project / "users").exists()
    manage("migrate", "--no-input")
    assert manage("shell", "--command", USERS).stdout.splitlines()[-1] == "auth.User 1"
    assert '"user_model": "django"' in (project / ".cruft.json").read_text()

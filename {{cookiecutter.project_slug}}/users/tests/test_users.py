"""The project's own user model, from the first migration."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.db.migrations.recorder import MigrationRecorder

from users.models import User

pytestmark = pytest.mark.django_db


def test_the_project_uses_its_own_user_model() -> None:
    assert settings.AUTH_USER_MODEL == "users.User"
    assert get_user_model() is User


def test_the_admin_adds_and_lists_users(admin_client) -> None:
    added = admin_client.post(
        "/admin/users/user/add/",
        {"username": "ada", "password1": "a long passphrase", "password2": "a long passphrase"},
    )

    assert added.status_code == 302
    assert User.objects.filter(username="ada").exists()
    assert "ada" in admin_client.get("/admin/users/user/").content.decode()


def test_a_database_with_its_users_in_auth_user_is_refused_in_one_line() -> None:
    # As a project rendered before this app, updated: admin's tables refer to auth.User.
    MigrationRecorder.Migration.objects.filter(app="users").delete()

    [error] = [e for e in run_checks(databases=["default"]) if e.id == "users.E001"]

    assert error.msg == "database 'default' has its users in Django's auth.User, not in users.User"
    assert "scripts/update-template user_model=django" in error.hint

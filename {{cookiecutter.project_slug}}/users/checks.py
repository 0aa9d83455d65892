"""A database that already keeps its users in Django's auth.User cannot switch to this app's.

A project rendered before the template had this app, and updated with it, would stop at
`migrate` with Django's InconsistentMigrationHistory, which does not say what to do.
`migrate` runs the database checks first: this one says it in one line.
"""

from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder


@register(Tags.database)
def users_are_not_in_auth_user(databases=None, **kwargs) -> list[Error]:
    errors = []
    for alias in databases or ():
        try:
            applied = MigrationRecorder(connections[alias]).applied_migrations()
        except DatabaseError:
            continue  # No database yet: nothing recorded, nothing to refuse.
        if ("admin", "0001_initial") in applied and ("users", "0001_initial") not in applied:
            errors.append(
                Error(
                    f"database {alias!r} has its users in Django's auth.User, not in users.User",
                    hint="keep them there: scripts/update-template user_model=django "
                    "(README: Keeping up with the template)",
                    id="users.E001",
                )
            )
    return errors

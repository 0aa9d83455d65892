"""Flower refuses to start without basic auth, from whatever directory it is started.

Flower shows every task's arguments and results, and can revoke tasks and shut workers
down: it must never run open. It takes its options from FLOWER_<OPTION> environment
variables (FLOWER_BASIC_AUTH, FLOWER_COOKIE_SECRET, FLOWER_PORT...). Its configuration
file would not do for this check: Flower reads flowerconfig.py from the working directory
only, so a Flower started anywhere else would skip it. But the flower command always
loads this project's Celery app, and celery.py calls the check below as it does.
"""

import os
import sys

import click


def refuse_flower_without_basic_auth() -> None:
    """Exit with one line when the `celery flower` command starts without FLOWER_BASIC_AUTH.

    Celery loads the app in its command-line group, which already knows the command it
    will run; any other command, or an import outside the command line, passes.
    """
    command = click.get_current_context(silent=True)
    if command is None or command.invoked_subcommand != "flower":
        return
    if not os.environ.get("FLOWER_BASIC_AUTH"):
        sys.exit(
            "FLOWER_BASIC_AUTH is not set: Flower refuses to start without basic auth. "
            "Set it to user:password (comma-separated for several users)."
        )

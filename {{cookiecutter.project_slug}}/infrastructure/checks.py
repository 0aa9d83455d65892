"""System checks: `manage.py check` (and so CI) fails on a beat schedule beat cannot run.

Without them a misspelled task name is silent: beat sends a message that no worker
knows, and the error appears in a worker's log only when the entry comes due.
"""

import difflib
from collections.abc import Mapping, Sequence
from datetime import timedelta

from celery import Celery, schedules
from django.apps import AppConfig
from django.core.checks import Error, register

from {{ cookiecutter.project_slug }}.celery import app as celery_app


@register("celery")
def check_beat_schedule(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: object
) -> list[Error]:
    """Check every CELERY_BEAT_SCHEDULE entry, as beat will read it."""
    return beat_schedule_errors(celery_app.conf.beat_schedule, celery_app)


def beat_schedule_errors(beat_schedule: Mapping[str, object], app: Celery) -> list[Error]:
    """Return an error for each entry whose task is unknown or whose schedule is unusable."""
    errors = task_module_errors(app)
    registered = sorted(app.tasks)  # Finalizes the app: imports every installed app's tasks.py.
    for name, entry in beat_schedule.items():
        if not isinstance(entry, Mapping) or not {"task", "schedule"} <= entry.keys():
            errors.append(entry_error(name, "is not a dict with 'task' and 'schedule'", "E001"))
            continue
        if entry["task"] not in registered:
            closest = difflib.get_close_matches(str(entry["task"]), registered, n=1)
            errors.append(
                entry_error(
                    name,
                    f"names task {entry['task']!r}, which the Celery app does not register",
                    "E002",
                    hint=f"Did you mean {closest[0]!r}?"
                    if closest
                    else "No registered task has a similar name: is it in an app's tasks.py?",
                )
            )
        problem = schedule_problem(entry["schedule"], bool(entry.get("relative")), app)
        if problem is not None:
            errors.append(
                entry_error(
                    name,
                    f"has a schedule beat cannot use: {problem}",
                    "E003",
                    hint="Use a number of seconds, a timedelta, or crontab() or solar() "
                    "from celery.schedules.",
                )
            )
    return errors


def task_module_errors(app: Celery) -> list[Error]:
    """Import the task modules that CELERY_IMPORTS and the app's include name, as workers do.

    Autodiscovery finds only installed apps' tasks.py; a worker and beat also import these
    modules when they start, so their tasks are known to them and must be known here.
    Not loader.import_default_modules(): it sends import_modules, on which Celery's Django
    fixup runs every system check again, this one included.
    """
    errors = []
    for module in app.loader.default_modules:
        try:
            app.loader.import_task_module(module)
        except ImportError as error:
            errors.append(
                Error(
                    f"Celery cannot import the task module {module!r}: {error}.",
                    hint="Correct the name in CELERY_IMPORTS, or in the Celery app's include.",
                    id="infrastructure.E004",
                )
            )
    return errors


def entry_error(name: str, problem: str, number: str, hint: str | None = None) -> Error:
    """An error that starts with the entry's name, so the reader knows where to look."""
    return Error(
        f"CELERY_BEAT_SCHEDULE entry {name!r} {problem}.", hint=hint, id=f"infrastructure.{number}"
    )


def schedule_problem(value: object, relative: bool, app: Celery) -> str | None:
    """Say why beat could not use this schedule value, or return None when it can."""
    if not isinstance(value, int | float | timedelta) and not hasattr(value, "is_due"):
        return f"{value!r} is not a schedule"
    try:
        parsed = schedules.maybe_schedule(value, relative, app=app)
        parsed.is_due(app.now())  # What beat asks of every entry on every tick.
    except Exception as error:
        return f"{value!r} ({type(error).__name__}: {error})"
    if isinstance(parsed, schedules.schedule) and parsed.run_every <= timedelta(0):
        # Celery accepts it, and then sends the task on every tick of beat.
        return f"{value!r} is not a positive interval"
    return None

"""Every combination's own integration tests, against this machine's real services."""

from __future__ import annotations

import shutil
from contextlib import ExitStack

import pytest

from conftest import run
from tooling.options import COMBINATIONS, COMBINATIONS_TO_RUN, DECLARED, label
from tooling.services import postgres_url, rabbitmq_vhost, redis_database

# The full suite runs once per broker x result backend (with the default scheduler), and
# the tests that start beat once per broker x scheduler (see COMBINATIONS_TO_RUN).
DEFAULT_SCHEDULER = DECLARED["scheduler"][0]
DEFAULT_DJANGO = DECLARED["django_version"][0]
TESTS_THAT_START_BEAT = ["tests/integration/test_beat.py", "tests/integration/test_health.py"]
# The default combination's suite runs in test_generated_ci.py, as the generated project's
# own CI job runs it, against the same services: not a second time here.
RUN = COMBINATIONS_TO_RUN[1:]  # The first is the default combination.

# Tests whose subject changes with one option only: each runs in the first combination
# of each of that option's values (None: with none, so in the first combination only),
# to keep CI under 15 minutes.
ONCE_PER: dict[str, str | None] = {
    "tests/integration/test_beat_leader.py": "scheduler",
    "tests/integration/test_cache.py": "broker",
    "tests/integration/test_celery_multi.py": "broker",
    "tests/integration/test_connection_policy.py": None,
    "tests/integration/test_faults.py": "broker",
    "tests/integration/test_flower.py": "broker",
    # The probes: worker-ready pings through the broker, the others read files.
    "tests/integration/test_health.py": "broker",
    "tests/integration/test_metrics.py": "broker",
    "tests/integration/test_observability.py": None,
    "tests/integration/test_tracing.py": None,
    "tests/integration/test_worker_stops.py": "broker",
}


# What Django's version can change: the ORM under tasks and results, django-celery-beat's
# and -results' models, database connections, and django.tasks (6.0 and later). How
# workers, brokers and beat behave does not depend on it.
TESTS_THAT_DJANGO_CHANGES = [
    "tests/integration/test_beat_database.py",
    "tests/integration/test_database_connections.py",
    "tests/integration/test_django_tasks.py",
    "tests/integration/test_result_backend_django_db.py",
    "tests/integration/test_results.py",
    "tests/integration/test_tasks.py",
]


def paths_for(answers: dict[str, str]) -> list[str]:
    """What pytest is given for this combination: paths to run, or paths to leave out."""
    if answers.get("django_version", DEFAULT_DJANGO) != DEFAULT_DJANGO:
        return TESTS_THAT_DJANGO_CHANGES

    def first_with_its(option: str | None) -> bool:
        same = [c for c in COMBINATIONS_TO_RUN if option is None or c[option] == answers[option]]
        return answers == same[0]

    once = [path for path, option in ONCE_PER.items() if first_with_its(option)]
    if answers["scheduler"] != DEFAULT_SCHEDULER:
        return list(dict.fromkeys(TESTS_THAT_START_BEAT + once))
    return [f"--ignore={path}" for path in ONCE_PER if path not in once]


def service_environment(answers: dict[str, str], stack: ExitStack) -> dict[str, str]:
    """Isolated broker, result backend and database URLs for one combination's run."""
    name = label(answers)
    environment = {"DATABASE_URL": postgres_url(name)}
    if answers["broker"] == "redis":
        environment["CELERY_BROKER_URL"] = stack.enter_context(redis_database())
    else:
        environment["CELERY_BROKER_URL"] = stack.enter_context(rabbitmq_vhost(name))
        if answers["result_backend"] == "redis":
            environment["CELERY_RESULT_BACKEND"] = stack.enter_context(redis_database())
    return environment


# Every combination runs on the default Django version; the other runs the default
# combination's tests that Django's version can change, and its own django.tasks test.
OTHER_DJANGO = [{**COMBINATIONS[0], "django_version": v} for v in DECLARED["django_version"][1:]]


@pytest.mark.parametrize("answers", RUN + OTHER_DJANGO, ids=map(label, RUN + OTHER_DJANGO))
def test_integration_tests_pass_against_real_services(
    bake, project_python, tmp_path, answers
) -> None:
    project = shutil.copytree(bake(**answers), tmp_path / "my_project")
    python = project_python(project)

    with ExitStack() as stack:
        completed = run(
            [
                python,
                *("-m", "pytest", "-m", "integration", "-p", "no:cacheprovider", "-q", "-rs"),
                *paths_for(answers),
            ],
            cwd=project,
            env={"DJANGO_SETTINGS_MODULE": None, **service_environment(answers, stack)},
        )

    summary = completed.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary

"""Every combination's own integration tests, against this machine's real services."""

from __future__ import annotations

import shutil
from contextlib import ExitStack

import pytest

from conftest import run
from tooling.options import COMBINATIONS, DECLARED, label
from tooling.services import postgres_url, rabbitmq_vhost, redis_database

# The scheduler changes what beat does and nothing a worker does: where a combination
# differs from one already run only in its scheduler, it runs the tests that start beat.
# So the full suite runs once per broker x result backend (with the default scheduler),
# and every combination's beat runs against real services.
DEFAULT_SCHEDULER = DECLARED["scheduler"][0]
TESTS_THAT_START_BEAT = ["tests/integration/test_beat.py", "tests/integration/test_health.py"]

# Tests of what beat or the database does whatever the broker and result backend: they
# run in the first combination of each scheduler only, to keep CI under 15 minutes.
ONCE_PER_SCHEDULER: list[str] = ["tests/integration/test_beat_leader.py"]


def test_paths(answers: dict[str, str]) -> list[str]:
    """What pytest is given for this combination: paths to run, or paths to leave out."""
    first = next(c for c in COMBINATIONS if c["scheduler"] == answers["scheduler"])
    if answers["scheduler"] != DEFAULT_SCHEDULER:
        return TESTS_THAT_START_BEAT + (ONCE_PER_SCHEDULER if answers == first else [])
    return [] if answers == first else [f"--ignore={path}" for path in ONCE_PER_SCHEDULER]


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


@pytest.mark.parametrize("answers", COMBINATIONS, ids=map(label, COMBINATIONS))
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
                *test_paths(answers),
            ],
            cwd=project,
            env={"DJANGO_SETTINGS_MODULE": None, **service_environment(answers, stack)},
        )

    summary = completed.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary

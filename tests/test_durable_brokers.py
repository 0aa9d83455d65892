"""A broker killed (SIGKILL) mid-batch and restarted loses no task it accepted.

Runs tests/durability/broker_crash.py inside a rendered project of each broker, against
a broker of its own it starts, kills and restarts on a free port (never the shared one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import free_port, run
from tooling.services import postgres_url

CRASH_TEST = Path(__file__).parent / "durability" / "broker_crash.py"
URLS = {"redis": "redis://127.0.0.1:{port}/0", "rabbitmq": "amqp://guest:guest@127.0.0.1:{port}//"}


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_killed_broker_loses_no_accepted_task(bake, project_python, tmp_path, broker) -> None:
    project = shutil.copytree(bake(broker=broker, result_backend="none"), tmp_path / "my_project")
    python = project_python(project)
    shutil.copy(CRASH_TEST, project / "tests" / "integration" / "test_broker_crash.py")

    # Redis refuses a countdown longer than it can hold a task (BROKER_LONGEST_COUNTDOWN).
    only = ["-k", "not countdown"] if broker == "redis" else []
    completed = run(
        [
            *(python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", "-m", "integration"),
            *("tests/integration/test_broker_crash.py", *only),
        ],
        cwd=project,
        env={
            "DJANGO_SETTINGS_MODULE": None,
            "CELERY_BROKER_URL": URLS[broker].format(port=free_port()),
            "DATABASE_URL": postgres_url(f"e-durable-{broker}"),
        },
    )
    print(completed.stdout)
    assert " passed" in completed.stdout.strip().splitlines()[-1]

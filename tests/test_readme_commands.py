"""The README's commands, run as a new user runs them: generate and start, then test."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import TEMPLATE_DIR, find_python, free_port, run, wait_for_page
from processes import background


def test_generate_starts_the_project_and_its_test_and_drift_commands_pass(
    tmp_path: Path, template_repository: Path
) -> None:
    port = free_port()
    environment = {
        **os.environ,
        "PYTHON": str(find_python("3.12")),
        "PORT": str(port),
        "CELERY_BROKER_URL": "",
        "DATABASE_URL": "",
    }
    log = tmp_path / "generate.log"
    with background(
        [TEMPLATE_DIR / "scripts" / "generate", "--no-input", "-o", tmp_path],
        cwd=tmp_path,
        env=environment,
        log=log,
    ) as generate:
        status = wait_for_page(f"http://127.0.0.1:{port}/admin/login/", generate, timeout=300)
    output = log.read_text()

    assert status == 200, output
    assert "tasks run inline" in output

    project = tmp_path / "my_project"
    tested = run([project / "scripts" / "test", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert " passed" in tested.stdout

    # The drift check, with the Cookiecutter that the dev extra put in .venv.
    checked = run(
        [project / "scripts" / "check-template-drift", template_repository, "main"],
        cwd=project,
        env={"COOKIECUTTER_PYTHON": None},
    )
    assert checked.stderr.startswith("No drift: ")

"""cruft: create, check, diff and update projects from a git clone of the template."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import (
    PROJECT_TEMPLATE,
    VENV_BIN,
    bake_from,
    check_drift,
    commit_all,
    git,
    run,
    tree,
)

ANSWERS = {"broker": "rabbitmq", "result_backend": "none", "scheduler": "file"}


def cruft(
    cwd: Path, *arguments: str | Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run([VENV_BIN / "cruft", *arguments], cwd=cwd, check=check)


def cruft_create(template: Path, output: Path, *options: str | Path) -> Path:
    """Create a project with cruft, without prompts; return it."""
    output.mkdir()
    cruft(output, "create", "--no-input", *options, template)
    [project] = output.iterdir()
    return project


def test_cruft_creates_from_the_recorded_answers_what_cookiecutter_did(
    template_repository, tmp_path
) -> None:
    baked = bake_from(
        template_repository,
        tmp_path / "baked",
        *(f"{key}={value}" for key, value in ANSWERS.items()),
    )
    answers = baked / ".cookiecutter-answers.json"
    project = cruft_create(
        template_repository, tmp_path / "created", "--extra-context-file", answers
    )

    created = tree(project)
    state = json.loads(created.pop(".cruft.json")[0])
    assert created == tree(baked)
    assert state["commit"] == git(template_repository, "rev-parse", "HEAD").strip()
    assert "up to date" in cruft(project, "check").stdout
    assert cruft(project, "diff", "--exit-code").stdout == ""
    # cruft's own file is not the template's: the drift check leaves it alone.
    assert check_drift(project, template_repository).returncode == 0


@pytest.mark.parametrize("scheduler", ["file", "database"])
def test_cruft_update_takes_a_template_change_and_runs_the_hooks_again(
    template_repository, tmp_path, scheduler
) -> None:
    project = cruft_create(
        template_repository,
        tmp_path / "created",
        "--extra-context",
        json.dumps({"scheduler": scheduler}),
    )
    git(project, "init", "--quiet")
    commit_all(project, "Generated with cruft")
    # A newer template: a changed line every project has, and a change to a file only
    # the database scheduler keeps. Without the hook, the file scheduler's update would
    # bring the file back, or fail to patch a file the project does not have.
    readme = template_repository / PROJECT_TEMPLATE / "README.md"
    readme.write_text(readme.read_text().replace("## Tests\n", "## Tests, before every push\n"))
    database_only = "infrastructure/tests/test_beat_database.py"
    assert (project / database_only).exists() == (scheduler == "database")
    with (template_repository / PROJECT_TEMPLATE / database_only).open("a") as template_file:
        template_file.write("# A line from a newer template.\n")
    newer = commit_all(template_repository, "A newer template")

    outdated = cruft(project, "check", check=False)
    cruft(project, "update", "--skip-apply-ask")

    assert outdated.returncode == 1
    assert "## Tests, before every push\n" in (project / "README.md").read_text()
    if scheduler == "database":
        assert (project / database_only).read_text().endswith("# A line from a newer template.\n")
    else:
        assert not (project / database_only).exists()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == newer
    changed = sorted(line[3:] for line in git(project, "status", "--porcelain").splitlines())
    assert changed == sorted(
        [".cruft.json", "README.md", *([database_only] if scheduler == "database" else [])]
    )
    assert "up to date" in cruft(project, "check").stdout
    assert cruft(project, "diff", "--exit-code").stdout == ""


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"author_email": "you"}, "error: author_email 'you' is not an email address"),
        ({"broker": "kafka"}, "kafka provided for choice variable broker, but the choices are"),
        ({"use_docker": "maybe"}, "maybe provided for variable use_docker could not be converted"),
    ],
    ids=["bad-email", "unknown-choice", "bad-boolean"],
)
def test_cruft_refuses_a_bad_answer_naming_the_field_and_leaves_nothing(
    template_repository, tmp_path, answers, message
) -> None:
    output = tmp_path / "created"
    output.mkdir()

    refused = cruft(
        output,
        "create",
        "--no-input",
        "--extra-context",
        json.dumps(answers),
        template_repository,
        check=False,
    )

    # cruft adds its own traceback, wrapped to the terminal's width, after the message.
    assert refused.returncode == 1
    assert message in " ".join((refused.stdout + refused.stderr).split())
    assert list(output.iterdir()) == []

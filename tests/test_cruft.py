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
    # A newer template: a changed line, and a file the post-generation hook keeps only
    # for the database scheduler, so where it lands shows that the hook ran.
    readme = template_repository / PROJECT_TEMPLATE / "README.md"
    readme.write_text(readme.read_text().replace("## Tests\n", "## Tests, before every push\n"))
    new_file = "base/tests/test_beat_admin.py"
    (template_repository / PROJECT_TEMPLATE / new_file).write_text('"""Admin tests."""\n')
    hook = template_repository / "hooks" / "post_gen_project.py"
    table = "KEPT_ONLY_FOR: Final[dict[str, tuple[str, frozenset[object]]]] = {\n"
    assert table in hook.read_text()
    hook.write_text(
        hook.read_text().replace(
            table, f'{table}    "{new_file}": ("scheduler", frozenset({{"database"}})),\n'
        )
    )
    newer = commit_all(template_repository, "A newer template")

    outdated = cruft(project, "check", check=False)
    cruft(project, "update", "--skip-apply-ask")

    assert outdated.returncode == 1
    assert "## Tests, before every push\n" in (project / "README.md").read_text()
    assert (project / new_file).exists() == (scheduler == "database")
    # A file the hook removed when the project was created stays removed.
    assert (project / "base/tests/test_beat_database.py").exists() == (scheduler == "database")
    assert json.loads((project / ".cruft.json").read_text())["commit"] == newer
    changed = sorted(line[3:] for line in git(project, "status", "--porcelain").splitlines())
    assert changed == sorted(
        [".cruft.json", "README.md", *([new_file] if scheduler == "database" else [])]
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

"""Regeneration: the recorded answers, and the drift check against a template ref."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import PROJECT_TEMPLATE, bake_from, check_drift, commit_all, git, run
from tooling.options import DECLARED

ANSWERS = ".cookiecutter-answers.json"


def drifted_files(diff: str) -> list[str]:
    """The paths a drift diff names, in order."""
    return re.findall(r"^diff --git a/(\S+) ", diff, flags=re.MULTILINE)


def test_the_answers_file_records_every_answer_and_nothing_private(bake) -> None:
    text = (bake(broker="rabbitmq", use_flower="no") / ANSWERS).read_text()
    answers = json.loads(text)

    assert text == json.dumps(answers, indent=4, sort_keys=True) + "\n"
    assert sorted(answers) == sorted(field for field in DECLARED if not field.startswith("_"))
    assert answers["project_slug"] == "my_project"
    assert answers["broker"] == "rabbitmq"
    assert answers["use_flower"] is False


FRESH = [
    [],
    [
        "project_name=Acme Shop",
        "timezone=Europe/Paris",
        "broker=rabbitmq",
        "result_backend=none",
        "scheduler=file",
        "use_flower=no",
    ],
]


@pytest.mark.parametrize("answers", FRESH, ids=["defaults", "every-file-option-off"])
def test_a_fresh_project_has_no_drift(template_repository, tmp_path, answers) -> None:
    project = bake_from(template_repository, tmp_path / "baked", *answers)

    checked = check_drift(project, template_repository, "main")

    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == ""
    assert checked.stderr.startswith("No drift: ")


def test_a_template_change_is_drift_and_its_diff_takes_the_upgrade(
    template_repository, tmp_path
) -> None:
    pinned = git(template_repository, "rev-parse", "HEAD").strip()
    # Generated at the pin, so the generated CI's drift job checks against it.
    project = bake_from(template_repository, tmp_path / "baked", f"_template_ref={pinned}")
    # A newer template: a changed line, and a new executable file.
    readme = template_repository / PROJECT_TEMPLATE / "README.md"
    readme.write_text(readme.read_text().replace("## Tests\n", "## Tests, before every push\n"))
    lint = template_repository / PROJECT_TEMPLATE / "scripts" / "lint"
    lint.write_text("#!/usr/bin/env bash\nexec .venv/bin/ruff check .\n")
    lint.chmod(0o755)
    commit_all(template_repository, "A newer template")

    at_the_pin = check_drift(
        project, env={"TEMPLATE_URL": str(template_repository), "TEMPLATE_REF": pinned}
    )
    drifted = check_drift(project, template_repository, "main")

    assert at_the_pin.returncode == 0, at_the_pin.stderr
    assert drifted.returncode == 1, drifted.stderr
    # The upgrade also moves the CI's pin from the old ref to the new one.
    assert drifted_files(drifted.stdout) == [
        ".github/workflows/ci.yml",
        "README.md",
        "scripts/lint",
    ]
    assert f"\n-      TEMPLATE_REF: {pinned}\n+      TEMPLATE_REF: main\n" in drifted.stdout
    assert "\n-## Tests\n+## Tests, before every push\n" in drifted.stdout
    assert "diff --git a/scripts/lint b/scripts/lint\nnew file mode 100755\n" in drifted.stdout
    assert drifted.stderr.startswith("Drift: 3 file(s) differ from what ")

    # The README's upgrade: apply the diff, and the project matches the newer template.
    (tmp_path / "template.patch").write_text(drifted.stdout)
    run(["git", "apply", tmp_path / "template.patch"], cwd=project)
    assert check_drift(project, template_repository, "main").returncode == 0
    assert (project / "scripts" / "lint").stat().st_mode & 0o111


def test_only_rendered_files_are_compared_and_skipped_paths_are_not(
    template_repository, tmp_path
) -> None:
    project = bake_from(template_repository, tmp_path / "baked")
    # Local state and the project's own files: the template renders none of them.
    (project / ".venv").mkdir()
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / "db.sqlite3").write_bytes(b"SQLite format 3\0")
    (project / "base" / "models.py").write_text("# mine\n")
    # Changes to files the template renders.
    (project / "base" / "tests" / "test_signals.py").unlink()
    (project / "manage.py").chmod(0o644)
    with (project / "my_project" / "settings" / "dev.py").open("a") as settings:
        settings.write("DEBUG_TOOLBAR = True\n")

    drifted = check_drift(project, template_repository)

    assert drifted.returncode == 1, drifted.stderr
    assert drifted_files(drifted.stdout) == [
        "base/tests/test_signals.py",
        "manage.py",
        "my_project/settings/dev.py",
    ]
    assert "manage.py\nold mode 100644\nnew mode 100755\n" in drifted.stdout
    assert "\n-DEBUG_TOOLBAR = True\n" in drifted.stdout

    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write(
            '\n[tool.cruft]\nskip = ["pyproject.toml", "base/tests", "manage.py", "*/settings/*"]\n'
        )
    assert check_drift(project, template_repository).returncode == 0


def test_answers_without_a_newer_key_regenerate_with_its_default(
    template_repository, tmp_path
) -> None:
    project = bake_from(template_repository, tmp_path / "baked", "timezone=UTC")
    answers = json.loads((project / ANSWERS).read_text())
    del answers["timezone"]  # As if the project came from a template without that option.
    (project / ANSWERS).write_text(json.dumps(answers, indent=4, sort_keys=True) + "\n")

    drifted = check_drift(project, template_repository, "main")

    # Every other file matches a project baked with the default; the answers gain the key.
    assert drifted.returncode == 1, drifted.stderr
    assert drifted_files(drifted.stdout) == [ANSWERS]
    assert '\n+    "timezone": "UTC",\n' in drifted.stdout


def break_answers(project: Path) -> None:
    answers = json.loads((project / ANSWERS).read_text())
    (project / ANSWERS).write_text(json.dumps({**answers, "broker": "kafka"}))


FAILURES = [
    ("no-template", [], None, "error: no template: pass its git URL or set TEMPLATE_URL"),
    ("unknown-ref", ["{template}", "v9.9"], None, "error: cannot check out v9.9: error: "),
    (
        "refused-answer",
        ["{template}"],
        break_answers,
        "error: the template refused the answers: kafka provided for choice variable broker",
    ),
    (
        "no-answers",
        ["{template}"],
        lambda project: (project / ANSWERS).unlink(),
        f"error: cannot read {ANSWERS}: ",
    ),
]


@pytest.mark.parametrize(
    ("arguments", "spoil", "error"),
    [case[1:] for case in FAILURES],
    ids=[case[0] for case in FAILURES],
)
def test_a_failed_regeneration_exits_2_with_one_line(
    template_repository, tmp_path, arguments, spoil, error
) -> None:
    project = bake_from(template_repository, tmp_path / "baked")
    if spoil:
        spoil(project)
    temporary = tmp_path / "temporary"
    temporary.mkdir()

    checked = check_drift(
        project,
        "--keep",
        *(argument.format(template=template_repository) for argument in arguments),
        env={"TMPDIR": str(temporary)},
    )

    assert checked.returncode == 2
    assert checked.stdout == ""
    assert checked.stderr.startswith(error)
    assert checked.stderr.count("\n") == 1
    assert list(temporary.iterdir()) == [], "a failed regeneration is not kept"


def test_keep_leaves_the_regenerated_project(template_repository, tmp_path) -> None:
    project = bake_from(template_repository, tmp_path / "baked")

    checked = check_drift(project, "--keep", template_repository, env={"TMPDIR": str(tmp_path)})

    kept = Path(checked.stderr.splitlines()[0].removeprefix("Regenerated into "))
    assert checked.returncode == 0, checked.stderr
    assert kept.is_relative_to(tmp_path)
    assert (kept / ANSWERS).read_text() == (project / ANSWERS).read_text()

"""Where a project came from: the .cruft.json that plain Cookiecutter renders too."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import TEMPLATE_DIR, bake_from, commit_all, git, run
from tooling.options import DECLARED

STATE = ".cruft.json"


def post_generation_hook():
    """The hook as a module: only a string inside its main() is Jinja."""
    path = TEMPLATE_DIR / "hooks" / "post_gen_project.py"
    spec = importlib.util.spec_from_file_location("post_gen_project", path)
    assert spec is not None and spec.loader is not None, path
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


def test_a_project_records_the_public_address_the_commit_and_every_answer(
    template_repository, tmp_path
) -> None:
    project = bake_from(template_repository, tmp_path / "baked", "broker=rabbitmq", "use_flower=no")
    text = (project / STATE).read_text()
    state = json.loads(text)
    answers = state["context"]["cookiecutter"]

    assert text == json.dumps(state, indent=2, ensure_ascii=False) + "\n"
    # A local clone: the declared public address, never a path of this machine.
    assert state["template"] == DECLARED["_template_url"]
    assert str(tmp_path) not in text
    assert state["commit"] == git(template_repository, "rev-parse", "HEAD").strip()
    assert (state["checkout"], state["directory"]) == (None, None)
    own = sorted(key for key in answers if not key.startswith("_"))
    assert own == sorted(key for key in DECLARED if not key.startswith("_"))
    assert (answers["broker"], answers["use_flower"]) == ("rabbitmq", False)
    assert (answers["_template"], answers["_commit"]) == (state["template"], state["commit"])


def test_a_relative_path_typed_in_a_shell_records_the_commit(template_repository) -> None:
    output = template_repository.parent / "output"
    output.mkdir()
    # A shell sets PWD to where the path was typed; the hook runs in the project.
    run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "../template"],
        cwd=output,
        env={"PWD": str(output)},
    )

    state = json.loads((output / "my_project" / STATE).read_text())

    assert state["commit"] == git(template_repository, "rev-parse", "HEAD").strip()


def not_a_checkout(template: Path) -> Path:
    copy = template.parent / "copy"
    shutil.copytree(template, copy, ignore=shutil.ignore_patterns(".git"))
    return copy


def inside_another_repository(template: Path) -> Path:
    outer = template.parent / "outer"
    shutil.copytree(template, outer / "template", ignore=shutil.ignore_patterns(".git"))
    git(outer, "init", "--quiet")
    commit_all(outer, "A repository that happens to hold a copy of the template")
    return outer / "template"


@pytest.mark.parametrize("source", [not_a_checkout, inside_another_repository])
def test_a_template_that_is_not_a_checkout_records_no_commit_and_the_update_says_so(
    template_repository, tmp_path, source
) -> None:
    project = bake_from(source(template_repository), tmp_path / "baked")
    git(project, "init", "--quiet")
    commit_all(project, "Generated")
    environment = {"CRUFT_PYTHON": sys.executable, "GITHUB_ACTIONS": None}

    checked = run([project / "scripts" / "update-template", "--check"], project, environment, False)
    updated = run([project / "scripts" / "update-template"], project, environment, False)

    assert json.loads((project / STATE).read_text())["commit"] is None
    assert checked.returncode == 0
    assert checked.stderr == (
        "warning: cannot check for template updates: .cruft.json records no template commit: "
        "set its commit to the one this project was rendered from\n"
    )
    assert updated.returncode == 2
    assert updated.stderr.startswith("error: .cruft.json records no template commit")


ADDRESSES = [
    ("https://github.com/org/template.git", "https://github.com/org/template.git"),
    ("https://me:token@github.com/org/template.git", "https://github.com/org/template.git"),
    ("https://token@gitlab.com/org/template", "https://gitlab.com/org/template"),
    ("git+https://github.com/org/template", "https://github.com/org/template"),
    ("ssh://git:secret@example.com/org/template.git", "ssh://git@example.com/org/template.git"),
    ("git@github.com:org/template.git", "git@github.com:org/template.git"),
    ("gh:org/template", "https://github.com/org/template.git"),
    ("gl:org/template", "https://gitlab.com/org/template.git"),
    ("/home/me/src/template", None),
    ("../template", None),
    ("file:///home/me/src/template", None),
    ("template.zip", None),
    ("hg+https://example.com/template", None),
]


@pytest.mark.parametrize(("source", "recorded"), ADDRESSES, ids=[case[0] for case in ADDRESSES])
def test_a_git_url_is_recorded_without_credentials_and_a_local_path_not_at_all(
    source, recorded
) -> None:
    assert post_generation_hook().remote_address(source) == recorded

"""Updates: scripts/update-template (cruft's update, three-way), and cruft's own commands.

Each test generates a project from a throwaway git copy of the template (commit A),
commits it and changes it as a user would, then commits a newer template (B) and updates
(tests/upgrading.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import (
    PROJECT_TEMPLATE,
    TEMPLATE_DIR,
    VENV_BIN,
    bake_from,
    commit_all,
    git,
    run,
    tree,
)
from upgrading import (
    SETTINGS,
    customise,
    edit,
    files,
    generated,
    move_the_template_on,
    take_the_working_tree,
    template_at,
    update_template,
)


def cruft(
    cwd: Path, *arguments: str | Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run([VENV_BIN / "cruft", *arguments], cwd=cwd, check=check)


def test_an_update_keeps_the_users_changes_and_takes_the_templates(
    template_repository, tmp_path, project_python
) -> None:
    project = generated(template_repository, tmp_path / "generated")
    customise(project)
    before = files(project)
    newer = move_the_template_on(template_repository)

    updated = update_template(project)

    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert updated.stdout.startswith("Updated to the template ("), updated.stdout
    settings = (project / SETTINGS).read_text()
    # The user's changes...
    assert '    "base",\n    "shop",\n]' in settings
    assert '"schedule": crontab(hour=3, minute=45),' in settings
    assert (
        'path("ping/", lambda request: HttpResponse("pong"))'
        in (project / "my_project" / "urls.py").read_text()
    )
    assert "def archive_orders(before: str)" in (project / "base" / "tasks.py").read_text()
    # ...and the template's, with the new option at its default.
    assert 'LANGUAGE_CODE = "en-gb"' in settings
    assert (project / "LICENSE").read_text() == "MIT License\n"
    assert not (project / "base" / "tests" / "test_webhooks.py").exists()
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == newer
    assert state["context"]["cookiecutter"]["license"] == "MIT"
    # Every other file as it was; nothing left over.
    changed = {line[3:] for line in git(project, "status", "--porcelain").splitlines()}
    assert changed == {
        ".cruft.json",
        SETTINGS,
        "LICENSE",
        "base/tests/test_webhooks.py",
    }
    assert set(files(project)) == {*before, "LICENSE"} - {"base/tests/test_webhooks.py"}
    assert update_template(project, "--check").returncode == 0

    python = project_python(project)
    clean = {"DJANGO_SETTINGS_MODULE": None, "CELERY_BROKER_URL": None, "DATABASE_URL": None}
    run([python, "manage.py", "check"], cwd=project, env=clean)
    run([python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x"], cwd=project, env=clean)


def conflicting_project(template: Path, output: Path) -> Path:
    """A project and a newer template that changed the same line, and another apart."""
    project = generated(template, output)
    edit(project / SETTINGS, 'LANGUAGE_CODE = "en-us"', 'LANGUAGE_CODE = "fr-fr"')
    commit_all(project, "The project speaks French")
    move_the_template_on(template)
    return project


def test_overlapping_edits_are_listed_with_both_versions_and_the_rest_merges(
    template_repository, tmp_path
) -> None:
    project = conflicting_project(template_repository, tmp_path / "generated")
    before = files(project)

    checked = update_template(project, "--check")
    # The check merges in a worktree of its own: this one is untouched.
    assert git(project, "status", "--porcelain") == ""
    assert len(git(project, "worktree", "list").splitlines()) == 1
    updated = update_template(project)

    assert checked.returncode == 0, checked.stderr
    assert "Template update available: " in checked.stdout
    assert f"It conflicts with this project's changes in {SETTINGS}: " in checked.stdout
    assert updated.returncode == 1, updated.stdout + updated.stderr
    assert updated.stdout.endswith(f"every other change merged:\n  {SETTINGS}\n")
    merged = (project / SETTINGS).read_text()
    assert (
        '<<<<<<< ours\nLANGUAGE_CODE = "fr-fr"\n=======\nLANGUAGE_CODE = "en-gb"\n>>>>>>> theirs\n'
        in merged
    )
    # Both versions, whole, from git: the project's, and the template's.
    assert 'LANGUAGE_CODE = "fr-fr"' in git(project, "show", f":2:{SETTINGS}")
    assert 'LANGUAGE_CODE = "en-gb"' in git(project, "show", f":3:{SETTINGS}")
    # The rest of the template's change landed whole.
    assert (project / "LICENSE").read_text() == "MIT License\n"
    assert not (project / "base" / "tests" / "test_webhooks.py").exists()
    assert not list(project.rglob("*.rej"))
    # And git undoes it all.
    git(project, "reset", "--hard", "--quiet")
    assert files(project) == before


def without_i18n(project: Path) -> None:
    """Change the line two below LANGUAGE_CODE, which the newer template changes."""
    edit(project / SETTINGS, "USE_I18N = True", "USE_I18N = False")
    commit_all(project, "No translations")


def test_a_shallow_clone_still_merges_three_way_where_cruft_alone_leaves_rej_files(
    template_repository, tmp_path
) -> None:
    project = generated(template_repository, tmp_path / "generated")
    without_i18n(project)
    move_the_template_on(template_repository)
    # As CI checks out: the last commit only, without settings as first rendered.
    clones = {name: tmp_path / name for name in ("cruft-alone", "the-script")}
    for clone in clones.values():
        git(tmp_path, "clone", "--quiet", "--depth=1", f"file://{project}", clone)

    by_cruft = cruft(clones["cruft-alone"], "update", "--skip-apply-ask")
    updated = update_template(clones["the-script"])

    # cruft says it did well, having applied the hunks that fit and rejected the rest.
    assert "Good work!" in by_cruft.stdout
    assert (clones["cruft-alone"] / f"{SETTINGS}.rej").exists()
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert not list(clones["the-script"].rglob("*.rej"))
    settings = (clones["the-script"] / SETTINGS).read_text()
    assert 'LANGUAGE_CODE = "en-gb"\nTIME_ZONE = "UTC"\nUSE_I18N = False\n' in settings


def test_a_second_update_merges_a_file_the_user_edited(template_repository, tmp_path) -> None:
    project = generated(template_repository, tmp_path / "generated")
    without_i18n(project)
    move_the_template_on(template_repository)
    assert update_template(project).returncode == 0
    commit_all(project, "Took the template's changes")
    # No commit holds settings as B renders them: the project's differ by its own edit.
    edit(
        template_repository / PROJECT_TEMPLATE / PROJECT_TEMPLATE / "settings" / "base.py",
        'STATIC_URL = "static/"',
        'STATIC_URL = "assets/"',
    )
    newest = commit_all(template_repository, "C")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", project, clone)

    updated = update_template(clone)

    assert updated.returncode == 0, updated.stdout + updated.stderr
    settings = (clone / SETTINGS).read_text()
    assert 'USE_I18N = False\nUSE_TZ = True\n\nSTATIC_URL = "assets/"\n' in settings
    assert json.loads((clone / ".cruft.json").read_text())["commit"] == newest


def test_an_answer_changes_during_an_update(template_repository, tmp_path) -> None:
    project = generated(template_repository, tmp_path / "generated", "use_flower=no")
    flower_unit = project / "deploy" / "systemd" / "celery-flower.service"
    assert not flower_unit.exists()

    updated = update_template(project, "use_flower=yes")

    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert flower_unit.exists()
    assert "flower" in (project / "pyproject.toml").read_text()
    assert (
        json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["use_flower"]
        is True
    )
    # As if generated with Flower from the start.
    assert files(project) == files(bake_from(template_repository, tmp_path / "with-flower"))


def dirty(project: Path) -> None:
    with (project / "README.md").open("a") as readme:
        readme.write("Not committed.\n")


def unreachable(project: Path) -> None:
    state = json.loads((project / ".cruft.json").read_text())
    state["template"] = str(project.parent / "nowhere")
    (project / ".cruft.json").write_text(json.dumps(state))
    commit_all(project, "A template that moved away")


def template_syntax_in_an_answer(project: Path) -> None:
    """A pull request that turns a recorded answer into code Cookiecutter would run."""
    state = json.loads((project / ".cruft.json").read_text())
    marker = project.parent / "ran"
    state["context"]["cookiecutter"]["description"] = (
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
    )
    (project / ".cruft.json").write_text(json.dumps(state))
    commit_all(project, "An answer that is code")


REFUSALS = [
    (
        "template-syntax-recorded",
        template_syntax_in_an_answer,
        [],
        "error: .cruft.json's answer description holds template syntax ",
    ),
    (
        "template-syntax-given",
        None,
        ["description={{ 7 * 7 }}"],
        "error: the answer description holds template syntax ",
    ),
    ("uncommitted", dirty, [], "error: commit or stash your changes first: "),
    ("unreachable", unreachable, [], "error: cannot fetch the template from "),
    ("unknown-ref", None, ["--checkout", "v9"], "error: the template has no v9: "),
    ("unknown-answer", None, ["colour=blue"], "error: 'colour=blue' is not KEY=VALUE for "),
    (
        "refused-answer",
        None,
        ["broker=kafka"],
        "error: cruft update failed: ",
    ),
]


@pytest.mark.parametrize(
    ("spoil", "arguments", "error"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_an_update_that_cannot_start_changes_nothing_and_says_why_in_one_line(
    template_repository, tmp_path, spoil, arguments, error
) -> None:
    project = generated(template_repository, tmp_path / "generated")
    if spoil:
        spoil(project)
    before = files(project)

    refused = update_template(project, *arguments)

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith(error), refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert files(project) == before
    assert not (project.parent / "ran").exists()
    assert git(project, "status", "--porcelain", "--untracked-files=all") == (
        " M README.md\n" if spoil is dirty else ""
    )


def test_cruft_checks_and_diffs_a_project_cookiecutter_generated(
    template_repository, tmp_path
) -> None:
    project = generated(template_repository, tmp_path / "generated")

    assert "up to date" in cruft(project, "check").stdout
    assert cruft(project, "diff", "--exit-code").stdout == ""


ANSWERS = {"broker": "rabbitmq", "result_backend": "none", "scheduler": "file"}


def cruft_create(template: Path, output: Path, *options: str | Path) -> Path:
    """Create a project with cruft, without prompts; return it."""
    output.mkdir()
    cruft(output, "create", "--no-input", *options, template)
    [project] = output.iterdir()
    return project


def test_cruft_creates_what_cookiecutter_does_and_records_the_same_source(
    template_repository, tmp_path
) -> None:
    answers = [f"{key}={value}" for key, value in ANSWERS.items()]
    baked = bake_from(template_repository, tmp_path / "baked", *answers)
    project = cruft_create(
        template_repository, tmp_path / "created", "--extra-context", json.dumps(ANSWERS)
    )

    created, cookiecutter_made = tree(project), tree(baked)
    state = json.loads(created.pop(".cruft.json")[0])
    recorded = json.loads(cookiecutter_made.pop(".cruft.json")[0])
    assert created == cookiecutter_made
    assert (
        state["commit"]
        == recorded["commit"]
        == git(template_repository, "rev-parse", "HEAD").strip()
    )
    own = {
        key: value
        for key, value in state["context"]["cookiecutter"].items()
        if not key.startswith("_")
    }
    assert own == {
        key: value
        for key, value in recorded["context"]["cookiecutter"].items()
        if not key.startswith("_")
    }


@pytest.mark.parametrize("scheduler", ["file", "database"])
def test_cruft_update_runs_the_hooks_again(template_repository, tmp_path, scheduler) -> None:
    project = cruft_create(
        template_repository,
        tmp_path / "created",
        "--extra-context",
        json.dumps({"scheduler": scheduler}),
    )
    git(project, "init", "--quiet")
    commit_all(project, "Generated with cruft")
    # A change to a file only the database scheduler keeps. Without the hook, the file
    # scheduler's update would bring the file back, or fail to patch a file it does not have.
    database_only = "infrastructure/tests/test_beat_database.py"
    assert (project / database_only).exists() == (scheduler == "database")
    with (template_repository / PROJECT_TEMPLATE / database_only).open("a") as template_file:
        template_file.write("# A line from a newer template.\n")
    newer = commit_all(template_repository, "A newer template")

    outdated = cruft(project, "check", check=False)
    updated = update_template(project)

    assert outdated.returncode == 1
    assert updated.returncode == 0, updated.stdout + updated.stderr
    if scheduler == "database":
        assert (project / database_only).read_text().endswith("# A line from a newer template.\n")
    else:
        assert not (project / database_only).exists()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == newer
    changed = sorted(line[3:] for line in git(project, "status", "--porcelain").splitlines())
    assert changed == sorted([".cruft.json", *([database_only] if scheduler == "database" else [])])
    assert "up to date" in cruft(project, "check").stdout


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


LEGACY_ANSWERS = ".cookiecutter-answers.json"


def template_before_cruft_json(destination: Path) -> str:
    """A git repository of the template as it was when projects had LEGACY_ANSWERS."""
    # The commit whose hook first wrote .cruft.json; before it is committed, the last one.
    change = git(
        TEMPLATE_DIR, "log", "--reverse", "-S.cruft.json", "--format=%H", "--", "hooks"
    ).split()
    before = f"{change[0]}^" if change else "HEAD"
    commit = template_at(before, destination, "The template before .cruft.json")
    assert (destination / PROJECT_TEMPLATE / LEGACY_ANSWERS).exists()
    return commit


def test_a_project_with_the_answers_file_from_before_regenerates_and_updates(tmp_path) -> None:
    template = tmp_path / "template"
    old = template_before_cruft_json(template)
    project = bake_from(template, tmp_path / "legacy", "broker=rabbitmq", "use_flower=no")
    assert not (project / ".cruft.json").exists()
    answers = (project / LEGACY_ANSWERS).read_text()
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Generated before .cruft.json")
    customise(project)
    newer = take_the_working_tree(template)

    # Regenerated from the old answers by today's template: what Cookiecutter renders.
    regenerated = cruft_create(
        template, tmp_path / "regenerated", "--extra-context-file", project / LEGACY_ANSWERS
    )
    assert files(regenerated) == files(
        bake_from(template, tmp_path / "baked", "broker=rabbitmq", "use_flower=no")
    )

    # The template README's commands, COMMIT and TEMPLATE filled in.
    cruft(project, "link", "--no-input", "--checkout", old, "--extra-context", answers, template)
    git(project, "add", ".cruft.json")
    commit_all(project, "Record the template's commit")
    cruft(project, "update", "--skip-apply-ask")

    status = git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert not [line for line in status if line.startswith("UU") or line.endswith(".rej")]
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == newer
    assert state["context"]["cookiecutter"]["broker"] == "rabbitmq"
    assert state["context"]["cookiecutter"]["use_flower"] is False
    assert (project / "scripts" / "update-template").exists()
    for retired in [LEGACY_ANSWERS, "scripts/check-template-drift", "scripts/template_drift.py"]:
        assert not (project / retired).exists(), retired
    assert "  template-update:\n" in (project / ".github" / "workflows" / "ci.yml").read_text()
    assert '    "shop",\n' in (project / SETTINGS).read_text()
    commit_all(project, "Took the template's changes")
    checked = update_template(project, "--check")
    assert checked.stdout.startswith("Up to date: "), checked.stdout + checked.stderr

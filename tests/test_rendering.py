"""Rendering: clean, lint-free, deterministic output with only the chosen options' files."""

from __future__ import annotations

import re
import sys

import pytest

from conftest import TEMPLATE_DIR, bake_from, cookiecutter_cli, run, tree
from options import COMBINATIONS, ONE_AT_A_TIME, label, resolved

ALL_VARIANTS = COMBINATIONS + ONE_AT_A_TIME
# Openers only: "}}" closes nested dicts in Python too.
JINJA_RESIDUE = re.compile(r"\{\{|\{%|\{#|cookiecutter\.")


@pytest.mark.parametrize("answers", ALL_VARIANTS, ids=map(label, ALL_VARIANTS))
def test_no_template_syntax_is_left(bake, answers) -> None:
    for name, (content, _) in tree(bake(**answers)).items():
        residue = JINJA_RESIDUE.search(content.decode())
        assert residue is None, f"{name}: {residue.group()!r}"


@pytest.mark.parametrize("answers", ALL_VARIANTS, ids=map(label, ALL_VARIANTS))
def test_no_blank_line_litter(bake, answers) -> None:
    for name, (content, _) in tree(bake(**answers)).items():
        text = content.decode()
        assert "\n\n\n\n" not in text, f"{name}: three blank lines in a row"
        assert not text.startswith("\n"), f"{name}: starts with a blank line"
        if text:
            assert text.endswith("\n") and not text.endswith("\n\n"), f"{name}: ragged end"
        assert not re.search(r"[ \t]+\n", text), f"{name}: trailing whitespace"


@pytest.mark.parametrize("answers", ALL_VARIANTS, ids=map(label, ALL_VARIANTS))
def test_ruff_finds_nothing(bake, answers) -> None:
    project = bake(**answers)

    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)


OPTION_FILES = {
    "my_project/results.py": ("result_backend", {"django-db"}),
    "base/tests/test_results_django_db.py": ("result_backend", {"django-db"}),
    "base/beat_database.py": ("scheduler", {"database"}),
    "base/management/commands/reconcile_beat_schedule.py": ("scheduler", {"database"}),
    "base/tests/test_beat_database.py": ("scheduler", {"database"}),
    "base/beat_file.py": ("scheduler", {"file"}),
    "base/tests/test_beat_file.py": ("scheduler", {"file"}),
    "base/tests/integration/test_results.py": ("result_backend", {"django-db", "redis"}),
    "base/tests/integration/test_result_backend_django_db.py": ("result_backend", {"django-db"}),
    "base/tests/integration/test_result_backend_redis.py": ("result_backend", {"redis"}),
    "base/tests/integration/test_beat_database.py": ("scheduler", {"database"}),
    "base/tests/integration/test_flower.py": ("use_flower", {True}),
    "deploy/systemd/celery-flower.service": ("use_flower", {True}),
    "Dockerfile": ("use_docker", {True}),
    ".dockerignore": ("use_docker", {True}),
    "compose.yaml": ("use_docker", {True}),
    ".env.compose.example": ("use_docker", {True}),
    ".github": ("ci", {"github"}),
    ".gitlab-ci.yml": ("ci", {"gitlab"}),
}


@pytest.mark.parametrize("answers", ALL_VARIANTS, ids=map(label, ALL_VARIANTS))
def test_only_the_chosen_options_files_are_kept(bake, answers) -> None:
    project = bake(**answers)
    chosen = resolved(answers)

    for path, (field, keeping_answers) in OPTION_FILES.items():
        assert (project / path).exists() == (chosen[field] in keeping_answers), path


@pytest.mark.parametrize("answers", COMBINATIONS, ids=map(label, COMBINATIONS))
def test_settings_follow_the_answers(bake, answers) -> None:
    base = (bake(**answers) / "my_project" / "settings" / "base.py").read_text()

    assert ('"django_celery_beat"' in base) == (answers["scheduler"] == "database")
    assert ('"django_celery_results"' in base) == (answers["result_backend"] == "django-db")
    assert ("global_keyprefix" in base) == ("redis" in answers.values())
    assert ("CELERY_RESULT_BACKEND =" in base) == (answers["result_backend"] != "none")


def test_two_bakes_with_the_same_answers_are_byte_identical(tmp_path) -> None:
    answers = ["project_name=Twin", "broker=rabbitmq", "result_backend=redis"]
    first = bake_from(TEMPLATE_DIR, tmp_path / "first", *answers)
    second = bake_from(TEMPLATE_DIR, tmp_path / "second", *answers)

    assert tree(first) == tree(second)


def test_baking_again_over_the_project_changes_nothing(tmp_path) -> None:
    cookiecutter_cli(tmp_path, "scheduler=file")
    first = tree(tmp_path)

    # Both hooks run again over the existing tree, as cruft's update does.
    cookiecutter_cli(tmp_path, "scheduler=file", "--overwrite-if-exists")

    assert tree(tmp_path) == first


def test_the_template_code_is_lint_clean() -> None:
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=TEMPLATE_DIR)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=TEMPLATE_DIR)

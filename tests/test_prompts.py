"""Prompts and validation: what a user is asked, and what happens to bad answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import TEMPLATE_DIR, cookiecutter_cli, run
from tooling.options import DECLARED


def bake_with(output_dir: Path, *arguments: str) -> tuple[int, str]:
    """Bake with the real `cookiecutter` command; return (exit code, all its output)."""
    completed = cookiecutter_cli(output_dir, *arguments, check=False)
    return completed.returncode, completed.stdout + completed.stderr


def test_every_option_has_a_readable_prompt() -> None:
    prompts = DECLARED["__prompts__"]
    options = [field for field in DECLARED if not field.startswith("_")]

    assert sorted(prompts) == sorted(options)
    for field in options:
        if isinstance(DECLARED[field], list):
            assert set(prompts[field]) == {"__prompt__", *DECLARED[field]}, field


def test_defaults_are_the_documented_first_choices() -> None:
    firsts = {field: value[0] for field, value in DECLARED.items() if isinstance(value, list)}

    assert firsts == {
        "python_version": "3.12",
        "django_version": "5.2",
        "user_model": "custom",
        "broker": "redis",
        "result_backend": "django-db",
        "scheduler": "database",
        "ci": "github",
    }


def test_the_defaults_bake_my_project(bake) -> None:
    assert bake().name == "my_project"


@pytest.mark.parametrize(
    ("project_name", "slug"),
    [("My Project", "my_project"), ("Acme Shop-2.0", "acme_shop_2_0"), ("shop", "shop")],
)
def test_the_slug_is_derived_from_the_project_name(tmp_path, project_name, slug) -> None:
    code, stderr = bake_with(tmp_path, f"project_name={project_name}")

    assert code == 0, stderr
    assert [path.name for path in tmp_path.iterdir()] == [slug]


BAD_ANSWERS = [
    ("project_slug=1abc", "project_slug '1abc' is not a lowercase Python identifier"),
    ("project_slug=my-proj", "project_slug 'my-proj' is not a lowercase Python identifier"),
    ("project_slug=MyProj", "project_slug 'MyProj' is not a lowercase Python identifier"),
    ("project_slug=class", "project_slug 'class' is a Python keyword"),
    ("project_slug=match", "project_slug 'match' is a Python keyword"),
    ("project_slug=celery", "project_slug 'celery' would shadow the module"),
    ("project_slug=django", "project_slug 'django' would shadow the module"),
    ("project_slug=test", "project_slug 'test' would shadow the module"),
    ("project_slug=base", "project_slug 'base' would shadow the module"),
    ("project_slug=infrastructure", "project_slug 'infrastructure' would shadow the module"),
    ("project_slug=" + "a" * 31, "is longer than 30 characters"),
    ("project_name=Café", "project_slug 'café' is not a lowercase Python identifier"),
    ("project_slug=_x", "project_slug '_x' starts or ends with an underscore"),
    ("project_slug=click", "project_slug 'click' would shadow the module"),
    ("project_name=My Project ", "project_name 'My Project ' starts or ends with a space"),
    ("project_name=A\nExecStartPre=true", "project_name 'A\\nExecStartPre=true' has a"),
    ('author_email=a"b@example.com', "author_email 'a\"b@example.com' is not an email address"),
    ("author_email=you", "author_email 'you' is not an email address"),
    ("author_email=you@example", "author_email 'you@example' is not an email address"),
    ("timezone=Mars/Olympus", "timezone 'Mars/Olympus' is not an IANA time zone name"),
    ("timezone=utc", "timezone 'utc' is not an IANA time zone name"),
    # Cookiecutter itself refuses these before the hook runs, naming the field.
    ("use_docker=maybe", "maybe provided for variable use_docker could not be converted"),
    ("broker=kafka", "kafka provided for choice variable broker, but the choices are"),
]


@pytest.mark.parametrize(("answer", "message"), BAD_ANSWERS, ids=[a for a, _ in BAD_ANSWERS])
def test_a_bad_answer_fails_with_one_clear_line_and_leaves_nothing(
    tmp_path, answer, message
) -> None:
    code, stderr = bake_with(tmp_path, answer)

    assert code == 1
    assert message in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("project_slug=1abc", "error: project_slug '1abc' is not a lowercase Python identifier "),
        ("author_email=you", "error: author_email 'you' is not an email address such as "),
        ("broker=kafka", "error: kafka provided for choice variable broker, but the choices "),
    ],
)
def test_scripts_generate_prints_exactly_one_error_line(tmp_path, answer, error) -> None:
    completed = run(
        [TEMPLATE_DIR / "scripts" / "generate", "--no-input", "-o", tmp_path, answer],
        cwd=tmp_path,
        check=False,
    )

    assert completed.returncode == 1
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith(error)
    assert list(tmp_path.iterdir()) == []


VERSION_CLASH = "error: django_version 6.0 needs python_version 3.12 or newer, not 3.11; "
VERSION_CLASH_WAYS_OUT = "answer python_version 3.12 or 3.13 with it, or django_version 5.2\n"


def test_django_6_on_python_3_11_is_refused_with_one_line_naming_both(tmp_path) -> None:
    """Both answers are valid alone; the hook refuses the pair (Django 6.0 needs 3.12+)."""
    answers = ["django_version=6.0", "python_version=3.11"]
    baked = cookiecutter_cli(tmp_path, *answers, check=False)
    generated = run(
        [TEMPLATE_DIR / "scripts" / "generate", "--no-input", "-o", tmp_path, *answers],
        cwd=tmp_path,
        check=False,
    )

    assert baked.returncode == 1
    assert [line for line in baked.stderr.splitlines() if line.startswith("error: ")] == [
        (VERSION_CLASH + VERSION_CLASH_WAYS_OUT).rstrip("\n")
    ]
    assert generated.returncode == 1
    assert generated.stderr == VERSION_CLASH + VERSION_CLASH_WAYS_OUT
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_is_left_alone_without_overwrite(tmp_path) -> None:
    existing = tmp_path / "my_project"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")

    code, stderr = bake_with(tmp_path)

    assert code != 0
    assert "already exists" in stderr
    assert [path.name for path in existing.iterdir()] == ["notes.txt"]


def test_a_refused_answer_never_deletes_an_existing_directory(tmp_path) -> None:
    existing = tmp_path / "my_project"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")

    code, _ = bake_with(tmp_path, "--overwrite-if-exists", "author_email=you")

    assert code == 1
    assert (existing / "notes.txt").read_text() == "mine"

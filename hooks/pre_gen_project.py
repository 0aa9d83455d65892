"""Validate the answers before Cookiecutter writes anything that matters.

Each validator takes one answer and returns an error message, or None when the
answer is acceptable. On the first bad answer the hook prints one line naming
the field and the accepted form, and exits 1; Cookiecutter then removes the
directory it created for the project (never one that existed before).

Every way of rendering runs this hook: prompts, --no-input with key=value answers,
a replay file, cruft create and cruft update. Some of them check nothing before it: a
replay file's answers reach the templates as written (its `_cookiecutter` too), and a
JSON answer that is not a string (cruft's answers files, the Python API) skips
Cookiecutter's own checks of booleans. So the hook trusts no answer and reads nothing
from the context but the answers (cruft passes no template path, and a replay file
writes `_cookiecutter`); it carries its own copy of the options cookiecutter.json
declares, which tests/test_hostile_answers.py keeps equal to it.

Only the string in main() is Jinja, so the module imports as it is (the tests do).
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Final

# The choices and booleans of cookiecutter.json, in its order.
CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "python_version": ("3.12", "3.13", "3.11"),
    "django_version": ("5.2", "6.0"),
    "user_model": ("custom", "django"),
    "broker": ("redis", "rabbitmq"),
    "result_backend": ("django-db", "redis", "none"),
    "scheduler": ("database", "file"),
    "ci": ("github", "gitlab", "none"),
}
BOOLEANS: Final = ("use_flower", "use_docker", "use_kubernetes")

# The oldest python_version each django_version runs on, where it is not the oldest offered:
# Django 6.0 supports Python 3.12 and newer.
OLDEST_PYTHON_FOR_DJANGO: Final = {"6.0": "3.12"}

# Top-level modules a slug must not shadow: the project's own apps, what `python -m
# venv` installs, and every importable name of the project's dependency closure on
# every Python it supports (tests/test_hostile_answers.py installs the closure and
# fails when a name is missing here). Names a slug cannot have (`_cffi_backend`,
# the standard library's) are left out: other checks refuse them.
RESERVED_SLUGS: Final = frozenset(
    {
        # The project's own packages, and CPython's test package, which
        # sys.stdlib_module_names omits.
        "base",
        "infrastructure",
        "test",
        "tests",
        "users",
        # Installed into every virtualenv by `python -m venv` (setuptools up to 3.11).
        "pip",
        "pkg_resources",
        "setuptools",
        # The dependency closure, with the dev extra.
        "aiosmtpd",
        "amqp",
        "annotated_doc",
        "annotated_types",
        "anyio",
        "arrow",
        "asgiref",
        "attr",
        "attrs",
        "billiard",
        "binaryornot",
        "celery",
        "certifi",
        "cffi",
        "charset_normalizer",
        "click",
        "click_didyoumean",
        "click_plugins",
        "click_repl",
        "cookiecutter",
        "cron_descriptor",
        "cronlog",
        "crontab",
        "crontabs",
        "cruft",
        "cryptography",
        "dateutil",
        "dj_database_url",
        "django",
        "django_celery_beat",
        "django_celery_results",
        "dotenv",
        "flower",
        "git",
        "gitdb",
        "google",
        "gunicorn",
        "humanize",
        "idna",
        "iniconfig",
        "jinja2",
        "kombu",
        "markdown_it",
        "markupsafe",
        "mdurl",
        "opentelemetry",
        "packaging",
        "pluggy",
        "prometheus_client",
        "prompt_toolkit",
        "psycopg",
        "psycopg_binary",
        "public",
        "py",
        "pycparser",
        "pydantic",
        "pydantic_core",
        "pygments",
        "pytest",
        "pytest_django",
        "pythonjsonlogger",
        "pytz",
        "redis",
        "requests",
        "rich",
        "ruff",
        "sentry_sdk",
        "shellingham",
        "six",
        "slugify",
        "smmap",
        "sqlparse",
        "tblib",
        "text_unidecode",
        "timezone_field",
        "tornado",
        "trustme",
        "typer",
        "typing_extensions",
        "typing_inspection",
        "tzdata",
        "tzlocal",
        "urllib3",
        "uv",
        "vine",
        "watchfiles",
        "wcwidth",
        "whitenoise",
        "wrapt",
        "yaml",
    }
)

MAX_SLUG_LENGTH: Final = 30
# A distribution name (the slug with "-" for "_") starts and ends with a letter or digit.
SLUG_PATTERN: Final = re.compile(r"[a-z]([a-z0-9_]*[a-z0-9])?")

# Free text goes into Python, TOML and YAML strings (through `tojson`), systemd units
# (with % doubled) and Markdown. One printable line renders inert in all of them; what
# `tojson` cannot spell in TOML (a character beyond U+FFFF, written as a surrogate
# pair) is refused too, and so are Jinja's opening delimiters: Cookiecutter evaluates
# key=value and extra-context answers as Jinja, which it would do again to the
# recorded answers on an update. (On a first render it has already done so before
# this hook runs; only prompts and replay files bring the text here as written.)
TEXT_LIMITS: Final = {"project_name": 60, "description": 200, "author_name": 100}
# Spelled in pieces: this file is itself rendered by Jinja.
JINJA_DELIMITERS: Final = ("{" + "{", "{" + "%", "{" + "#")
# systemd joins a line that ends with a backslash to the next; a title needs none.
NO_BACKSLASH: Final = frozenset({"project_name"})

# A plain address: no quotes, spaces or backslashes, so it is inert wherever it goes.
EMAIL_PATTERN: Final = re.compile(
    r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
MAX_EMAIL_LENGTH: Final = 254

# Where the template comes from, as the generated CI reads it: a remote git URL, and a
# branch, tag or commit name. Characters that mean something to a shell or to YAML
# (whitespace, quotes, $, `, ;, &, |, #, ...) cannot occur.
TEMPLATE_URL_PATTERN: Final = re.compile(
    r"(https|ssh|git)://([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~+-]+)+/?"
    r"|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~+-]+(/[A-Za-z0-9._~+-]+)*/?"
)
TEMPLATE_REF_PATTERN: Final = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?")
MAX_TEMPLATE_SOURCE_LENGTH: Final = 200


def shown(value: object) -> str:
    """The answer as the error line shows it: repr, so line breaks stay escaped; cut short."""
    text = repr(value)
    return text if len(text) <= 50 else f"{text[:45]}...{text[-4:]}"


def text_problem(field: str, value: str) -> str | None:
    """What makes `value` unfit for the free-text field, or None."""
    if not value:
        return "is empty"
    if not value.isprintable():
        return "has a line break or control character"
    if len(value) > TEXT_LIMITS[field]:
        return f"is {len(value)} characters long"
    if value != value.strip():
        return "starts or ends with a space"
    if any(ord(character) > 0xFFFF for character in value):
        return "has a character beyond U+FFFF (an emoji?)"
    if any(delimiter in value for delimiter in JINJA_DELIMITERS):
        return "has a Jinja delimiter (a brace then a brace, % or #)"
    if field in NO_BACKSLASH and "\\" in value:
        return "has a backslash"
    return None


def validate_text(field: str) -> Callable[[object], str | None]:
    """Build a validator for free text: one printable line, trimmed, of bounded length.

    Valid: "My Project", "Café & Co's \"shop\"". Invalid: "a\\nb", " x", a Jinja
    expression, an emoji, more characters than the field's limit.
    """
    accepted = f"one line of at most {TEXT_LIMITS[field]} printable characters"
    if field in NO_BACKSLASH:
        accepted += ", without backslashes"

    def validate(value: object) -> str | None:
        problem = text_problem(field, value) if isinstance(value, str) else "is not text"
        return None if problem is None else f"{field} {shown(value)} {problem}; use {accepted}"

    return validate


def validate_slug(slug: object) -> str | None:
    """Accept a lowercase ASCII Python identifier that shadows nothing and pip can install.

    Valid: "proj", "my_project", "shop2". Invalid: "1abc", "my-proj", "MyProj", "_x",
    "x_", "class", "celery", "click", "test", "base", 31 or more characters.
    """
    accepted = "a lowercase Python identifier such as my_project"
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        if isinstance(slug, str) and SLUG_PATTERN.fullmatch(slug.strip("_")):
            return (
                f"project_slug {shown(slug)} starts or ends with an underscore, which pip "
                f"refuses in a distribution name; use {accepted}"
            )
        return f"project_slug {shown(slug)} is not {accepted}"
    if len(slug) > MAX_SLUG_LENGTH:
        # Longer names push generated lines past the project's 100-column limit.
        too_long = f"is longer than {MAX_SLUG_LENGTH} characters"
        return f"project_slug {shown(slug)} {too_long}; use {accepted}"
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        return f"project_slug {shown(slug)} is a Python keyword; use {accepted}"
    if slug in RESERVED_SLUGS or slug in sys.stdlib_module_names:
        return (
            f"project_slug {shown(slug)} would shadow the module of the same name; "
            f"use {accepted} that is not a standard library or dependency module"
        )
    return None


def validate_email(email: object) -> str | None:
    """Accept a plain address.

    Valid: "you@example.com", "first.last+tag@mail.example.org". Invalid: "you", "you@",
    "you@example", "a b@c.d", 'a"b@example.com', "a'b@example.com".
    """
    if isinstance(email, str) and len(email) <= MAX_EMAIL_LENGTH and EMAIL_PATTERN.fullmatch(email):
        return None
    return f"author_email {shown(email)} is not an email address such as you@example.com"


def validate_timezone(name: object) -> str | None:
    """Accept an IANA time zone name, spelled exactly.

    Valid: "UTC", "Europe/Paris". Invalid: "utc", "Mars/Olympus", "GMT+25".
    """
    known = zoneinfo.available_timezones()
    if not known:
        # Without a database every name would pass; refuse rather than guess.
        return (
            "timezone cannot be checked: this Python has no time zone database; "
            "install tzdata (python -m pip install tzdata) and generate again"
        )
    if isinstance(name, str) and name in known:
        return None
    return f"timezone {shown(name)} is not an IANA time zone name such as UTC or Europe/Paris"


def validate_template_url(url: object) -> str | None:
    """Accept a remote git URL without whitespace, quotes or shell characters.

    Valid: "https://github.com/org/repo", "git@github.com:org/repo.git". Invalid:
    "/home/me/template", "https://x/y z", "https://x/$(id)".
    """
    if (
        isinstance(url, str)
        and len(url) <= MAX_TEMPLATE_SOURCE_LENGTH
        and TEMPLATE_URL_PATTERN.fullmatch(url)
    ):
        return None
    return (
        f"_template_url {shown(url)} is not a git URL such as "
        "https://github.com/org/repo or git@github.com:org/repo.git"
    )


def validate_template_ref(ref: object) -> str | None:
    """Accept a git branch, tag or commit name.

    Valid: "main", "v1.2.0", "release/2.x", a commit hash. Invalid: "v1: x", "-x",
    "a..b", "x.lock", "a b".
    """
    if (
        isinstance(ref, str)
        and len(ref) <= MAX_TEMPLATE_SOURCE_LENGTH
        and all(TEMPLATE_REF_PATTERN.fullmatch(part) for part in ref.split("/"))
        and ".." not in ref
        and not ref.endswith(".lock")
    ):
        return None
    return f"_template_ref {shown(ref)} is not a git branch, tag or commit such as main or v1.0.0"


def validate_choice(field: str) -> Callable[[object], str | None]:
    """Build a validator that accepts one of the field's declared choices."""

    def validate(value: object) -> str | None:
        if isinstance(value, str) and value in CHOICES[field]:
            return None
        return f"{field} {shown(value)} is not one of: {', '.join(CHOICES[field])}"

    return validate


def validate_boolean(field: str) -> Callable[[object], str | None]:
    """Build a validator that accepts a real boolean.

    Cookiecutter converts yes/no on the command line; a replay or cruft answers file
    carries its JSON value unconverted, where only true and false are booleans.
    """

    def validate(value: object) -> str | None:
        if isinstance(value, bool):
            return None
        return (
            f"{field} {shown(value)} is not a boolean: answer yes or no "
            "(true or false in a JSON answers file)"
        )

    return validate


def version(text: str) -> tuple[int, ...]:
    """A version such as "3.12" as a tuple that compares as versions do: (3, 12)."""
    return tuple(int(part) for part in text.split("."))


def incompatible_versions(answers: Mapping[str, object]) -> str | None:
    """Why the python_version and django_version answers cannot go together, or None.

    Both answers are valid choices already; only their pair is checked here.
    """
    django, python = str(answers["django_version"]), str(answers["python_version"])
    oldest = OLDEST_PYTHON_FOR_DJANGO.get(django)
    if oldest is None or version(python) >= version(oldest):
        return None
    accepted = " or ".join(v for v in CHOICES["python_version"] if version(v) >= version(oldest))
    others = " or ".join(
        d
        for d in CHOICES["django_version"]
        if version(python) >= version(OLDEST_PYTHON_FOR_DJANGO.get(d, python))
    )
    return (
        f"django_version {django} needs python_version {oldest} or newer, not {python}; "
        f"answer python_version {accepted} with it, or django_version {others}"
    )


def derived(answers: Mapping[str, object]) -> dict[str, str]:
    """The answers cookiecutter.json computes from others (its `__` keys), computed alike."""
    broker, backend = answers["broker"], answers["result_backend"]
    return {
        "__needs_redis": "yes" if "redis" in (broker, backend) else "no",
        "__results_url": (
            "none" if backend != "redis" else "broker" if broker == "redis" else "own"
        ),
    }


# Keys that change how Cookiecutter renders, which cookiecutter.json does not set: only
# a hand-written replay file can bring them (files copied unrendered, other delimiters).
RENDERING_KEYS: Final = ("_copy_without_render", "_extensions", "_jinja2_env_vars", "_new_lines")

# In the order of cookiecutter.json, which is the order of the prompts.
VALIDATORS: Final[dict[str, Callable[[object], str | None]]] = {
    "project_name": validate_text("project_name"),
    "project_slug": validate_slug,
    "description": validate_text("description"),
    "author_name": validate_text("author_name"),
    "author_email": validate_email,
    "timezone": validate_timezone,
    "python_version": validate_choice("python_version"),
    "django_version": validate_choice("django_version"),
    "user_model": validate_choice("user_model"),
    "broker": validate_choice("broker"),
    "result_backend": validate_choice("result_backend"),
    "scheduler": validate_choice("scheduler"),
    "use_flower": validate_boolean("use_flower"),
    "use_docker": validate_boolean("use_docker"),
    "use_kubernetes": validate_boolean("use_kubernetes"),
    "ci": validate_choice("ci"),
}
# .cruft.json records _template_url; _template_ref, no longer declared, can still come
# with a replay file from before. Checked whenever the answers carry them.
OPTIONAL_VALIDATORS: Final[dict[str, Callable[[object], str | None]]] = {
    "_template_url": validate_template_url,
    "_template_ref": validate_template_ref,
}


def first_error(answers: Mapping[str, object]) -> str | None:
    """Return the message for the first invalid answer, in prompt order."""
    for field in RENDERING_KEYS:
        if field in answers:
            return f"the answers set {field}, which changes how Cookiecutter renders this template"
    for field, validate in VALIDATORS.items():
        if field not in answers:
            return f"the answers have no {field}: generate from this template's cookiecutter.json"
        message = validate(answers[field])
        if message is not None:
            return message
    message = incompatible_versions(answers)
    if message is not None:
        return message
    for field, validate in OPTIONAL_VALIDATORS.items():
        message = validate(answers[field]) if field in answers else None
        if message is not None:
            return message
    # Valid choices leave one right value for each derived answer; a replay file or
    # extra context may carry another, which would pick fragments of no declared option.
    for field, expected in derived(answers).items():
        if answers.get(field) != expected:
            value = shown(answers.get(field))
            return f"{field} {value} is derived from the other answers: it must be {expected!r}"
    return None


def main() -> int:
    message = first_error(json.loads(r"""{{ cookiecutter | tojson }}"""))
    if message is None:
        return 0
    print(f"error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

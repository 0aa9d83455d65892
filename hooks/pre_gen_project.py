"""Validate the answers before Cookiecutter writes anything that matters.

Each validator takes one answer and returns an error message, or None when the
answer is acceptable. On the first bad answer the hook prints one line naming
the field and the accepted form, and exits 1; Cookiecutter then removes the
directory it created for the project (never one that existed before).
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import zoneinfo
from collections.abc import Callable
from typing import Final

ANSWERS: Final[dict[str, object]] = json.loads(r"""{{ cookiecutter | tojson }}""")

# Top-level modules the rendered project imports, plus its own apps: a slug
# with one of these names would shadow it and break imports in confusing ways.
RESERVED_SLUGS: Final = frozenset(
    {
        "amqp",
        "base",
        "billiard",
        "celery",
        "cookiecutter",
        "dj_database_url",
        "django",
        "django_celery_beat",
        "django_celery_results",
        "dotenv",
        "flower",
        "gunicorn",
        "infrastructure",
        "kombu",
        "psycopg",
        "pytest",
        "pytest_django",
        "redis",
        "tblib",
        # CPython's own test package, missing from sys.stdlib_module_names.
        "test",
        "tests",
        "vine",
        "watchfiles",
        "whitenoise",
    }
)

# The options as cookiecutter.json declares them (each choice a list): that file
# stays the one place that lists the choices and the booleans. cruft renders without
# `_cookiecutter`; there Cookiecutter has already refused a choice or boolean that
# cookiecutter.json does not allow, while applying the answers, so none is left to check.
DECLARED: Final[dict[str, object]] = json.loads(r"""{{ _cookiecutter | default({}) | tojson }}""")
CHOICES: Final[dict[str, list[str]]] = {
    field: value for field, value in DECLARED.items() if isinstance(value, list)
}
BOOLEANS: Final[list[str]] = [field for field, value in DECLARED.items() if isinstance(value, bool)]

MAX_SLUG_LENGTH: Final = 30

EMAIL_PATTERN: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def validate_slug(slug: str) -> str | None:
    """Accept a lowercase ASCII Python identifier that shadows nothing.

    Valid: "proj", "my_project", "shop2". Invalid: "1abc", "my-proj",
    "MyProj", "class", "celery", "test", "base", 31 or more characters.
    """
    accepted = "a lowercase Python identifier such as my_project"
    if not (slug.isascii() and slug.isidentifier() and slug == slug.lower()):
        return f"project_slug {slug!r} is not {accepted}"
    if len(slug) > MAX_SLUG_LENGTH:
        # Longer names push generated lines past the project's 100-column limit.
        return f"project_slug {slug!r} is longer than {MAX_SLUG_LENGTH} characters; use {accepted}"
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        return f"project_slug {slug!r} is a Python keyword; use {accepted}"
    if slug in RESERVED_SLUGS or slug in sys.stdlib_module_names:
        return (
            f"project_slug {slug!r} would shadow the module of the same name; "
            f"use {accepted} that is not a standard library or dependency module"
        )
    return None


def validate_email(email: str) -> str | None:
    """Accept a plain address.

    Valid: "you@example.com". Invalid: "you", "you@", "you@example", "a b@c.d".
    """
    if EMAIL_PATTERN.fullmatch(email):
        return None
    return f"author_email {email!r} is not an email address such as you@example.com"


def validate_timezone(name: str) -> str | None:
    """Accept an IANA time zone name, spelled exactly.

    Valid: "UTC", "Europe/Paris". Invalid: "utc", "Mars/Olympus", "GMT+25".
    """
    known = zoneinfo.available_timezones()
    if not known:
        # No tz database on this machine (Windows without tzdata): Django will
        # check TIME_ZONE when the project starts, so do not refuse it here.
        return None
    if name in known:
        return None
    return f"timezone {name!r} is not an IANA time zone name such as UTC or Europe/Paris"


def validate_choice(field: str) -> Callable[[str], str | None]:
    """Build a validator that accepts one of the field's declared choices."""

    def validate(value: str) -> str | None:
        if value in CHOICES[field]:
            return None
        return f"{field} {value!r} is not one of: {', '.join(CHOICES[field])}"

    return validate


def validate_boolean(field: str) -> Callable[[object], str | None]:
    """Build a validator that accepts a real boolean (Cookiecutter converts yes/no)."""

    def validate(value: object) -> str | None:
        if isinstance(value, bool):
            return None
        return f"{field} {value!r} is not a boolean: use yes or no"

    return validate


VALIDATORS: Final[dict[str, Callable[..., str | None]]] = {
    "project_slug": validate_slug,
    "author_email": validate_email,
    "timezone": validate_timezone,
    **{field: validate_choice(field) for field in CHOICES},
    **{field: validate_boolean(field) for field in BOOLEANS},
}


def first_error(answers: dict[str, object]) -> str | None:
    """Return the message for the first invalid answer, in prompt order."""
    for field, validate in VALIDATORS.items():
        message = validate(answers[field])
        if message is not None:
            return message
    return None


def main() -> int:
    message = first_error(ANSWERS)
    if message is None:
        return 0
    print(f"error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

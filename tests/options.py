"""The answers the tests bake, derived once from cookiecutter.json."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

DECLARED: dict[str, object] = json.loads(
    (Path(__file__).resolve().parent.parent / "cookiecutter.json").read_text()
)

# Broker, result backend and scheduler interact: every combination is baked.
INTERACTING = ("broker", "result_backend", "scheduler")
COMBINATIONS: list[dict[str, str]] = [
    dict(zip(INTERACTING, values, strict=True))
    for values in itertools.product(*(DECLARED[field] for field in INTERACTING))
]

# Every other choice and boolean is baked once with its non-default value.
ONE_AT_A_TIME: list[dict[str, str]] = [
    {field: choice}
    for field, value in DECLARED.items()
    if isinstance(value, list) and field not in INTERACTING
    for choice in value[1:]
] + [
    {field: "no" if value else "yes"}
    for field, value in DECLARED.items()
    if isinstance(value, bool)
]


def label(answers: dict[str, str]) -> str:
    """A short test id: the values, joined."""
    return "-".join(answers.values())


def resolved(answers: dict[str, str]) -> dict[str, object]:
    """Every option's value for these answers: the default where unanswered, yes/no as bool."""
    defaults = {
        field: value[0] if isinstance(value, list) else value
        for field, value in DECLARED.items()
        if isinstance(value, list | bool)
    }
    given = {
        field: value == "yes" if isinstance(DECLARED[field], bool) else value
        for field, value in answers.items()
    }
    return {**defaults, **given}

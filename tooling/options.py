"""The answers the tests bake, derived once from cookiecutter.json and the hook's table."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
DECLARED: dict[str, object] = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())


def _post_generation_hook():
    """The post-generation hook: KEPT_ONLY_FOR, project path -> (field, the answers that keep
    it), and kept(path, answers).

    The hook is a Jinja template, but only a string inside its main() is Jinja, so the
    module imports as it is.
    """
    path = TEMPLATE_DIR / "hooks" / "post_gen_project.py"
    spec = importlib.util.spec_from_file_location("post_gen_project", path)
    assert spec is not None and spec.loader is not None, path
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


POST_GENERATION_HOOK = _post_generation_hook()
KEPT_ONLY_FOR = POST_GENERATION_HOOK.KEPT_ONLY_FOR

# Broker, result backend and scheduler interact: every combination is baked.
INTERACTING = ("broker", "result_backend", "scheduler")
COMBINATIONS: list[dict[str, str]] = [
    dict(zip(INTERACTING, values, strict=True))
    for values in itertools.product(*(DECLARED[field] for field in INTERACTING))
]

# Running a project (its checks, unit and integration tests) costs minutes, so it runs in
# fewer combinations, which still hold every pair of values that can meet. The scheduler
# changes what beat does and nothing a worker or a result store does; the result backend
# changes nothing beat does; and each option changes the files through parts of its own
# (tests/test_rendering.py checks that). So: each broker with each result backend on the
# default scheduler, and each broker with each scheduler on the default result backend.
COMBINATIONS_TO_RUN: list[dict[str, str]] = [
    answers
    for answers in COMBINATIONS
    if answers["scheduler"] == DECLARED["scheduler"][0]
    or answers["result_backend"] == DECLARED["result_backend"][0]
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

"""Remove the files of options the user did not choose.

The table below is the one place that says which files belong to which answer;
files that every project needs are not listed. The template's tests read it too,
so the module imports without rendering: the only Jinja is the answers string,
parsed when the hook runs. Removing is idempotent, so the hook can run again
(cruft does) without harm. No network, randomness or clock.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Final

# Path, relative to the project ({project_slug} is the answer) -> (field, the answers that keep it).
KEPT_ONLY_FOR: Final[dict[str, tuple[str, frozenset[object]]]] = {
    "infrastructure/results.py": ("result_backend", frozenset({"django-db"})),
    "infrastructure/tests/test_results_django_db.py": ("result_backend", frozenset({"django-db"})),
    "infrastructure/beat_database.py": ("scheduler", frozenset({"database"})),
    "infrastructure/management": ("scheduler", frozenset({"database"})),
    "infrastructure/models.py": ("scheduler", frozenset({"database"})),
    "infrastructure/migrations": ("scheduler", frozenset({"database"})),
    "infrastructure/tests/test_beat_database.py": ("scheduler", frozenset({"database"})),
    "infrastructure/beat_file.py": ("scheduler", frozenset({"file"})),
    "infrastructure/tests/test_beat_file.py": ("scheduler", frozenset({"file"})),
    "tests/integration/test_results.py": (
        "result_backend",
        frozenset({"django-db", "redis"}),
    ),
    "tests/integration/test_result_backend_django_db.py": (
        "result_backend",
        frozenset({"django-db"}),
    ),
    "tests/integration/test_result_backend_redis.py": ("result_backend", frozenset({"redis"})),
    "tests/integration/test_beat_database.py": ("scheduler", frozenset({"database"})),
    "tests/integration/test_flower.py": ("use_flower", frozenset({True})),
    "deploy/systemd/celery-flower.service": ("use_flower", frozenset({True})),
    "Dockerfile": ("use_docker", frozenset({True})),
    ".dockerignore": ("use_docker", frozenset({True})),
    "compose.yaml": ("use_docker", frozenset({True})),
    ".env.compose.example": ("use_docker", frozenset({True})),
    ".github": ("ci", frozenset({"github"})),
    ".gitlab-ci.yml": ("ci", frozenset({"gitlab"})),
}


def unselected_paths(answers: dict[str, object]) -> list[Path]:
    """Return the paths that belong to answers the user did not give."""
    return [
        Path(path.format(project_slug=answers["project_slug"]))
        for path, (field, keeping_answers) in KEPT_ONLY_FOR.items()
        if answers[field] not in keeping_answers
    ]


def remove(path: Path) -> None:
    """Delete a file or directory; a path already gone is fine."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def main() -> None:
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    for path in unselected_paths(answers):
        remove(path)


if __name__ == "__main__":
    main()

"""Remove the files of options the user did not choose; record where the project came from.

The table below is the one place that says which files belong to which answer;
files that every project needs are not listed. The template's tests read it too,
so the module imports without rendering: the only Jinja is the answers string,
parsed when the hook runs. Removing is idempotent, so the hook can run again
(cruft does) without harm.

A project rendered by Cookiecutter gets the .cruft.json that cruft would have written:
the template's address, the commit it was rendered from and the answers, so that
`cruft update` and scripts/update-template work on every project. No network,
randomness or clock: the commit is read from the template's own git checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Final

# Path, relative to the project ({project_slug} is the answer) -> (field, the answers that keep it).
# A tuple of fields keeps the path when any of them has one of the answers.
KEPT_ONLY_FOR: Final[dict[str, tuple[str | tuple[str, ...], frozenset[object]]]] = {
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
    "users": ("user_model", frozenset({"custom"})),
    # With RabbitMQ each process has its own cache: nothing shared to test.
    "tests/integration/test_cache.py": ("broker", frozenset({"redis"})),
    "infrastructure/celery_task_backend.py": ("django_version", frozenset({"6.0"})),
    "infrastructure/tests/test_celery_task_backend.py": ("django_version", frozenset({"6.0"})),
    "base/django_tasks.py": ("django_version", frozenset({"6.0"})),
    "tests/integration/test_django_tasks.py": ("django_version", frozenset({"6.0"})),
    "deploy/systemd/celery-flower.service": ("use_flower", frozenset({True})),
    # The Kubernetes manifests run the image the Dockerfile builds.
    "Dockerfile": (("use_docker", "use_kubernetes"), frozenset({True})),
    ".dockerignore": (("use_docker", "use_kubernetes"), frozenset({True})),
    "compose.yaml": ("use_docker", frozenset({True})),
    ".env.compose.example": ("use_docker", frozenset({True})),
    "deploy/kubernetes": ("use_kubernetes", frozenset({True})),
    ".github": ("ci", frozenset({"github"})),
    ".gitlab-ci.yml": ("ci", frozenset({"gitlab"})),
}


def kept(path: str, answers: dict[str, object]) -> bool:
    """Whether the answers keep this row of KEPT_ONLY_FOR."""
    fields, keeping_answers = KEPT_ONLY_FOR[path]
    fields = (fields,) if isinstance(fields, str) else fields
    return any(answers[field] in keeping_answers for field in fields)


def unselected_paths(answers: dict[str, object]) -> list[Path]:
    """Return the paths that belong to answers the user did not give."""
    return [
        Path(path.format(project_slug=answers["project_slug"]))
        for path in KEPT_ONLY_FOR
        if not kept(path, answers)
    ]


def remove(path: Path) -> None:
    """Delete a file or directory; a path already gone is fine."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# Cookiecutter's own abbreviations (cookiecutter.config.BUILTIN_ABBREVIATIONS): the
# context keeps `gh:org/name` as typed, which git cannot fetch.
ABBREVIATIONS: Final = {
    "gh": "https://github.com/{}.git",
    "gl": "https://gitlab.com/{}.git",
    "bb": "https://bitbucket.org/{}",
}
# What git fetches from another machine: a URL with a network scheme, or scp-like user@host:path.
REMOTE_URL: Final = re.compile(r"(git\+)?(https?|ssh|git)://|[\w.-]+@[\w.-]+:")


def remote_address(source: str) -> str | None:
    """The git URL another machine can fetch `source` from, without credentials; None for
    a local path or a file:// URL, which name a directory of this machine only.
    """
    prefix, _, name = source.partition(":")
    if prefix in ABBREVIATIONS and name:
        source = ABBREVIATIONS[prefix].format(name)
    if not REMOTE_URL.match(source):
        return None
    url = urllib.parse.urlsplit(source.removeprefix("git+"))
    if "@" in url.netloc and url.scheme:
        user, _, host = url.netloc.rpartition("@")
        # An https user is a token; an ssh user (git@) is needed, its password is not.
        user = "" if url.scheme.startswith("http") else user.partition(":")[0]
        url = url._replace(netloc=f"{user}@{host}" if user else host)
    return url.geturl()


def checked_out_commit(template_dir: str) -> str | None:
    """The commit of the git checkout whose root is `template_dir`; None if it is not one.

    Cookiecutter passes the directory as it was typed, so a relative one is found from the
    shell's working directory (the hook itself runs in the project). A template copied
    into some other repository (a home directory kept in git) is not that repository's
    commit.
    """
    directory = Path(os.environ.get("PWD", "/"), template_dir) if template_dir else None
    if directory is None or not (directory / "cookiecutter.json").is_file():
        return None
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    try:
        root, commit = subprocess.run(
            ["git", "-C", directory, "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            env=environment,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None
    return commit if Path(root).resolve() == directory.resolve() else None


def template_source(answers: dict[str, object]) -> dict[str, object]:
    """The content of .cruft.json, as cruft writes it, for a project Cookiecutter rendered.

    A template rendered from a local clone is recorded at its declared public address.
    """
    remote = remote_address(str(answers.get("_template") or ""))
    template = remote or str(answers["_template_url"])
    commit = checked_out_commit(str(answers.get("_repo_dir") or ""))
    own = {key: value for key, value in answers.items() if not key.startswith("_")}
    return {
        "template": template,
        "commit": commit,
        "checkout": answers.get("_checkout") if remote else None,
        "context": {"cookiecutter": {**own, "_template": template, "_commit": commit}},
        "directory": None,
    }


def main() -> None:
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    for path in unselected_paths(answers):
        remove(path)
    # cruft renders with `_commit` set and writes .cruft.json itself; its update and diff
    # compare renders, which must not carry one.
    if "_commit" not in answers:
        text = json.dumps(template_source(answers), ensure_ascii=False, indent=2)
        Path(".cruft.json").write_text(text + "\n")


if __name__ == "__main__":
    main()

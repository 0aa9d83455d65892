"""A project as a user has it, and a template that moved on: shared by the update tests.

The project is generated from a throwaway git copy of the template (commit A), fetches
from that copy, is committed and changed as a user would; then the template gets a newer
commit (B).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from conftest import PROJECT_TEMPLATE, TEMPLATE_DIR, bake_from, commit_all, git, run, tree

SETTINGS = "my_project/settings/base.py"


def update_template(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the project's scripts/update-template with the cruft of these tests."""
    return run(
        [project / "scripts" / "update-template", *arguments],
        cwd=project,
        env={"CRUFT_PYTHON": sys.executable, "GITHUB_ACTIONS": None},
        check=False,
    )


def fetched_from(project: Path, template: Path) -> None:
    """Point .cruft.json at `template`, as a user does whose template lives elsewhere.

    Rendered from a local clone, a project records the declared public address, which
    the pre-generation hook insists is remote; these tests have no remote to offer.
    """
    state = json.loads((project / ".cruft.json").read_text())
    state["template"] = state["context"]["cookiecutter"]["_template"] = str(template)
    (project / ".cruft.json").write_text(json.dumps(state, indent=2) + "\n")


def generated(template: Path, output: Path, *answers: str) -> Path:
    """A project generated from `template` and fetching from it, committed."""
    project = bake_from(template, output, *answers)
    fetched_from(project, template)
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Generated from the template")
    return project


def files(project: Path) -> dict[str, tuple[bytes, int]]:
    """The project's files, without git's own and .cruft.json."""
    return {
        name: file
        for name, file in tree(project).items()
        if not name.startswith(".git/") and name != ".cruft.json"
    }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r}"
    path.write_text(text.replace(old, new))


def customise(project: Path) -> None:
    """What a user does in the first hour: an app, a URL, a task, a beat entry changed."""
    (project / "shop").mkdir()
    (project / "shop" / "__init__.py").write_text("")
    edit(project / SETTINGS, '    "base",\n]', '    "base",\n    "shop",\n]')
    edit(
        project / SETTINGS,
        '"schedule": crontab(hour=3, minute=30),',
        '"schedule": crontab(hour=3, minute=45),',
    )
    urls = project / "my_project" / "urls.py"
    edit(urls, "from django.urls", "from django.http import HttpResponse\nfrom django.urls")
    edit(
        urls,
        '    path("admin/", admin.site.urls),\n',
        '    path("admin/", admin.site.urls),\n'
        '    path("ping/", lambda request: HttpResponse("pong")),\n',
    )
    with (project / "base" / "tasks.py").open("a") as tasks:
        tasks.write(
            "\n\n@shared_task\n"
            "def archive_orders(before: str) -> str:\n"
            '    return f"archived before {before}"\n'
        )
    commit_all(project, "The project's own changes")


def move_the_template_on(template: Path) -> str:
    """Commit B: settings changed elsewhere, a file added (with a new option), one removed."""
    project_template = template / PROJECT_TEMPLATE
    edit(
        project_template / PROJECT_TEMPLATE / "settings" / "base.py",
        'LANGUAGE_CODE = "en-us"',
        'LANGUAGE_CODE = "en-gb"',
    )
    edit(
        template / "cookiecutter.json",
        '  "_template_url"',
        '  "license": "MIT",\n  "_template_url"',
    )
    (project_template / "LICENSE").write_text("{{ cookiecutter.license }} License\n")
    (project_template / "base" / "tests" / "test_webhooks.py").unlink()
    return commit_all(template, "A newer template")


# What Cookiecutter reads: the answers, the hooks, the project and its include directory.
TEMPLATE_PATHS = ["cookiecutter.json", "hooks", "templates", PROJECT_TEMPLATE]


def template_at(revision: str, destination: Path, message: str) -> str:
    """A git repository of the template as this repository holds it at `revision`."""
    archive = destination.parent / "template-before.tar"
    git(TEMPLATE_DIR, "archive", f"--output={archive}", revision, "--", *TEMPLATE_PATHS)
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    git(destination, "init", "--quiet", "--initial-branch=main")
    return commit_all(destination, message)


def template_before_adding(path: str, destination: Path, message: str) -> Path:
    """A git repository of the template as it was before the commit that added `path`
    (a path in the project template)."""
    added_file = f"{PROJECT_TEMPLATE}/{path}"
    added = git(TEMPLATE_DIR, "log", "--diff-filter=A", "--format=%H", "--", added_file).split()
    # Before the change is committed, the last commit is the template before it.
    before = f"{added[-1]}^" if added else "HEAD"
    template_at(before, destination, message)
    assert not (destination / added_file).exists()
    return destination


def take_the_working_tree(repository: Path) -> str:
    """Commit the template of this working tree over the old one: the newer template."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for path in TEMPLATE_PATHS:
        old, new = repository / path, TEMPLATE_DIR / path
        if new.is_dir():
            shutil.rmtree(old, ignore_errors=True)
            shutil.copytree(new, old, ignore=ignore)
        else:
            shutil.copy2(new, old)
    return commit_all(repository, "The template as in the working tree")

"""Fixtures shared by the test modules: baking, project virtualenvs, running commands."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tooling import projects

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PROJECT_TEMPLATE = "{{cookiecutter.project_slug}}"
# Where this machine's shells find the certificate authorities they trust (its proxy's):
# a user's minimal shell here carries them, for uv to reach PyPI.
TRUST = {name: os.environ[name] for name in ("SSL_CERT_FILE", "SSL_CERT_DIR") if name in os.environ}


# Minutes each, against real services: started first, so the quick tests fill the gaps.
SLOWEST_FIRST = (
    "test_integration.py",
    "test_production_path.py",
    "test_generated_ci.py",
    "test_browser.py",
    "test_readme_commands.py",
    "test_durable_brokers.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: Path(item.path).name not in SLOWEST_FIRST)


def run(
    command: list[str | Path],
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    check: bool = True,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run a command; with check, fail the test showing its output if it exits non-zero.

    `env` adds to this process's environment; a variable set to None is removed.
    """
    environment = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={name: value for name, value in environment.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and completed.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {completed.returncode}\n"
            f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}",
            pytrace=False,
        )
    return completed


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: relative path -> (bytes, permission bits)."""
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def cookiecutter_cli(
    output_dir: Path, *arguments: str | Path, template: Path = TEMPLATE_DIR, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real `cookiecutter` command without prompts, baking into `output_dir`."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", template, "-o", output_dir]
    return run(
        [*command, *arguments],
        cwd=output_dir,
        check=check,
    )


def bake_from(template: Path, output: Path, *answers: str) -> Path:
    """Bake `template` as checked out, with key=value answers, into `output`; return the project."""
    output.mkdir()
    cookiecutter_cli(output, *answers, template=template)
    [project] = output.iterdir()
    return project


def git(repository: Path, *arguments: str | Path) -> str:
    """Run git in `repository` with a fixed identity, so commits need no global config."""
    identity = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.com"]
    return run(["git", *identity, *arguments], cwd=repository).stdout


def commit_all(repository: Path, message: str) -> str:
    """Commit every change in `repository`; return the new commit's id."""
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", message)
    return git(repository, "rev-parse", "HEAD").strip()


def find_python(version: str) -> Path:
    """Return an interpreter for `version` (see projects.find_python); fail the test if none."""
    try:
        return projects.find_python(version)
    except projects.ProjectEnvironmentError as error:
        pytest.fail(str(error), pytrace=False)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_page(url: str, process: subprocess.Popen, timeout: float) -> int:
    """Poll url until it answers; return the HTTP status. Fails if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="session")
def bake(cookies_session) -> Callable[..., Path]:
    """Bake the template with these answers (the rest default); each answer set once."""
    baked: dict[tuple[tuple[str, str], ...], Path] = {}

    def bake_with(**answers: str) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in baked:
            result = cookies_session.bake(extra_context=answers)
            assert result.exception is None, result.exception
            assert result.exit_code == 0
            baked[key] = Path(result.project_path)
        return baked[key]

    return bake_with


@pytest.fixture(scope="session")
def project_python(tmp_path_factory, worker_id) -> Callable[[Path], Path]:
    """Return the Python of a virtualenv holding a rendered project's dependencies.

    tests/projects.py builds it; projects with the same dependencies and Python version
    share one virtualenv, across xdist workers too.
    """
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # The directory all xdist workers share.

    def python_for(project: Path) -> Path:
        try:
            return projects.project_python(project, shared / "venvs")
        except projects.ProjectEnvironmentError as error:
            pytest.fail(str(error), pytrace=False)

    return python_for


@pytest.fixture
def template_repository(tmp_path) -> Path:
    """A git repository holding the template as it is in this working tree, not its last commit.

    cruft and scripts/update-template clone templates with git; this one also takes the
    commits a test makes to stand for a newer template.
    """
    repository = tmp_path / "template"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(TEMPLATE_DIR / "hooks", repository / "hooks", ignore=ignore)
    shutil.copytree(TEMPLATE_DIR / "templates", repository / "templates", ignore=ignore)
    shutil.copytree(TEMPLATE_DIR / PROJECT_TEMPLATE, repository / PROJECT_TEMPLATE, ignore=ignore)
    shutil.copy2(TEMPLATE_DIR / "cookiecutter.json", repository)
    git(repository, "init", "--quiet", "--initial-branch=main")
    commit_all(repository, "The template as in the working tree")
    return repository

"""Virtualenvs for rendered projects, built by uv: shared by the tests and the benchmark.

A project's virtualenv holds the dependencies of its own pyproject.toml (with the dev
extra), for the Python version it requires. Projects with the same dependencies and
Python version share one virtualenv, keyed by the hash of both; uv's cache makes each
new one quick. Failures raise ProjectEnvironmentError, for the caller to report.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

UV = Path(sys.executable).parent / "uv"


class ProjectEnvironmentError(Exception):
    """An interpreter is missing, or building a virtualenv failed."""


def find_python(version: str) -> Path:
    """Return an interpreter for `version`: on PATH, or installed by pyenv."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "--version"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.startswith(f"Python {version}."):
            return Path(candidate)
    raise ProjectEnvironmentError(
        f"Python {version} is not installed (looked on PATH and under {pyenv_root})"
    )


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`, so processes (xdist workers, benchmarks) take turns."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def venv_key(project: Path) -> tuple[str, str]:
    """The project's Python version, and the hash naming its virtualenv."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    version = pyproject["project"]["requires-python"].removeprefix(">=")
    requirements = sorted(
        pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["dev"]
    )
    return version, hashlib.sha256("\n".join([version, *requirements]).encode()).hexdigest()[:16]


def lock(project: Path, uv: Path = UV) -> None:
    """Write the project's uv.lock, as its first scripts/install does."""
    _run([uv, "lock", "--quiet", "--python", find_python(venv_key(project)[0])], project)


def _run(command: list[str | Path], cwd: Path) -> None:
    completed = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise ProjectEnvironmentError(
            f"{' '.join(map(str, command))} exited {completed.returncode}\n"
            f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"
        )


def project_python(project: Path, venvs: Path, uv: Path = UV) -> Path:
    """Return the Python of the virtualenv under `venvs` holding `project`'s dependencies.

    Built on first use, under a lock, so concurrent callers build it once; a virtualenv
    whose build did not finish is built again.
    """
    venvs.mkdir(parents=True, exist_ok=True)
    version, key = venv_key(project)
    venv = venvs / key
    with locked(venvs / f"{key}.lock"):
        if not (venv / "complete").exists():
            interpreter = find_python(version)
            _run([uv, "venv", "--quiet", "--clear", "--python", interpreter, venv], project)
            python = venv / "bin" / "python"
            install = [uv, "pip", "install", "--quiet", "--python", python]
            _run([*install, "--requirements", "pyproject.toml", "--extra", "dev"], project)
            (venv / "complete").touch()
    return venv / "bin" / "python"

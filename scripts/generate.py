"""Generate a project with Cookiecutter, then hand over to the project's scripts/start.

Usage: scripts/generate [--generate-only] [Cookiecutter's options] [key=value ...]
--generate-only stops after generating; everything else is Cookiecutter's own command line.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import cookiecutter.main
from cookiecutter.cli import main as cookiecutter_cli
from cookiecutter.exceptions import CookiecutterException, FailedHookException


def pyenv_root() -> Path:
    """Where pyenv keeps its interpreters, as pyenv itself decides."""
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def find_python(version: str) -> str | None:
    """Return an interpreter the project's scripts/install accepts for `version`, or None.

    PYTHON if set; else pythonX.Y on PATH, then pyenv's X.Y.* (pyenv's shim for a version
    it has not selected fails, yet the interpreter is there), then python3 if new enough.
    """
    if os.environ.get("PYTHON"):
        candidates = [os.environ["PYTHON"]]
    else:
        candidates = [
            shutil.which(f"python{version}"),
            *sorted(pyenv_root().glob(f"versions/{version}.*/bin/python{version}")),
            shutil.which("python3"),
        ]
    minimum = tuple(int(part) for part in version.split("."))
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", f"import sys; sys.exit(sys.version_info < {minimum})"],
                capture_output=True,
            )
        except OSError:
            continue
        if probe.returncode == 0:
            return str(candidate)
    return None


def missing_python(version: str) -> str:
    """The one line that says which Python is missing, and the ways out."""
    where = (
        f"PYTHON={os.environ['PYTHON']} is not"
        if os.environ.get("PYTHON")
        else f"none is on PATH or under {pyenv_root() / 'versions'}"
    )
    return (
        f"error: python_version {version} needs Python {version} or newer, and {where}; "
        f"set PYTHON=/path/to/python{version} or answer another python_version"
    )


def main(template: str, argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):
        print(__doc__)
    generate_only = "--generate-only" in argv
    project: Path | None = None
    python: str | None = None
    generate_files = cookiecutter.main.generate_files

    def check_python_then_generate_files(**options: Any) -> str:
        """Find the project's Python once all answers are known, before anything is written."""
        nonlocal project, python
        version = options["context"]["cookiecutter"]["python_version"]
        # With --generate-only the project is not started here (it may be for another
        # machine or an image), so a missing interpreter is not this run's problem.
        if not generate_only:
            python = find_python(version)
            if python is None:
                print(missing_python(version), file=sys.stderr)
                raise SystemExit(1)
        try:
            project = Path(generate_files(**options))
        except FailedHookException:
            raise SystemExit(1) from None  # The hook has printed which answer it refused.
        return str(project)

    # Cookiecutter parses the command line itself, so every flag it has works here as it
    # does there (-f, --replay, --config-file, ...). Its API has no step between the
    # answers and the files, so the Python check wraps the function that writes them.
    cookiecutter.main.generate_files = check_python_then_generate_files
    # Cookiecutter logs the hook's traceback too; the hook's own line says it all.
    logging.getLogger("cookiecutter.hooks").disabled = True
    try:
        cookiecutter_cli.main(
            [template, *(argument for argument in argv if argument != "--generate-only")],
            prog_name="scripts/generate",
            standalone_mode=False,
        )
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        print("Aborted!", file=sys.stderr)
        return 1
    except (CookiecutterException, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if project is None:
        return 0  # --help or --version.

    print(f"Generated {project}", flush=True)
    if generate_only:
        return 0
    start = project / "scripts" / "start"
    # The project's scripts/install creates its .venv with PYTHON.
    os.execve(start, [str(start)], {**os.environ, "PYTHON": python})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))

"""scripts/generate on a machine without the chosen Python, run as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import TEMPLATE_DIR, find_python, run

GENERATE = TEMPLATE_DIR / "scripts" / "generate"


def real_python(version: str) -> str:
    """The interpreter itself, not a pyenv shim, which needs pyenv on PATH."""
    command = [find_python(version), "-c", "import sys; print(sys.executable)"]
    return run(command, cwd=TEMPLATE_DIR).stdout.strip()


@pytest.fixture
def only_python_311(tmp_path: Path) -> dict[str, str | None]:
    """An environment whose PATH has Python 3.11 as python3, the shell tools, no pyenv."""
    # The template's own .venv is installed first, with this environment, so that it is
    # never built from the interpreter in this temporary directory.
    run([TEMPLATE_DIR / "scripts" / "install"], cwd=TEMPLATE_DIR)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "cmp", "cp"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    for name in ("python3", "python3.11"):
        (bin_dir / name).symlink_to(real_python("3.11"))
    return {"PATH": str(bin_dir), "PYENV_ROOT": str(tmp_path / "pyenv"), "PYTHON": None}


def generate(
    output: Path, env: dict[str, str | None], *arguments: str
) -> subprocess.CompletedProcess[str]:
    """Run scripts/generate without prompts into `output`, in the environment `env`."""
    output.mkdir(exist_ok=True)
    return run([GENERATE, "--no-input", "-o", output, *arguments], cwd=output, env=env, check=False)


def test_a_missing_python_stops_before_anything_is_written(tmp_path, only_python_311) -> None:
    completed = generate(tmp_path / "out", only_python_311)

    assert completed.returncode == 1
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith("error: python_version 3.12 needs Python 3.12 or newer")
    assert "PYTHON=/path/to/python3.12" in completed.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_generate_only_needs_no_python_and_overwrite_if_exists_is_cookiecutters(
    tmp_path, only_python_311
) -> None:
    output = tmp_path / "out"
    first = generate(output, only_python_311, "--generate-only")
    again = generate(output, only_python_311, "--generate-only")
    overwritten = generate(output, only_python_311, "--generate-only", "--overwrite-if-exists")

    assert first.returncode == 0, first.stderr
    assert (output / "my_project" / "pyproject.toml").is_file()
    assert again.returncode == 1
    assert "already exists" in again.stdout + again.stderr
    assert overwritten.returncode == 0, overwritten.stderr
    assert overwritten.stdout == f"Generated {output / 'my_project'}\n"


def test_a_bad_answer_still_gives_the_hooks_one_line(tmp_path, only_python_311) -> None:
    completed = generate(tmp_path / "out", only_python_311, "python_version=3.11", "author_email=x")

    assert completed.returncode == 1
    assert (
        completed.stderr
        == "error: author_email 'x' is not an email address such as you@example.com\n"
    )
    assert list((tmp_path / "out").iterdir()) == []


def test_a_python_found_under_pyenv_is_handed_to_the_project(tmp_path, only_python_311) -> None:
    # pyenv's shims are not on PATH: the interpreter is only in pyenv's versions directory.
    # It stands in for Python 3.12, and records how the project's scripts/install calls it.
    interpreter = tmp_path / "pyenv" / "versions" / "3.12.99" / "bin" / "python3.12"
    interpreter.parent.mkdir(parents=True)
    calls = tmp_path / "calls"
    interpreter.write_text(
        "#!/bin/bash\n"
        f'[[ $1 == -m ]] && {{ echo "$*" >> {calls}; exit 3; }}\n'
        f'exec {real_python("3.12")} "$@"\n'
    )
    interpreter.chmod(0o755)

    completed = generate(tmp_path / "out", only_python_311)

    # Stopped on purpose where scripts/install creates the project's .venv with it.
    assert completed.returncode == 3, completed.stderr
    assert calls.read_text() == "-m venv .venv\n"


def test_generating_installs_cookiecutter_alone(tmp_path) -> None:
    """A fresh checkout renders with Cookiecutter only: the test tools wait for scripts/test."""
    template = tmp_path / "template"
    shutil.copytree(
        TEMPLATE_DIR,
        template,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "test-artifacts", ".benchmark-cache"
        ),
    )
    output = tmp_path / "out"
    output.mkdir()

    run([template / "scripts" / "generate", "--generate-only", "--no-input", "-o", output], output)

    assert (output / "my_project" / "manage.py").is_file()
    installed = {path.name for path in (template / ".venv" / "bin").iterdir()}
    assert "cookiecutter" in installed
    assert not {"pytest", "ruff", "hadolint", "cruft", "check-jsonschema"} & installed

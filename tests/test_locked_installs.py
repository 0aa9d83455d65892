"""Installs come from uv.lock: the first scripts/install writes it, every later install
takes exactly its versions (scripts/install, CI's steps, the Docker build), and the
README's commands for adding and upgrading dependencies work as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import rehearsal
from conftest import TRUST, find_python, run
from tooling.projects import UV, lock, venv_key

# A dependency the project does not have, not even indirectly.
ADDED = '    "tblib>=3,<4",\n    "tabulate>=0.9,<1",\n'


def shell_for(project: Path) -> dict[str, str]:
    """A new user's shell: the project's Python version first on PATH, a HOME."""
    python = find_python(venv_key(project)[0])
    return {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": os.environ["HOME"], **TRUST}


def install(project: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    installed = subprocess.run(
        [project / "scripts" / "install"],
        cwd=project,
        env=shell_for(project),
        capture_output=True,
        text=True,
    )
    if check:
        assert installed.returncode == 0, installed.stdout + installed.stderr
    return installed


def locked_versions(project: Path) -> dict[str, str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


def installed_versions(python: Path) -> dict[str, str]:
    """What a virtualenv holds, by normalised name, the project itself left out."""
    listed = [UV, "pip", "list", "--python", python, "--format=freeze", "--exclude-editable"]
    frozen = run(listed, cwd=python.parent)
    pairs = (line.split("==") for line in frozen.stdout.splitlines())
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under `directory`, with its size and modification time."""
    return {
        str(path.relative_to(directory)): (path.lstat().st_size, path.lstat().st_mtime_ns)
        for path in directory.rglob("*")
    }


def test_the_first_install_writes_the_lock_later_ones_install_it_or_refuse(bake, tmp_path) -> None:
    project = Path(shutil.copytree(bake(), tmp_path / "my_project"))

    first = install(project)
    assert first.stdout == "Wrote uv.lock, the exact version of every dependency: commit it.\n"
    locked = locked_versions(project)
    installed = installed_versions(project / ".venv" / "bin" / "python")
    # pip and setuptools come with the venv; everything else is the lock's, at its version.
    unlocked = {name: v for name, v in installed.items() if locked.get(name) != v}
    assert set(unlocked) <= {"pip", "setuptools"}, unlocked
    assert {"celery", "django", "pytest", "uv"} <= set(installed)

    lock, venv = (project / "uv.lock").read_bytes(), snapshot(project / ".venv")
    second = install(project)
    assert (second.stdout, second.stderr) == ("", "")
    assert (project / "uv.lock").read_bytes() == lock
    assert snapshot(project / ".venv") == venv

    # A dependency added to pyproject.toml: refused until locked, as the README says.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "tblib>=3,<4",\n', ADDED))
    refused = install(project, check=False)
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: pyproject.toml changed since uv.lock was written: run .venv/bin/uv lock "
        "(it keeps every other version), then commit uv.lock\n"
    )
    assert snapshot(project / ".venv") == venv

    # The README's two blocks, as written: lock what changed, then upgrade.
    readme = (project / "README.md").read_text()
    added, upgrade = rehearsal.readme_blocks(readme, "Dependencies")
    for line, _ in rehearsal.console_commands(added[1]):
        rehearsal.run_to_end(line, shell_for(project), project)
    after = locked_versions(project)
    assert {name: after[name] for name in locked} == locked  # Every other version stayed.
    assert "tabulate" in installed_versions(project / ".venv" / "bin" / "python")

    for line, _ in rehearsal.console_commands(upgrade[1]):
        rehearsal.run_to_end(line, shell_for(project), project)
    assert install(project).stdout == ""


def test_the_docker_build_installs_the_lock_and_refuses_a_stale_one(bake, tmp_path) -> None:
    project = Path(shutil.copytree(bake(), tmp_path / "my_project"))
    lock(project)
    dockerfile = project / "Dockerfile"
    stage = rehearsal.Dockerfile.read(dockerfile, "build")
    # The build's uv is the lock's.
    [pinned] = re.findall(r"pip install --no-cache-dir uv==(\S+)", dockerfile.read_text())
    assert pinned == locked_versions(project)["uv"]

    # The stage's steps, as written, in a copy of what it copies (pyproject.toml and
    # uv.lock into its WORKDIR), with /venv in the test's directory and uv on PATH.
    build = tmp_path / "build"
    build.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(project / name, build)
    paths = rehearsal.Paths({"/venv": tmp_path / "venv", stage.workdir: build})
    shell = shell_for(project)
    shell["PATH"] = f"{UV.parent}:{shell['PATH']}"  # The lock's uv, as pip would install.
    for step in stage.runs:
        rehearsal.run_to_end(paths(step), shell, build)

    image = installed_versions(tmp_path / "venv" / "bin" / "python")
    locked = locked_versions(project)
    assert {name: locked[name] for name in image} == image
    assert "celery" in image and "pytest" not in image  # The dev extra stays out.
    # Compiled at build time: the image's user cannot write bytecode into /venv.
    assert rehearsal.bytecode_compiled(tmp_path / "venv")

    # pyproject.toml changed without uv.lock: the build fails.
    pyproject = build / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "tblib>=3,<4",\n', ADDED))
    failed = subprocess.run(
        ["bash", "-c", paths(stage.runs[-1])], cwd=build, env=shell, capture_output=True, text=True
    )
    assert failed.returncode != 0
    assert "needs to be updated" in failed.stderr

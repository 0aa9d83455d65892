"""The generated project's CI passes on its first push: its jobs' steps, run as written.

There is no GitHub runner here: each job runs in a fresh clone of a freshly generated
project, its `run:` steps in order with the job's environment, the interpreter that
actions/setup-python would install first on PATH, and the job's service containers
replaced by the test's own PostgreSQL, Redis and RabbitMQ. On the first push the
template-update job cannot reach the template's placeholder address, and says so without
failing; a project customised from a reachable template is checked on its own.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

import rehearsal
from conftest import TRUST, commit_all, find_python, git
from tooling import projects
from tooling.services import postgres_database, rabbitmq_vhost, redis_database
from upgrading import customise, generated, move_the_template_on


def own_service(url: str, stack: ExitStack) -> str:
    """The test's own isolated service for a URL that names a job's service container."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme.startswith("postgres"):
        return stack.enter_context(postgres_database("ci"))
    if scheme == "redis":
        return stack.enter_context(redis_database())
    if scheme == "amqp":
        return stack.enter_context(rabbitmq_vhost("ci"))
    return url


def workflow_of(project: Path) -> dict:
    return yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())


def run_job(workflow: dict, name: str, clone: Path) -> list[str]:
    """Run the job's `run:` steps in `clone` as a runner would; return what each printed."""
    job = workflow["jobs"][name]
    version = next(
        step["with"]["python-version"]
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/setup-python")
    )
    printed = []
    with ExitStack() as stack:
        env = {
            "PATH": f"{find_python(version).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ["HOME"],  # pip's cache, as a runner's cache action keeps.
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            **TRUST,  # This machine's network, not a runner's.
        }
        for key, value in (job.get("env") or {}).items():
            env[key] = own_service(str(value), stack) if "://" in str(value) else str(value)
        for step in job["steps"]:
            if "run" in step:
                done = rehearsal.run_to_end(step["run"], env, clone, timeout=900)
                printed.append(done.stdout + done.stderr)
    return printed


# The generated workflow's jobs, each its own test so that they run side by side.
JOBS = ["lint-and-unit-tests", "integration-tests", "template-update"]


def test_the_workflow_has_these_jobs(bake) -> None:
    assert list(workflow_of(bake())["jobs"]) == JOBS


@pytest.mark.parametrize("name", JOBS)
def test_each_job_passes_in_a_clean_clone_on_the_first_push(bake, tmp_path: Path, name) -> None:
    project = Path(shutil.copytree(bake(), tmp_path / "generated"))
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Generated from the template")  # The user's first push.
    clone = tmp_path / name
    git(tmp_path, "clone", "--quiet", project, clone)

    printed = run_job(workflow_of(clone), name, clone)

    if name == "template-update":
        # Here, out of reach: the placeholder address (there is no network).
        said = printed[-1]
        assert "cannot check for template updates: " in said or "Up to date: " in said, said


def test_the_template_update_job_passes_on_a_customised_project_and_tells_of_a_newer_template(
    template_repository, tmp_path: Path
) -> None:
    project = generated(template_repository, tmp_path / "generated")
    customise(project)
    # Committed with the rest, as its first scripts/install wrote it.
    projects.lock(project)
    commit_all(project, "uv.lock")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--depth=1", f"file://{project}", clone)
    workflow = workflow_of(clone)

    at_the_same_commit = run_job(workflow, "template-update", clone)[-1]
    move_the_template_on(template_repository)
    # The same job again, the template having moved on; the clone keeps its .venv, as a
    # runner's cache would.
    after_a_newer_commit = run_job(workflow, "template-update", clone)[-1]

    assert at_the_same_commit.startswith("Up to date: the template ("), at_the_same_commit
    assert "Template update available: the template (" in after_a_newer_commit
    assert "It merges cleanly with this project's changes" in after_a_newer_commit
    assert "::notice title=Template update available::It merges cleanly" in after_a_newer_commit
    assert git(clone, "status", "--porcelain") == ""


def test_gitlab_runs_the_same_steps(bake) -> None:
    github = {
        name: [step["run"] for step in job["steps"] if "run" in step]
        for name, job in workflow_of(bake())["jobs"].items()
    }
    gitlab = yaml.safe_load((bake(ci="gitlab") / ".gitlab-ci.yml").read_text())

    # GitLab installs in every job's before_script; GitHub, in a step of each job.
    assert gitlab["default"]["before_script"] == ["scripts/install"]
    installed = {name: steps[1:] for name, steps in github.items() if steps[0] == "scripts/install"}
    lint_and_unit_tests = gitlab["lint"]["script"] + gitlab["unit-tests"]["script"]
    assert lint_and_unit_tests == installed["lint-and-unit-tests"]
    assert gitlab["integration-tests"]["script"] == installed["integration-tests"]
    assert gitlab["template-update"]["script"] == github["template-update"]

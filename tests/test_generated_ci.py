"""The generated project's CI passes on its first push: its jobs' steps, run as written.

There is no GitHub runner here: each job runs in a fresh clone of a freshly generated
project, its `run:` steps in order with the job's environment, the interpreter that
actions/setup-python would install first on PATH, and the job's service containers
replaced by the test's own PostgreSQL, Redis and RabbitMQ.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import yaml

import rehearsal
from conftest import commit_all, find_python, git
from tooling.services import postgres_database, rabbitmq_vhost, redis_database

# The job that compares the project with the template at a pinned ref needs the
# template's public URL, which this project does not have yet (see the closing note of
# the production-path issue); every other job runs.
NOT_RUN_HERE = {"template-drift"}


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


def test_every_job_passes_in_a_clean_clone(bake, tmp_path: Path) -> None:
    generated = Path(shutil.copytree(bake(), tmp_path / "generated"))
    git(generated, "init", "--quiet", "--initial-branch=main")
    commit_all(generated, "Generated from the template")  # The user's first push.
    workflow = yaml.safe_load((generated / ".github" / "workflows" / "ci.yml").read_text())
    version = next(
        step["with"]["python-version"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/setup-python")
    )
    python_bin = find_python(version).parent

    for name, job in workflow["jobs"].items():
        if name in NOT_RUN_HERE:
            continue
        clone = tmp_path / name
        git(tmp_path, "clone", "--quiet", generated, clone)
        with ExitStack() as stack:
            env = {
                "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
                "HOME": os.environ["HOME"],  # pip's cache, as a runner's cache action keeps.
                "CI": "true",
            }
            for key, value in (job.get("env") or {}).items():
                env[key] = own_service(str(value), stack) if "://" in str(value) else str(value)
            for step in job["steps"]:
                if "run" in step:
                    rehearsal.run_to_end(step["run"], env, clone, timeout=900)

"""Deploy and CI files: real linters and schemas, on every rendered variant that has the file.

This machine has no Docker engine, so nothing here builds an image or starts a container.
hadolint lints the Dockerfile; check-jsonschema checks compose.yaml against the Compose
Specification and the CI files against GitHub's and GitLab's schemas; shellcheck reads the
shell scripts; systemd-analyze verifies the units. Each must find nothing. actionlint
would check the workflow more deeply, but its PyPI package downloads its binary when it
installs, which this machine's network does not allow. Where a schema cannot see a promise
(health checks, start order, a single beat), the tests read the files themselves.
"""

from __future__ import annotations

import functools
import itertools
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from conftest import TEMPLATE_DIR, VENV_BIN, run
from tooling.options import COMBINATIONS, ONE_AT_A_TIME, label, resolved

ALL_VARIANTS = COMBINATIONS + ONE_AT_A_TIME
DOCKER = [answers for answers in ALL_VARIANTS if resolved(answers)["use_docker"]]
GITHUB = [answers for answers in ALL_VARIANTS if resolved(answers)["ci"] == "github"]
GITLAB = [answers for answers in ALL_VARIANTS if resolved(answers)["ci"] == "gitlab"]
SLUG = "my_project"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")  # Debian's systemd package installs them here.


def every(variants: list[dict[str, str]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("answers", variants, ids=map(label, variants))


def check_jsonschema(schema: str, path: Path) -> None:
    run([VENV_BIN / "check-jsonschema", "--builtin-schema", schema, path], cwd=path.parent)


class Limits(NamedTuple):
    """Seconds: the hard time limit the project's Celery app gives a task by default, and
    how long a stopping worker lets its tasks run before it hands them back."""

    hard_time_limit: int
    stop_timeout: int


# What a stopping worker needs after its stop timeout to cancel its tasks, hand them
# back and exit: about 2 s measured; the grace periods leave a minute.
HAND_BACK_SECONDS = 30


@functools.cache
def default_limits(project: Path, python: Path) -> Limits:
    """The limits as the project's own code reads them with nothing overriding them (one
    interpreter per project: the compose, systemd and Kubernetes tests all ask)."""
    answer = run(
        [
            python,
            "-c",
            f"from {SLUG}.celery import app; from django.conf import settings;"
            "print(app.conf.task_time_limit, settings.WORKER_STOP_TIMEOUT)",
        ],
        cwd=project,
        env={
            "DJANGO_SETTINGS_MODULE": f"{SLUG}.settings.dev",
            "CELERY_BROKER_URL": None,
            "CELERY_TASK_TIME_LIMIT": None,
            "CELERY_WORKER_STOP_TIMEOUT": None,
        },
    )
    return Limits(*map(int, answer.stdout.split()))


def seconds(duration: str) -> int:
    """Seconds in a Compose duration such as 1h30m or 90s."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.fullmatch(r"((\d+)h)?((\d+)m)?((\d+)s)?", duration)
    assert parts and duration, f"unexpected duration {duration!r}"
    return sum(
        int(parts.group(i)) * units[parts.group(i - 1)[-1]] for i in (2, 4, 6) if parts.group(i)
    )


@every(DOCKER)
def test_hadolint_finds_nothing_in_the_dockerfile(bake, answers) -> None:
    project = bake(**answers)

    linted = run([VENV_BIN / "hadolint", "Dockerfile"], cwd=project)

    assert linted.stdout == ""


@every(DOCKER)
def test_the_image_runs_unprivileged_with_a_health_check_and_no_secret(bake, answers) -> None:
    dockerfile = (bake(**answers) / "Dockerfile").read_text()

    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert 'CMD ["python", "-m", "infrastructure.health", "web-alive"]' in dockerfile
    # collectstatic's placeholders, on its RUN line: never a value in the image's ENV.
    for _name, value in re.findall(r"(\w*(?:SECRET|PASSWORD)\w*)=(\S*)", dockerfile):
        assert value == "collectstatic"
    assert ".env" in (bake(**answers) / ".dockerignore").read_text().splitlines()


@every(DOCKER)
def test_the_compose_file_follows_the_compose_specification(bake, answers) -> None:
    check_jsonschema("vendor.compose-spec", bake(**answers) / "compose.yaml")


@every(DOCKER)
def test_the_compose_file_checks_health_and_starts_in_order(bake, project_python, answers) -> None:
    project = bake(**answers)
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    chosen = resolved(answers)
    python = project_python(project)
    probes = []

    expected = {"postgres", "migrate", "web", "worker", "worker-slow", "beat", chosen["broker"]}
    if chosen["result_backend"] == "redis":
        expected.add("redis")
    if chosen["use_flower"]:
        expected.add("flower")
    assert set(services) == expected
    for name, service in services.items():
        if name == "migrate":  # One-shot: the others wait for it to complete instead.
            assert service["healthcheck"] == {"disable": True}
            assert service["restart"] == "no"
            continue
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", name
        if "infrastructure.health" in test:
            assert test[1:4] == ["python", "-m", "infrastructure.health"], name
            probes += itertools.takewhile(lambda word: not word.startswith("--"), test[4:])
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert condition == {"condition": wanted}, f"{name} -> {dependency}"
    for name in ("web", "worker", "worker-slow", "beat"):
        assert "migrate" in services[name]["depends_on"], name
    # Each queue has workers of its own, the same but for the queue and the node's name.
    worker, slow = services["worker"], services["worker-slow"]
    assert worker["command"][4:] == ["--queues=celery", "--loglevel=INFO"]
    assert slow["command"][4:] == ["--queues=slow", "--hostname=slow@%h", "--loglevel=INFO"]
    assert slow["healthcheck"]["test"] == [*worker["healthcheck"]["test"], "--node", "slow@%h"]
    differ = {"command": None, "healthcheck": None}
    assert {**slow, **differ} == {**worker, **differ}
    assert {**slow["healthcheck"], "test": None} == {**worker["healthcheck"], "test": None}
    assert [name for name, service in services.items() if "beat" in service.get("command", [])] == [
        "beat"
    ]
    assert "deploy" not in services["beat"]
    assert "CELERY_WORKER_CONCURRENCY" in services["worker"]["environment"]
    grace = seconds(services["worker"]["stop_grace_period"])
    limits = default_limits(project, python)
    assert grace > limits.hard_time_limit
    assert grace >= limits.stop_timeout + HAND_BACK_SECONDS
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} publicly"
    # The project's own health command takes every probe the health checks name: each
    # reports, passing or (with nothing running here) failing, and none is refused.
    probed = run(
        [python, "-m", "infrastructure.health", *probes, "--timeout", "0.2"],
        cwd=project,
        env={"DJANGO_SETTINGS_MODULE": f"{SLUG}.settings.dev", "CELERY_BROKER_URL": None},
        check=False,
    )
    assert probed.returncode in (0, 1), probed.stderr
    reported = re.findall(r"^([\w-]+): ", probed.stdout + probed.stderr, re.MULTILINE)
    assert sorted(reported) == sorted(probes)


@every(DOCKER)
def test_the_compose_env_example_lists_what_compose_reads(bake, answers) -> None:
    project = bake(**answers)
    compose = (project / "compose.yaml").read_text()
    example = (project / ".env.compose.example").read_text()

    read = set(re.findall(r"\$\{(\w+)", compose))
    listed = set(re.findall(r"^(\w+)=", example, re.MULTILINE))

    assert read == listed
    for volume in yaml.safe_load(compose)["volumes"]:
        assert f"- {volume}:" in compose, f"volume {volume} is declared but not used"


@every(ALL_VARIANTS)
def test_the_native_env_example_points_at_this_machine(bake, answers) -> None:
    example = (bake(**answers) / ".env.example").read_text()

    assert not re.search(r"//(\w+(:\w*)?@)?(redis|rabbitmq|postgres)[:/]", example)


@every(GITHUB)
def test_the_github_workflow_follows_its_schema(bake, answers) -> None:
    workflow = bake(**answers) / ".github" / "workflows" / "ci.yml"

    check_jsonschema("vendor.github-workflows", workflow)
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    setups = [step for job in jobs.values() for step in job["steps"] if "with" in step]
    assert {step["with"]["python-version"] for step in setups} == {
        resolved(answers)["python_version"]
    }


@every(GITLAB)
def test_the_gitlab_ci_file_follows_its_schema(bake, answers) -> None:
    pipeline = bake(**answers) / ".gitlab-ci.yml"

    check_jsonschema("vendor.gitlab-ci", pipeline)
    image = yaml.safe_load(pipeline.read_text())["default"]["image"]
    assert image == f"python:{resolved(answers)['python_version']}-bookworm"


def shell_scripts(directory: Path) -> list[Path]:
    """The files in `directory` that start with a shell's shebang."""
    return [
        path
        for path in sorted(directory.iterdir())
        if path.read_bytes().startswith((b"#!/usr/bin/env bash", b"#!/bin/sh"))
    ]


@every(ALL_VARIANTS)
def test_shellcheck_finds_nothing_in_the_project_scripts(bake, answers) -> None:
    project = bake(**answers)

    run([VENV_BIN / "shellcheck", *shell_scripts(project / "scripts")], cwd=project)


def test_shellcheck_finds_nothing_in_the_template_scripts() -> None:
    scripts = [*shell_scripts(TEMPLATE_DIR / "scripts"), TEMPLATE_DIR / ".ci" / "run"]

    run([VENV_BIN / "shellcheck", *scripts], cwd=TEMPLATE_DIR)


# The queues of the README's `systemctl enable` line: celery-worker@<queue> each.
WORKER_QUEUES = ["celery", "slow"]


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail(
            "systemd-analyze is missing: install Debian's systemd package "
            "(scripts/test does, when run as root)",
            pytrace=False,
        )
    return found


@every(ALL_VARIANTS)
def test_systemd_analyze_verifies_the_units(bake, project_python, answers, tmp_path) -> None:
    project = bake(**answers)
    units = sorted((project / "deploy" / "systemd").glob("*.service"))
    # An image of the target host: the system's own units, the project's units, and the
    # celery the units run, from a virtualenv of the project's dependencies.
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    for unit in units:
        shutil.copy(unit, root / "etc" / "systemd" / "system")
    venv_bin = root / "srv" / SLUG / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for command in ("celery", "gunicorn", "python"):
        shutil.copy(project_python(project).parent / command, venv_bin)

    # A template unit is verified as the instances the README enables.
    names = [
        name.replace("@.", f"@{instance}.") if "@." in name else name
        for name in (unit.name for unit in units)
        for instance in (WORKER_QUEUES if "@." in name else [""])
    ]
    verified = run([systemd_analyze(), "verify", f"--root={root}", *names], cwd=project)

    assert verified.stdout + verified.stderr == ""
    assert [unit.name for unit in units] == sorted(
        ["celery-beat.service", "celery-worker@.service", "migrate.service", "web.service"]
        + (["celery-flower.service"] if resolved(answers)["use_flower"] else [])
    )


@every(ALL_VARIANTS)
def test_the_worker_unit_lets_a_running_task_finish(bake, project_python, answers) -> None:
    project = bake(**answers)
    worker = (project / "deploy" / "systemd" / "celery-worker@.service").read_text()

    settings = dict(re.findall(r"^(\w+)=(.*)$", worker, re.MULTILINE))
    assert settings["KillSignal"] == "SIGTERM"
    assert settings["KillMode"] == "mixed"
    python = project_python(project)
    limits = default_limits(project, python)
    assert int(settings["TimeoutStopSec"]) > limits.hard_time_limit
    assert int(settings["TimeoutStopSec"]) >= limits.stop_timeout + HAND_BACK_SECONDS
    assert settings["User"] == SLUG
    assert settings["EnvironmentFile"] == f"/etc/{SLUG}/environment"
    assert f"--pidfile=/run/{SLUG}/" in worker
    assert f"--logfile=/var/log/{SLUG}/" in worker
    assert settings["Restart"] == "always"

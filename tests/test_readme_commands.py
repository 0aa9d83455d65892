"""The READMEs' commands, run as a new user runs them, in a minimal environment.

The template's: generate and start, then test. The generated project's: its eager-mode
one-liner, then its "Running with a broker" section as written (the broker set in .env,
web, worker, beat and Flower each started with its own line), and its test command with
a broker exported, which must still run every unit test.
"""

from __future__ import annotations

import os
import re
from contextlib import ExitStack
from pathlib import Path

import rehearsal
from conftest import (
    TEMPLATE_DIR,
    TRUST,
    commit_all,
    find_python,
    free_port,
    git,
    run,
    wait_for_page,
)
from tooling.processes import background
from tooling.services import redis_database
from upgrading import fetched_from

README_REDIS = "redis://localhost:6379/0"


def minimal_environment(home: Path, **variables: str) -> dict[str, str]:
    """What a new user's shell has: a PATH without the project, a HOME, what they set."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), **TRUST, **variables}


def test_generate_starts_the_project_and_its_test_and_template_check_commands_pass(
    tmp_path: Path,
) -> None:
    template = tmp_path / "template"
    git(tmp_path, "clone", "--quiet", TEMPLATE_DIR, template)
    port = free_port()
    environment = {
        **os.environ,
        "PYTHON": str(find_python("3.12")),
        "PORT": str(port),
        "CELERY_BROKER_URL": "",
        "DATABASE_URL": "",
    }
    log = tmp_path / "generate.log"
    with background(
        [TEMPLATE_DIR / "scripts" / "generate", "--no-input", "-o", tmp_path],
        cwd=tmp_path,
        env=environment,
        log=log,
    ) as generate:
        status = wait_for_page(f"http://127.0.0.1:{port}/admin/login/", generate, timeout=300)
    output = log.read_text()

    assert status == 200, output
    assert "tasks run inline" in output

    project = tmp_path / "my_project"
    tested = run([project / "scripts" / "test", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert " passed" in tested.stdout

    # The template check, with the cruft that the dev extra put in .venv, the project
    # committed and fetching from a clone of this repository.
    fetched_from(project, template)
    git(project, "init", "--quiet")
    commit_all(project, "Generated")
    checked = run(
        [project / "scripts" / "update-template", "--check"],
        cwd=project,
        env={"CRUFT_PYTHON": None, "GITHUB_ACTIONS": None},
    )
    assert checked.stdout.startswith("Up to date: "), checked.stdout + checked.stderr

    walk_the_broker_section(project, tmp_path)


def walk_the_broker_section(project: Path, tmp_path: Path) -> None:
    readme = (project / "README.md").read_text()
    home = tmp_path / "home"
    home.mkdir()
    shell = minimal_environment(home)

    # Without a broker: the eager one-liner prints what the README shows.
    [[(line, shown)]] = [
        rehearsal.console_commands(block)
        for language, block in rehearsal.readme_blocks(readme, "Tasks without a broker")
        if language == "console"
    ]
    assert rehearsal.run_to_end(line, shell, project).stdout.endswith(shown)

    with ExitStack() as stack:
        broker = stack.enter_context(redis_database())
        [dotenv, servers, one_liner, *_] = rehearsal.readme_blocks(readme, "Running with a broker")
        assert dotenv[0] == "dotenv"
        settings = dict(line.split("=", 1) for line in dotenv[1].splitlines())
        env_file = project / ".env"
        lines = [
            f"{key}={settings[key].replace(README_REDIS, broker)}" if key in settings else line
            for line in env_file.read_text().splitlines()
            for key in [line.split("=", 1)[0]]
        ]
        env_file.write_text("\n".join(lines) + "\n")

        web_port, flower_port = free_port(), free_port()
        ready = {
            "web": lambda process: wait_for_page(
                f"http://127.0.0.1:{web_port}/admin/login/", process, timeout=120
            ),
            "worker": lambda process: wait_for_log(log_of["worker"], r" ready\.", process),
            "beat": lambda process: wait_for_log(log_of["beat"], r"beat: Starting", process),
            "Flower": lambda process: wait_for_page(
                f"http://127.0.0.1:{flower_port}/healthcheck", process, timeout=120
            ),
        }
        log_of = {name: tmp_path / f"{name}.log" for name in ready}
        for line, _ in rehearsal.console_commands(servers[1]):
            name = line.rpartition("# ")[2].strip()
            command = line.replace("--port=5555", f"--port={flower_port}")
            process = stack.enter_context(
                background(
                    ["bash", "-c", command],
                    cwd=project,
                    env=shell | {"PORT": str(web_port)},
                    log=log_of[name],
                )
            )
            ready[name](process)

        # With the worker up, the same one-liner goes through the broker to the worker.
        [(line, shown)] = rehearsal.console_commands(one_liner[1])
        assert rehearsal.run_to_end(line, shell, project).stdout.endswith(shown)
        assert re.search(r"Task base\.tasks\.add\[[\w-]+\] succeeded", log_of["worker"].read_text())

        # The Tests section's command, with the broker exported as a user may have it: the
        # unit tests still run, every one of them.
        [[(test_command, _)]] = [
            rehearsal.console_commands(block)
            for language, block in rehearsal.readme_blocks(readme, "Tests")[:1]
        ]
        exported = shell | {"CELERY_BROKER_URL": broker}
        summary = rehearsal.run_to_end(test_command, exported, project).stdout.splitlines()[-1]
        assert " passed" in summary and "skipped" not in summary, summary


def wait_for_log(log: Path, pattern: str, process, timeout: float = 120) -> None:
    rehearsal.Process("readme", process, log, {}, Path()).wait_for_log(pattern, timeout)

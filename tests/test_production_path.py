"""The production path, rehearsed: the processes the deploy files declare, started as declared.

For the default render and a RabbitMQ one, compose.yaml's services and the systemd units are
started with the commands, environment and health checks the files give (tests/rehearsal.py
says how a file becomes a process here), against the test's own PostgreSQL, Redis and
RabbitMQ. Then a user's first hour: the site answers with production settings and its
styles, a task sent from the web process runs on the worker, results are readable with
`celery result`, beat sends an entry, mail reaches a server, every probe passes while its
process runs and fails once it is stopped.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

import rehearsal
from conftest import free_port
from options import label, resolved
from services import postgres_database, rabbitmq_vhost, redis_database

SLUG = "my_project"
RENDERS = [{}, {"broker": "rabbitmq", "result_backend": "redis", "scheduler": "file"}]
ADMIN = ("admin", "a-long-test-password-1")
# The values a user fills in; the services' URLs come from the test's own services.
SECRETS = {
    "DJANGO_SECRET_KEY": "rehearsal-" + "k" * 60,
    "POSTGRES_PASSWORD": "unused",
    "RABBITMQ_PASSWORD": "unused",
    "FLOWER_BASIC_AUTH": "flower:flower-password",
    "FLOWER_COOKIE_SECRET": "rehearsal-cookie-secret",
    # What compose's rabbitmq service is configured with; the shared RabbitMQ here keeps
    # its default, which no task of the rehearsal comes near.
    "RABBITMQ_CONSUMER_TIMEOUT": "3900000",
}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ExitStack]:
    with ExitStack() as resources:
        yield resources


def own_services(answers: dict[str, str], stack: ExitStack) -> dict[str, str]:
    """Compose service host name -> the URL of the test's own isolated piece of it."""
    urls = {"postgres": stack.enter_context(postgres_database(label(answers) or "default"))}
    options = resolved(answers)
    if options["broker"] == "redis" or options["result_backend"] == "redis":
        urls["redis"] = stack.enter_context(redis_database())
    if options["broker"] == "rabbitmq":
        urls["rabbitmq"] = stack.enter_context(rabbitmq_vhost("rehearsal"))
    return urls


def sent_by_web(worker: rehearsal.Process, web: rehearsal.Process, port: int) -> None:
    """An admin creates a user through the site; the worker runs the welcome task it sends."""
    browser = rehearsal.Browser(port, "localhost", {"X-Forwarded-Proto": "https"})
    browser.log_in(*ADMIN)
    token = browser.csrf_token("/admin/auth/user/add/")
    form = {
        "csrfmiddlewaretoken": token,
        "username": "newcomer",
        "usable_password": "true",
        "password1": "another-long-password-2",
        "password2": "another-long-password-2",
        "_save": "Save",
    }
    status, _, page = browser.request("/admin/auth/user/add/", form)
    assert status == 302, f"adding a user answered {status}:\n{page[:3000]}\n{web.output()[-3000:]}"
    worker.wait_for_log(r"Task base\.tasks\.send_welcome_email\[[\w-]+\] succeeded")


def site_is_production(port: int, host: str, proxy_headers: dict[str, str]) -> None:
    """DEBUG off, the admin's login page with its stylesheet, served by the web process."""
    browser = rehearsal.Browser(port, host, proxy_headers)
    status, _, page = browser.request("/admin/login/")
    assert status == 200, f"/admin/login/ answered {status}:\n{page[:2000]}"
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, f"no hashed admin stylesheet in the login page:\n{page[:2000]}"
    status, headers, _ = browser.request(stylesheet.group(1))
    assert (status, headers["content-type"].split(";")[0]) == (200, "text/css")
    assert "immutable" in headers.get("cache-control", "")
    status, _, page = browser.request("/no-such-page/")
    assert status == 404 and "URLconf" not in page, "a 404 shows Django's debug page"


def celery_command(worker: rehearsal.Process, *arguments: str) -> str:
    completed = rehearsal.run_to_end(["celery", "-A", SLUG, *arguments], worker.env, worker.cwd)
    return completed.stdout.strip()


def results_are_readable(worker: rehearsal.Process, answers: dict[str, str]) -> None:
    """`celery call` sends a task, `celery result` reads its value, as a user types them."""
    task_id = celery_command(worker, "call", "base.tasks.add", "--args", "[2, 3]")
    worker.wait_for_log(rf"Task base\.tasks\.add\[{task_id}\] succeeded")
    if resolved(answers)["result_backend"] != "none":
        assert celery_command(worker, "result", task_id) == "5"


def make_an_entry_due(beat_env: dict[str, str], cwd: Path, answers: dict[str, str]) -> None:
    """Make the heartbeat entry due now, as if its last run was long ago, before beat starts.

    The database scheduler keeps last-run times in the database, the file scheduler in its
    schedule file: each is set through the scheduler itself, with beat's own environment.
    """
    if resolved(answers)["scheduler"] == "database":
        code = (
            "from datetime import timedelta; from django.utils import timezone;"
            "from django_celery_beat.models import IntervalSchedule, PeriodicTask;"
            "every = IntervalSchedule.objects.get_or_create(every=2, period='seconds')[0];"
            "PeriodicTask.objects.create(name='rehearsal', task='base.tasks.heartbeat',"
            " interval=every)"
        )
        command = ["python", "manage.py", "shell", "-c", code]
    else:
        code = (
            "import django; django.setup(); from datetime import timedelta;"
            "from celery.beat import PersistentScheduler; from django.utils import timezone;"
            f"from {SLUG}.celery import app; file = app.conf.beat_schedule_filename;"
            "s = PersistentScheduler(app=app, schedule_filename=file);"
            "s.schedule['heartbeat'].last_run_at = timezone.now() - timedelta(hours=1);"
            "s.sync(); s.close()"
        )
        command = ["python", "-c", code]
    rehearsal.run_to_end(command, beat_env, cwd)


@pytest.mark.parametrize("answers", RENDERS, ids=[label(a) or "default" for a in RENDERS])
def test_compose_stack_runs_as_declared(bake, project_python, tmp_path, stack, answers) -> None:
    project = Path(shutil.copytree(bake(**answers), tmp_path / "app"))
    venv = project_python(project).parent.parent
    urls = own_services(answers, stack)
    sink = rehearsal.SmtpSink()
    stack.callback(sink.close)
    web_port, flower_port = free_port(), free_port()

    # .env as the README says: .env.compose.example with the blanks filled in, and plain
    # HTTP allowed, as the README suggests for trying the stack on http://127.0.0.1.
    variables = rehearsal.filled(
        rehearsal.env_file(project / ".env.compose.example"),
        {**SECRETS, "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"},
    )
    variables |= {"DJANGO_SECURE_SSL_REDIRECT": "false", "WEB_PORT": str(web_port)}
    services = rehearsal.compose_services(project, variables)
    image = rehearsal.Dockerfile.read(project / "Dockerfile")
    paths = rehearsal.Paths(
        {"/app": project, "/venv": venv, "/var/lib/beat": tmp_path / "beat-volume"}
    )
    logs = tmp_path / "logs"
    logs.mkdir()

    def container_env(name: str) -> dict[str, str]:
        """What a container of the service sees: the image's ENV, then compose's environment."""
        private_tmp = tmp_path / "containers" / name / "tmp"
        private_tmp.mkdir(parents=True, exist_ok=True)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(private_tmp)}
        for key, value in image.env.items():
            env[key] = paths(value.replace("$PATH", env["PATH"]))
        for key, value in (services[name].get("environment") or {}).items():
            env[key] = paths(rehearsal.point_at(str(value), urls))
        # Each container has its own /tmp; the ports are the ones compose publishes.
        env |= {"TMPDIR": str(private_tmp), "PORT": str(web_port), "FLOWER_PORT": str(flower_port)}
        return env

    cwd = Path(paths(image.workdir))
    for run in image.runs:  # What `docker compose build` runs after copying the code.
        rehearsal.run_to_end(
            paths(run.replace("app:app", "$(id -u):$(id -g)")), container_env("web"), cwd
        )

    app_services = [name for name, service in services.items() if "build" in service]
    one_shot = [name for name in app_services if services[name].get("restart") == "no"]
    for name in one_shot:  # migrate: web, worker and beat wait for it to complete.
        rehearsal.run_to_end(services[name]["command"], container_env(name), cwd)
    admin_env = container_env("web") | {
        "DJANGO_SUPERUSER_USERNAME": ADMIN[0],
        "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
    }
    rehearsal.run_to_end(["python", "manage.py", "createsuperuser", "--no-input"], admin_env, cwd)
    make_an_entry_due(container_env("beat"), cwd, answers)

    long_running = [name for name in app_services if name not in one_shot]
    processes = {}
    with rehearsal.started(list(processes.values())) as running:
        for name in long_running:
            command = services[name].get("command") or image.cmd
            process = rehearsal.start(name, command, container_env(name), cwd, logs)
            processes[name] = process
            running.append(process)
        checks = {name: services[name]["healthcheck"]["test"][1:] for name in long_running}
        for name, check in checks.items():
            rehearsal.wait_until_healthy(check, processes[name])

        site_is_production(web_port, f"127.0.0.1:{web_port}", {})
        sent_by_web(processes["worker"], processes["web"], web_port)
        results_are_readable(processes["worker"], answers)
        processes["worker"].wait_for_log(r"Heartbeat from beat")
        rehearsal.run_to_end(
            ["python", "manage.py", "sendtestemail", "someone@example.com"],
            container_env("worker"),
            cwd,
        )
        assert any("someone@example.com" in message for message in sink.messages)

        for name, check in checks.items():
            processes[name].stop()
            stopped = rehearsal.probe(check, processes[name])
            assert stopped.returncode != 0, f"{name}'s health check passes with {name} stopped"

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
import shlex
import shutil
import subprocess
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

import rehearsal
from conftest import free_port
from test_kubernetes import NAME, built, of_kind, pod_specs, settings
from test_locked_installs import shell_for
from tooling.options import label, resolved
from tooling.services import postgres_database, rabbitmq_vhost, redis_database

SLUG = "my_project"
RENDERS = [{}, {"broker": "rabbitmq", "result_backend": "redis", "scheduler": "file"}]
ADMIN = ("admin", "a-long-test-password-1")
# What `manage.py createsuperuser --no-input` reads to create ADMIN.
CREATE_ADMIN = {
    "DJANGO_SUPERUSER_USERNAME": ADMIN[0],
    "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
    "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
}
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
    # Error reports on, as a user who sets it: every process starts with Sentry's client
    # (nothing listens there; no error is expected to be sent).
    "SENTRY_DSN": "http://public@127.0.0.1:9/1",
    # Metrics on: the rehearsal scrapes /metrics as Prometheus would, with the token.
    "METRICS_TOKEN": "rehearsal-metrics-token",
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


def sent_by_web(
    worker: rehearsal.Process, web: rehearsal.Process, port: int, host: str = "localhost"
) -> None:
    """An admin creates a user through the site; the worker runs the welcome task it sends."""
    add_a_user(web, port, host)
    worker.wait_for_log(r"Task base\.tasks\.send_welcome_email\[[\w-]+\] succeeded")


def add_a_user(web: rehearsal.Process, port: int, host: str) -> None:
    """Log in to the admin as ADMIN and add a user, which sends the welcome task."""
    browser = rehearsal.Browser(port, host, {"X-Forwarded-Proto": "https"})
    browser.log_in(*ADMIN)
    token = browser.csrf_token("/admin/users/user/add/")
    form = {
        "csrfmiddlewaretoken": token,
        "username": "newcomer",
        "usable_password": "true",
        "password1": "another-long-password-2",
        "password2": "another-long-password-2",
        "_save": "Save",
    }
    status, _, page = browser.request("/admin/users/user/add/", form)
    assert status == 302, f"adding a user answered {status}:\n{page[:3000]}\n{web.output()[-3000:]}"


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


def results_are_readable(
    worker: rehearsal.Process, answers: dict[str, str], slug: str = SLUG
) -> None:
    """`celery call` sends a task, `celery result` reads its value, as a user types them."""

    def celery(*arguments: str) -> str:
        command = ["celery", "-A", slug, *arguments]
        return rehearsal.run_to_end(command, worker.env, worker.cwd).stdout.strip()

    task_id = celery("call", "base.tasks.add", "--args", "[2, 3]")
    worker.wait_for_log(rf"Task base\.tasks\.add\[{task_id}\] succeeded")
    if resolved(answers)["result_backend"] != "none":
        assert celery("result", task_id) == "5"


def slow_work_reaches_its_own_workers(
    slow: rehearsal.Process, worker: rehearsal.Process, slug: str = SLUG
) -> None:
    """`celery call` of the example routed to the slow queue runs on that queue's worker."""
    command = ["celery", "-A", slug, "call", "base.tasks.long_running_job", "--args", "[1, 0]"]
    task_id = rehearsal.run_to_end(command, slow.env, slow.cwd).stdout.strip()
    slow.wait_for_log(rf"Task base\.tasks\.long_running_job\[{task_id}\] succeeded")
    assert task_id not in worker.output()


def make_an_entry_due(
    beat_env: dict[str, str], cwd: Path, answers: dict[str, str], slug: str = SLUG
) -> None:
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
            f"from {slug}.celery import app; file = app.conf.beat_schedule_filename;"
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
    collector = rehearsal.HttpSink()  # OpenTelemetry's, for the traces of web and workers.
    stack.callback(collector.close)
    web_port, flower_port = free_port(), free_port()

    # .env as the README says: .env.compose.example with the blanks filled in, and plain
    # HTTP allowed, as the README suggests for trying the stack on http://127.0.0.1.
    variables = rehearsal.filled(
        rehearsal.env_file(project / ".env.compose.example"),
        {
            **SECRETS,
            "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=rehearsal",
        },
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
    admin_env = container_env("web") | CREATE_ADMIN
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
        slow_work_reaches_its_own_workers(processes["worker-slow"], processes["worker"])
        queues_are_scraped(web_port)
        # The request that sent a task, and the task, traced by the web and the worker.
        for role in ("web", "worker"):
            assert collector.received("/v1/traces", f"{SLUG}-{role}".encode()), role
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


def queues_are_scraped(web_port: int) -> None:
    """Prometheus, with the token from .env, reads every routed queue's length from the web."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{web_port}/metrics",
        headers={"Authorization": f"Bearer {SECRETS['METRICS_TOKEN']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        page = response.read().decode()
    assert "celery_broker_up 1.0" in page, page
    for queue in ("celery", "slow"):
        assert f'celery_queue_length{{queue="{queue}"}}' in page, page


def http_probe_passes(url: str) -> bool:
    """An httpGet probe, as the kubelet counts it: any status from 200 to 399 passes."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 200 <= response.status < 400
    except OSError:
        return False


def test_kubernetes_manifests_run_as_declared(bake, project_python, tmp_path, stack) -> None:
    """The default render's manifests, as kustomize builds them, run here container by container.

    Each container gets the image's ENV, then the built ConfigMap, then the Secrets with the
    names and keys of the README's `kubectl create secret` commands (test values pointing at
    the test's own services), then its own `env`; /tmp is its own directory, as its
    emptyDir. The migrate Job runs, then the init containers (which must find nothing left
    to migrate), then each long-running container with its command or the image's CMD,
    until each of its probes passes as declared: exec in its environment, httpGet over
    HTTP. The one render whose manifests have every kind of process; the other variants
    only change values that tests/test_kubernetes.py checks.
    """
    answers: dict[str, str] = {}
    project = Path(shutil.copytree(bake(**answers), tmp_path / "app"))
    venv = project_python(project).parent.parent
    urls = own_services(answers, stack)
    sink = rehearsal.SmtpSink()
    stack.callback(sink.close)
    objects = built(project)
    image = rehearsal.Dockerfile.read(project / "Dockerfile")
    paths = rehearsal.Paths({"/app": project, "/venv": venv})
    logs = tmp_path / "logs"
    logs.mkdir()

    # The Secrets as the README creates them: its names and keys, this test's values.
    values = {
        **SECRETS,
        "DATABASE_URL": urls["postgres"],
        "CELERY_BROKER_URL": urls["redis"],
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
    }
    secrets = {
        shlex.split(command)[4]: rehearsal.filled(
            dict.fromkeys(re.findall(r"--from-literal=(\w+)=", command), ""), values
        )
        for _, block in rehearsal.readme_blocks(
            (project / "README.md").read_text(), "Running on Kubernetes"
        )
        for command, _ in rehearsal.console_commands(textwrap.dedent(block))
        if command.startswith("kubectl create secret generic ")
    }
    assert set(secrets) == {NAME, f"{NAME}-flower"}, secrets
    ports = {"web": free_port(), "flower": free_port()}

    def container_env(pod: str, container: dict) -> dict[str, str]:
        private_tmp = tmp_path / "pods" / pod / "tmp"
        private_tmp.mkdir(parents=True, exist_ok=True)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(private_tmp)}
        for key, value in image.env.items():
            env[key] = paths(value.replace("$PATH", env["PATH"]))
        for source in container["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in of_kind(objects, "ConfigMap")
                env |= settings(objects)
            else:
                env |= secrets[source["secretRef"]["name"]]
        for variable in container.get("env", []):
            env[variable["name"]] = paths(variable["value"])
        # Every pod has its own network address: here, its own port on loopback.
        port = ports.get(pod.removeprefix(f"{NAME}-"), 0)
        return env | {"TMPDIR": str(private_tmp), "PORT": str(port), "FLOWER_PORT": str(port)}

    cwd = Path(paths(image.workdir))
    specs = pod_specs(objects)
    [job] = of_kind(objects, "Job")
    [migrate] = specs[job]["containers"]
    for run in image.runs:  # What building the image runs after copying the code.
        rehearsal.run_to_end(paths(run), container_env(job, migrate), cwd)
    rehearsal.run_to_end(migrate["command"], container_env(job, migrate), cwd)

    processes: dict[str, tuple[rehearsal.Process, dict]] = {}
    with rehearsal.started([]) as running:
        for pod in of_kind(objects, "Deployment"):
            for init in specs[pod].get("initContainers", []):
                rehearsal.run_to_end(init["command"], container_env(pod, init), cwd, timeout=60)
            [container] = specs[pod]["containers"]
            command = container.get("command", image.cmd) + container.get("args", [])
            process = rehearsal.start(pod, command, container_env(pod, container), cwd, logs)
            processes[pod] = (process, container)
            running.append(process)

        for pod, (process, container) in processes.items():
            # Startup and liveness probes often run the same check: each distinct one once.
            checks: list[dict] = []
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                check = container[kind].get("exec") or container[kind]["httpGet"]
                checks += [check] if check not in checks else []
            for check in checks:
                if "command" in check:  # exec
                    rehearsal.wait_until_healthy(check["command"], process)
                    continue
                [port] = [p for p in container["ports"] if p["name"] == check["port"]]
                assert port["containerPort"] == int(image.env["PORT"]), pod
                url = f"http://127.0.0.1:{process.env['PORT']}{check['path']}"
                deadline = time.monotonic() + rehearsal.TIMEOUT
                while not http_probe_passes(url):
                    assert process.popen.poll() is None, f"{pod} exited:\n{process.output()}"
                    assert time.monotonic() < deadline, f"{url} fails:\n{process.output()}"
                    time.sleep(0.5)

        # Through the Ingress: the ConfigMap's host name, TLS terminated in front.
        host = settings(objects)["DJANGO_ALLOWED_HOSTS"].split(",")[0]
        site_is_production(ports["web"], host, {"X-Forwarded-Proto": "https"})
        worker, _ = processes[f"{NAME}-worker"]
        results_are_readable(worker, answers)
        slow_work_reaches_its_own_workers(processes[f"{NAME}-worker-slow"][0], worker)


def run_directory(slug: str) -> Iterator[Path]:
    """/run/<slug>, which systemd creates for the units (RuntimeDirectory=); removed after."""
    path = Path("/run") / slug
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("answers", RENDERS, ids=[label(a) or "default" for a in RENDERS])
def test_systemd_units_run_as_declared(bake, tmp_path, stack, answers) -> None:
    # A slug of its own: /run/<slug> is shared by the whole machine, as it is on a host.
    slug = f"rehearsal_{label(answers).replace('-', '_') or 'default'}"
    project = Path(shutil.copytree(bake(project_slug=slug, **answers), tmp_path / "srv"))
    urls = own_services(answers, stack)
    sink = rehearsal.SmtpSink()
    stack.callback(sink.close)
    stack.enter_context(contextmanager(run_directory)(slug))
    web_port, flower_port = free_port(), free_port()

    # /etc/<slug>/environment, installed from the example as the README says.
    environment = rehearsal.filled(
        rehearsal.env_file(project / "deploy" / "systemd" / "environment.example"),
        {
            **SECRETS,
            "DJANGO_ALLOWED_HOSTS": "www.example.com",
            "DATABASE_URL": urls["postgres"],
            "CELERY_BROKER_URL": urls.get("rabbitmq") or urls["redis"],
            "CELERY_RESULT_BACKEND": urls.get("redis", ""),
            "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        },
    )
    environment |= {"PORT": str(web_port), "FLOWER_PORT": str(flower_port)}
    paths = rehearsal.Paths(
        {
            f"/srv/{slug}": project,
            f"/var/log/{slug}": tmp_path / "log",
            f"/var/lib/{slug}": tmp_path / "lib",
        }
    )
    # The .venv as the README builds it, bytecode compiled: the units' user cannot write it.
    readme = (project / "README.md").read_text()
    [install] = [
        line
        for _, block in rehearsal.readme_blocks(readme, "Running with systemd")
        for line, _ in rehearsal.console_commands(block)
        if "scripts/install" in line
    ]
    rehearsal.run_to_end(paths(install), shell_for(project), project)
    venv = project / ".venv"
    assert rehearsal.bytecode_compiled(venv)
    logs = tmp_path / "logs"
    for directory in (tmp_path / "log", tmp_path / "lib", logs):
        directory.mkdir()

    def unit_env(name: str, unit: dict[str, list[str]]) -> dict[str, str]:
        """systemd's environment: its PATH, Environment=, then EnvironmentFile=, which wins."""
        private_tmp = tmp_path / "units" / name / "tmp"
        private_tmp.mkdir(parents=True, exist_ok=True)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(private_tmp)}
        for assignment in unit.get("Environment", []):
            key, _, value = assignment.partition("=")
            env[key] = paths(value)
        assert unit["EnvironmentFile"] == [f"/etc/{slug}/environment"]
        return env | environment | {"TMPDIR": str(private_tmp)}

    # The units the README enables; a template unit (name@.service) as its instances there.
    enabled = re.search(r"systemctl enable --now (.*)", readme)
    assert enabled, "no `systemctl enable --now` line in the README"
    units = {}
    for path in sorted((project / "deploy" / "systemd").glob("*.service")):
        if path.stem.endswith("@"):
            for name in enabled.group(1).split():
                if name.startswith(path.stem):
                    units[name] = rehearsal.unit_file(path, instance=name.removeprefix(path.stem))
        else:
            units[path.stem] = rehearsal.unit_file(path)

    def command(unit: dict[str, list[str]], line: str, env: dict[str, str]) -> list[str]:
        return shlex.split(paths(rehearsal.expand_systemd(line, env)))

    # The README's order: migrations first, on one host, then the long-running units.
    one_shot = [name for name, unit in units.items() if unit.get("Type") == ["oneshot"]]
    for name in one_shot:
        env = unit_env(name, units[name])
        for line in units[name]["ExecStart"]:
            rehearsal.run_to_end(command(units[name], line, env), env, project)
    admin_env = environment | {
        "PATH": f"{venv}/bin:/usr/bin:/bin",
        **CREATE_ADMIN,
    }
    rehearsal.run_to_end(
        ["python", "manage.py", "createsuperuser", "--no-input"], admin_env, project
    )
    envs = {name: unit_env(name, unit) for name, unit in units.items()}
    # Beat's own environment (its unit names the schedule file), with the project's Python.
    make_an_entry_due(envs["celery-beat"] | {"PATH": admin_env["PATH"]}, project, answers, slug)

    processes: dict[str, rehearsal.Process] = {}
    with rehearsal.started([]) as running:
        for name, unit in units.items():
            if name in one_shot:
                continue
            env = envs[name]
            for line in unit.get("ExecStartPre", []):
                rehearsal.run_to_end(command(unit, line, env), env, project)
            [line] = unit["ExecStart"]
            processes[name] = rehearsal.start(name, command(unit, line, env), env, project, logs)
            # KillMode=mixed: systemd sends SIGTERM to the main process only.
            processes[name].main_process_only = unit.get("KillMode") == ["mixed"]
            running.append(processes[name])

        # The probes as the README runs them on the host: from a shell in the project, with
        # the environment file read into it.
        shell = environment | {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
        health = ["python", "-m", "infrastructure.health"]
        probes = {
            "web": [*health, "web-alive"],
            "celery-worker@celery": [*health, "worker-alive", "worker-ready"],
            "celery-worker@slow": [*health, "worker-alive", "worker-ready", "--node", "slow@%h"],
            "celery-beat": [*health, "beat-alive"],
            "celery-flower": [*health, "flower-alive"],
        }
        probes = {name: check for name, check in probes.items() if name in processes}
        assert set(probes) == set(processes), "a unit without a documented probe"
        for name, check in probes.items():
            rehearsal.wait_until_healthy(check, processes[name].seen_from(shell))

        site_is_production(web_port, "www.example.com", {"X-Forwarded-Proto": "https"})
        worker = processes["celery-worker@celery"]
        sent_by_web(worker, processes["web"], web_port, host="www.example.com")
        results_are_readable(worker.seen_from(shell), answers, slug)
        slow_work_reaches_its_own_workers(
            processes["celery-worker@slow"].seen_from(shell), worker, slug
        )
        worker.wait_for_log(r"Heartbeat from beat")

        for name, check in probes.items():
            processes[name].stop()
            stopped = rehearsal.probe(check, processes[name].seen_from(shell))
            assert stopped.returncode != 0, f"{shlex.join(check)} passes with {name} stopped"


def test_no_entry_point_falls_back_to_development_settings(
    bake, project_python, tmp_path, stack
) -> None:
    """Without DJANGO_SETTINGS_MODULE: servers use production settings, celery refuses.

    The environment is a production one (from an environment file that forgot the
    settings module), and no .env exists, as on a server.
    """
    project = Path(shutil.copytree(bake(), tmp_path / "app"))
    venv = project_python(project).parent.parent
    urls = own_services({}, stack)
    env = {
        "PATH": f"{venv}/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SECRET_KEY": SECRETS["DJANGO_SECRET_KEY"],
        "DJANGO_ALLOWED_HOSTS": "www.example.com",
        "DATABASE_URL": urls["postgres"],
        "CELERY_BROKER_URL": urls["redis"],
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()

    # Static files, migrations and an admin, with the settings module named, as a deploy has.
    admin_env = env | {
        "DJANGO_SETTINGS_MODULE": f"{SLUG}.settings.prod",
        **CREATE_ADMIN,
    }
    deploy_steps = (["collectstatic", "--no-input"], ["migrate", "--no-input"])
    for command in (*deploy_steps, ["createsuperuser", "--no-input"]):
        rehearsal.run_to_end(["python", "manage.py", *command], admin_env, project)

    with rehearsal.started([]) as running:
        command = ["gunicorn", f"{SLUG}.wsgi", f"--bind=127.0.0.1:{port}"]
        running.append(rehearsal.start("gunicorn", command, env, project, logs))
        running[0].wait_for_log(r"Booting worker")
        browser = rehearsal.Browser(port, "www.example.com", {"X-Forwarded-Proto": "https"})
        for _ in range(50):
            try:
                status, _, page = browser.request("/no-such-page/")
                break
            except ConnectionRefusedError:
                time.sleep(0.2)
        assert status == 404 and "URLconf" not in page, "gunicorn serves development settings"
        # A user added through the site sends its welcome task with delay_on_commit.
        add_a_user(running[0], port, "www.example.com")

    code = f"import {SLUG}.asgi; from django.conf import settings; print(settings.SETTINGS_MODULE)"
    served = rehearsal.run_to_end(["python", "-c", code], env, project).stdout
    assert served.split() == [f"{SLUG}.settings.prod"]

    for arguments in (["worker"], ["beat"], ["call", "base.tasks.add"], ["inspect", "ping"]):
        refused = subprocess.run(
            ["celery", "-A", SLUG, *arguments], env=env, cwd=project, capture_output=True, text=True
        )
        assert refused.returncode != 0
        assert refused.stderr.strip().startswith("DJANGO_SETTINGS_MODULE is not set"), (
            refused.stderr
        )
    probed = subprocess.run(
        ["python", "-m", "infrastructure.health", "worker-ready"],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert probed.returncode != 0 and "DJANGO_SETTINGS_MODULE" in probed.stderr

    # Flower, started anywhere, refuses to run without basic auth.
    anywhere = env | {"DJANGO_SETTINGS_MODULE": f"{SLUG}.settings.prod", "PYTHONPATH": str(project)}
    flower = subprocess.run(
        ["celery", "-A", SLUG, "flower"],
        env=anywhere,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert flower.returncode != 0 and flower.stderr.startswith("FLOWER_BASIC_AUTH is not set")

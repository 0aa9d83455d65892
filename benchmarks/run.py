"""Benchmark the rendered projects' Celery against bare Celery, on this machine's services.

For each broker x result backend (scheduler and the rest default), the template as it is
in this working tree is baked and installed (tests/projects.py; virtualenvs cached in
.benchmark-cache/), and for each broker a bare Celery app runs in the same virtualenv.
Every configuration runs one prefork worker with the same command line, under
benchmarks.probe, which records each task's completion and the worker's readiness; the
producer (benchmarks/client.py) runs in the same virtualenv. Rendered projects run with
their production settings. Rounds go round-robin over the configurations; the tables
show medians over rounds, and --output gets every number of every round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
from cookiecutter.main import cookiecutter

from benchmarks import completions
from tooling import projects
from tooling.options import DECLARED
from tooling.processes import background
from tooling.services import REDIS, postgres_database, rabbitmq_vhost, redis_database

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
CACHE = TEMPLATE_DIR / ".benchmark-cache"
DEFAULT_OUTPUT = TEMPLATE_DIR / "test-artifacts" / "benchmark.json"
# Each full run's tables, dated, so the README can link to figures that say when and on
# what they were measured instead of carrying a copy that goes stale.
RESULTS = TEMPLATE_DIR / "benchmarks" / "results"

BROKERS: list[str] = DECLARED["broker"]
RESULT_BACKENDS: list[str] = DECLARED["result_backend"]
DEFAULT = (BROKERS[0], RESULT_BACKENDS[0])  # The render nobody answered a question for.

# The default render's trade-offs, each measured alone: the environment variable the
# rendered settings read, and the value that flips its default.
VARIANTS: tuple[tuple[str, str], ...] = (
    ("CELERY_TASK_EVENTS", "true"),  # Task events for Flower and `celery events`.
    ("CELERY_TASK_TRACK_STARTED", "true"),  # A STARTED state: one more result write.
    ("CELERY_TASK_LOGS", "false"),  # No log line per task received and succeeded.
    ("CELERY_WORKER_PREFETCH_MULTIPLIER", "4"),  # Messages reserved per pool process.
    # The observability switches, each off until set (README: "Errors, traces and logs").
    ("DJANGO_LOG_FORMAT", "json"),  # JSON log lines carrying the task's id and name.
    # Sentry's Django and Celery integrations; a successful task sends nothing.
    ("SENTRY_DSN", "http://key@127.0.0.1:9/1"),
    # A span per task, exported to the stand-in collector that the run starts there.
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
)

# Identical for bare and rendered workers; INFO as in the rendered systemd unit and compose.
WORKER_ARGUMENTS = (
    "worker",
    "--concurrency=2",
    "--pool=prefork",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "--loglevel=INFO",
)
READY_TIMEOUT = 120
TIMES = "\N{MULTIPLICATION SIGN}"
CPU_FIELDS = ("ru_utime", "ru_stime")
# Each round's figures that the tables and the JSON give as medians over rounds.
MEDIAN_KEYS = (
    "tasks_per_s",
    "enqueue_per_s",
    "get_p50_ms",
    "get_p99_ms",
    "ready_s",
    "worker_cpu_ms",
    "client_cpu_ms",
)
STOP_TIMEOUT = 20
# Anything that would change a setting or the imports, inherited from whoever runs this.
# PYTHONDONTWRITEBYTECODE goes too: deployed code has its bytecode compiled.
INHERITED_OUT = re.compile(r"^(CELERY_|DJANGO_|BENCHMARK_|BARE_|PYTHON|VIRTUAL_ENV$|DATABASE_URL$)")
# Only migrate and the cold start import settings without isolated services; nothing
# listens on port 1, so an unexpected connection fails instead of reaching shared data.
# The cold starts measured beside the rendered project's, to compare it with.
COLD_REFERENCES = ("bare Celery", "cookiecutter-django's settings", "Django alone")
UNUSED_BROKER = {"redis": "redis://127.0.0.1:1/0", "rabbitmq": "amqp://guest:guest@127.0.0.1:1//"}


SECRET_KEY = secrets.token_urlsafe(40)

# Issue 15's "flat as data grows" (--growth): the results table at GROWTH_FEW_ROWS rows
# and at --growth-rows, the cleanup of that many expired rows, and beat with
# GROWTH_FEW_TASKS and with --growth-periodic-tasks periodic tasks.
GROWTH_FEW_ROWS = 1_000
GROWTH_FEW_TASKS = 10
# The issue asks for the cleanup's lock time to be bounded and measured, with no figure: a
# second is the bound held to here (a 5,000-row batch takes tens of milliseconds).
CLEANUP_LOCK_TARGET = "<= 1000"  # ms
STEADY_S = 10  # Seconds of the worker's rate before the cleanup, to compare the rate during it.


class BenchmarkError(Exception):
    """A step failed; the message says which, with the output that explains it."""


@dataclass(frozen=True)
class Configuration:
    broker: str
    result_backend: str  # Bare Celery and the peer always store results in Redis.
    bare: bool = False
    peer: bool = False  # cookiecutter-django's Celery settings (benchmarks/peer.py).
    overrides: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        if self.bare:
            return f"bare Celery, {self.broker}"
        if self.peer:
            return f"cookiecutter-django's settings, {self.broker}"
        name = f"{self.broker}, {self.result_backend}"
        return name + "".join(f" + {key}={value}" for key, value in self.overrides)

    @property
    def kind(self) -> str:
        if self.bare or self.peer:
            return "bare" if self.bare else "peer"
        return "variant" if self.overrides else "rendered"

    @property
    def answers(self) -> tuple[str, str]:
        """The project whose virtualenv runs it: bare Celery and the peer need redis-py."""
        if self.bare or self.peer:
            return (self.broker, "redis")
        return (self.broker, self.result_backend)

    @property
    def django_project(self) -> bool:
        """A rendered project, run with its own settings and database."""
        return not (self.bare or self.peer)


ALL = [
    *(Configuration(broker, "redis", bare=True) for broker in BROKERS),
    # cookiecutter-django offers Redis only, as its broker and its result backend.
    Configuration("redis", "redis", peer=True),
    *(Configuration(broker, backend) for broker in BROKERS for backend in RESULT_BACKENDS),
    *(Configuration(*DEFAULT, overrides=(variant,)) for variant in VARIANTS),
]


def select(only: str | None) -> list[Configuration]:
    """Configurations whose name contains `only`, with the ones their ratios need."""
    chosen = {c for c in ALL if only is None or only in c.name}
    if not chosen:
        names = "\n  ".join(c.name for c in ALL)
        raise BenchmarkError(f"no configuration name contains {only!r}; there are:\n  {names}")
    if any(c.overrides for c in chosen):
        chosen.add(Configuration(*DEFAULT))
    chosen |= {Configuration(c.broker, "redis", bare=True) for c in set(chosen)}
    return [c for c in ALL if c in chosen]


@dataclass
class Project:
    """A baked project, its virtualenv's Python and its package name."""

    path: Path
    python: Path
    slug: str


@dataclass
class Setup:
    projects: dict[tuple[str, str], Project] = field(default_factory=dict)
    databases: dict[Configuration, str] = field(default_factory=dict)  # Rendered only.


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_checked(command: list[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, **kwargs
    )
    if completed.returncode != 0:
        raise BenchmarkError(
            f"{' '.join(map(str, command))} exited {completed.returncode}\n"
            f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"
        )
    return completed


def clean_environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not INHERITED_OUT.match(k)}
    environment["PYTHONPATH"] = str(TEMPLATE_DIR)  # benchmarks.probe, .bare and .client.
    return environment


def django_environment(project: Project, database: str, broker: str, backend: str | None):
    """What the production settings require, plus the URLs of this run's services."""
    environment = {
        "DJANGO_SETTINGS_MODULE": f"{project.slug}.settings.prod",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": broker,
    }
    if backend:
        environment["CELERY_RESULT_BACKEND"] = backend
    if broker.startswith("amqp"):
        # This machine's RabbitMQ keeps its default consumer_timeout, 30 minutes, which
        # production settings check the hard time limit against; no task here comes near.
        environment |= {"RABBITMQ_CONSUMER_TIMEOUT": "1800000", "CELERY_TASK_TIME_LIMIT": "1740"}
    return environment


def bake(answers: tuple[str, str], output: Path) -> Path:
    broker, result_backend = answers
    output.mkdir(parents=True)
    context = {"broker": broker, "result_backend": result_backend}
    try:
        project = cookiecutter(
            str(TEMPLATE_DIR), no_input=True, extra_context=context, output_dir=str(output)
        )
    except Exception as error:  # Cookiecutter's, a hook's, or Jinja's.
        raise BenchmarkError(f"baking {context} failed: {error}") from error
    return Path(project)


def prepare(configurations: list[Configuration], run_dir: Path, stack: ExitStack) -> Setup:
    """Bake and install each project; give each rendered configuration a migrated database."""
    setup = Setup()
    for answers in dict.fromkeys(c.answers for c in configurations):
        path = bake(answers, run_dir / "projects" / "-".join(answers))
        log(f"baked {path.name} ({', '.join(answers)}); installing its virtualenv")
        try:
            python = projects.project_python(path, CACHE / "venvs")
        except projects.ProjectEnvironmentError as error:
            raise BenchmarkError(str(error)) from None
        setup.projects[answers] = Project(path, python, slug=path.name)
        # Bytecode, as deployed code has: no worker or import compiles what it loads.
        venv = python.parent.parent
        run_checked([python, "-m", "compileall", "-q", "-j", "0", venv, path], cwd=path)

    rendered = [c for c in configurations if c.django_project]
    for index, configuration in enumerate(rendered):
        setup.databases[configuration] = stack.enter_context(postgres_database(f"bench_{index}"))

    log(f"migrating {len(rendered)} PostgreSQL databases")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda c: migrate(setup, c, setup.databases[c]), rendered))
    return setup


def migrate(setup: Setup, configuration: Configuration, database: str) -> None:
    project = setup.projects[configuration.answers]
    unused = UNUSED_BROKER[configuration.broker]
    separate_redis = configuration.broker != "redis" and configuration.result_backend == "redis"
    backend = UNUSED_BROKER["redis"] if separate_redis else None
    environment = django_environment(project, database, unused, backend)
    run_checked(
        [project.python, "manage.py", "migrate", "--noinput"],
        cwd=project.path,
        env={**clean_environment(), **environment},
    )


class Collector(BaseHTTPRequestHandler):
    """Stands in for an OpenTelemetry collector: accepts every OTLP/HTTP export."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # One line per export would drown the run's own.


@contextmanager
def collector_for(configurations: list[Configuration]) -> Iterator[None]:
    """Serve the OTLP endpoint that a configuration exports to, for the whole run."""
    endpoints = {
        value
        for c in configurations
        for key, value in c.overrides
        if key == "OTEL_EXPORTER_OTLP_ENDPOINT"
    }
    with ExitStack() as stack:
        for endpoint in endpoints:
            address = urllib.parse.urlsplit(endpoint)
            try:
                server = ThreadingHTTPServer((address.hostname, address.port), Collector)
            except OSError as error:
                raise BenchmarkError(f"cannot serve {endpoint} for the traces: {error}") from None
            stack.callback(server.server_close)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            stack.callback(server.shutdown)
        yield


@contextmanager
def services(configuration: Configuration, label: str) -> Iterator[tuple[str, str | None]]:
    """A broker URL and, where needed, a result backend URL, isolated and removed after."""
    with ExitStack() as stack:
        if configuration.broker == "redis":
            broker = stack.enter_context(redis_database())
            # The broker's Redis, as the bare app's backend, and as the rendered redis
            # backend's default when the broker is Redis.
            backend = broker if not configuration.django_project else None
        else:
            broker = stack.enter_context(rabbitmq_vhost(label))
            needs_redis = (
                not configuration.django_project or configuration.result_backend == "redis"
            )
            backend = stack.enter_context(redis_database()) if needs_redis else None
        yield broker, backend


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Worker:
    """A running benchmark worker: what a producer next to it needs."""

    project: Project
    environment: dict[str, str]
    app: str
    task: str
    completions: Path
    log: Path
    ready_s: float
    pid: int


def cpu_seconds(pid: int) -> float:
    """CPU time used by a process and all its descendants, live or exited (Linux /proc).

    A process's own user and system time, plus its children's that it has waited for
    (a pool process replaced), plus each live descendant's the same way.
    """
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        try:
            text = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue  # Exited meanwhile.
        if text:
            stats[int(entry.name)] = text[text.rindex(")") + 2 :].split()  # From field 3.
    children: dict[int, list[int]] = {}
    for child, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(child)

    def ticks(process: int) -> int:
        own = sum(int(value) for value in stats[process][11:15])  # utime stime cutime cstime
        return own + sum(ticks(child) for child in children.get(process, []))

    return ticks(pid) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_worker(configuration: Configuration, setup: Setup, files: Path) -> Iterator[Worker]:
    """Start a worker on services of its own and wait until it is ready; stop it after."""
    project = setup.projects[configuration.answers]
    files.mkdir()
    completions, ready, worker_log = files / "completions", files / "ready", files / "worker.log"
    environment = {
        **clean_environment(),
        "BENCHMARK_COMPLETIONS": str(completions),
        "BENCHMARK_READY": str(ready),
    }
    with services(configuration, f"bench-{files.name}") as (broker, backend):
        if configuration.bare:
            app, task = "benchmarks.bare", "benchmarks.bare:add"
            environment |= {"BARE_BROKER_URL": broker, "BARE_RESULT_BACKEND": backend}
        elif configuration.peer:
            app, task = "benchmarks.peer", "benchmarks.peer:add"
            environment["PEER_BROKER_URL"] = broker
        else:
            app, task = project.slug, "base.tasks:add"
            database = setup.databases[configuration]
            environment |= django_environment(project, database, broker, backend)
            environment |= {"CELERY_LIVENESS_DIR": str(files), **dict(configuration.overrides)}
        environment["BENCHMARK_APP"] = app
        command = [project.python, "-m", "celery", "-A", "benchmarks.probe:app"]
        started = time.time()
        with background(
            [*command, *WORKER_ARGUMENTS], project.path, environment, worker_log, STOP_TIMEOUT
        ) as w:
            while not ready.exists():
                if w.poll() is not None or time.time() - started > READY_TIMEOUT:
                    raise BenchmarkError(
                        f"{configuration.name}: the worker was not ready "
                        f"(exit status {w.poll()}); its log ends with:\n{tail(worker_log)}"
                    )
                time.sleep(0.01)
            ready_s = float(ready.read_text()) - started
            yield Worker(project, environment, app, task, completions, worker_log, ready_s, w.pid)


def measure(
    configuration: Configuration, setup: Setup, args: argparse.Namespace, files: Path
) -> dict[str, object]:
    """Start a worker, wait until it is ready, run the client against it; its numbers.

    Besides rates and latencies, the CPU time per task of the worker (with its pool) and
    of the client.
    """
    with running_worker(configuration, setup, files) as worker:
        worker_before = cpu_seconds(worker.pid)
        client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = subprocess.run(
            [
                *(worker.project.python, "-m", "benchmarks.client"),
                *("--app", worker.app, "--task", worker.task),
                *("--completions", worker.completions, "--tasks", str(args.tasks)),
                *("--round-trips", str(args.round_trips), "--warmup", str(args.warmup)),
            ],
            cwd=worker.project.path,
            env=worker.environment,
            capture_output=True,
            text=True,
        )
        worker_s = cpu_seconds(worker.pid) - worker_before
        client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if client.returncode != 0:
            raise BenchmarkError(
                f"{configuration.name}: the client exited {client.returncode}:\n"
                f"{client.stderr}\n--- the worker's log ends with:\n{tail(worker.log)}"
            )
    client_s = sum(getattr(client_after, f) - getattr(client_before, f) for f in CPU_FIELDS)
    sent = args.warmup + args.round_trips + args.tasks
    return {
        "ready_s": worker.ready_s,
        "worker_cpu_ms": worker_s * 1000 / sent,
        "client_cpu_ms": client_s * 1000 / sent,
        **json.loads(client.stdout),
    }


def growth_command(project: Project, environment: dict[str, str], *arguments: object) -> dict:
    """Run benchmarks.growth in the project's virtualenv; its JSON."""
    completed = run_checked(
        [project.python, "-m", "benchmarks.growth", *map(str, arguments), "--app", project.slug],
        cwd=project.path,
        env=environment,
    )
    return json.loads(completed.stdout)


def growth(setup: Setup, args: argparse.Namespace, run_dir: Path) -> dict[str, object]:
    """The default render as its tables grow (benchmarks/growth.py says what each step does)."""
    default, project = Configuration(*DEFAULT), setup.projects[DEFAULT]
    sizes = (GROWTH_FEW_ROWS, args.growth_rows)
    measured: dict[str, object] = {"rows": {size: [] for size in sizes}}
    with ExitStack() as stack:
        databases = {
            size: stack.enter_context(postgres_database(f"growth_{size}")) for size in sizes
        }
        for database in databases.values():
            migrate(setup, default, database)

        def environment(database: str) -> dict[str, str]:
            unused = UNUSED_BROKER[default.broker]
            return {**clean_environment(), **django_environment(project, database, unused, None)}

        for number in range(args.rounds):
            for size in sizes if number % 2 == 0 else sizes[::-1]:
                database = databases[size]
                filled = growth_command(project, environment(database), "fill", "--rows", size)
                direct = growth_command(
                    project, environment(database), "writes", "--samples", args.round_trips
                )
                files = run_dir / f"growth{number + 1}-{size}"
                worker = measure(default, Setup(setup.projects, {default: database}), args, files)
                result = {"round": number + 1, "table_rows": filled["rows"], **direct}
                result |= {key: worker[key] for key in ("tasks_per_s", "get_p50_ms", "versions")}
                measured["rows"][size].append(result)
                log(
                    f"growth round {number + 1}/{args.rounds}, {size:,} result rows: "
                    f"{result['tasks_per_s']:.0f} tasks/s, get p50 {result['get_p50_ms']:.1f} ms, "
                    f"write p50 {result['write_p50_ms']:.2f} ms"
                )

        database = databases[args.growth_rows]
        growth_command(project, environment(database), "fill", "--rows", args.growth_rows)
        log(f"growth: cleanup of {args.growth_rows:,} expired rows under load")
        measured["cleanup"] = cleanup_under_load(
            Setup(setup.projects, {default: database}), run_dir / "growth-cleanup"
        )

    log("growth: beat")
    with (
        postgres_database("growth_beat") as database,
        services(default, "growth-beat") as (
            broker,
            _,
        ),
    ):
        migrate(setup, default, database)
        environment = {**clean_environment(), **django_environment(project, database, broker, None)}
        measured["beat"] = {
            tasks: growth_command(
                project, environment, "beat", "--tasks", tasks, "--ticks", args.growth_ticks
            )
            for tasks in (GROWTH_FEW_TASKS, args.growth_periodic_tasks)
        }
    return measured


def cleanup_under_load(setup: Setup, files: Path) -> dict[str, object]:
    """The worker kept busy; its rate for STEADY_S seconds, then during the cleanup."""
    with running_worker(Configuration(*DEFAULT), setup, files) as worker:
        stop = files / "stop"
        load = [
            *(worker.project.python, "-m", "benchmarks.growth", "load", "--app", worker.app),
            *("--task", worker.task, "--completions", worker.completions, "--stop", stop),
        ]
        with background(load, worker.project.path, worker.environment, files / "load.log"):
            deadline = time.time() + READY_TIMEOUT
            while completions.count(worker.completions) < 100:  # Connections opened.
                if time.time() > deadline:
                    raise BenchmarkError(f"the load did not start:\n{tail(files / 'load.log')}")
                time.sleep(0.05)
            steady_from = time.time()
            time.sleep(STEADY_S)
            steady_to = time.time()
            cleaned = growth_command(worker.project, worker.environment, "cleanup")
            stop.touch()
    done = completions.times(worker.completions, 0, completions.count(worker.completions))

    def rate(start: float, end: float) -> float:
        return sum(start <= t < end for t in done) / (end - start)

    steady = rate(steady_from, steady_to)
    during = rate(cleaned["started_at"], cleaned["finished_at"])
    return {**cleaned, "steady_tasks_per_s": steady, "cleanup_tasks_per_s": during}


def cold_start(setup: Setup, runs: int) -> dict[str, dict[str, object]]:
    """Wall time of a fresh interpreter that loads the default render's Celery app, and
    bare Celery's for comparison, alternated; one untimed run each first."""
    project = setup.projects[DEFAULT]
    database = setup.databases[Configuration(*DEFAULT)]
    unused = UNUSED_BROKER[DEFAULT[0]]
    commands = {
        project.slug: (
            f"import django; django.setup(); import {project.slug}.celery",
            django_environment(project, database, unused, None),
        ),
        "bare Celery": (
            "import benchmarks.bare",
            {"BARE_BROKER_URL": unused, "BARE_RESULT_BACKEND": UNUSED_BROKER["redis"]},
        ),
        "cookiecutter-django's settings": ("import benchmarks.peer", {"PEER_BROKER_URL": unused}),
        "Django alone": ("import benchmarks.django_floor", {}),
        # What a container pays every few seconds for its liveness probe (fails here: no
        # worker runs; main() returns 1 and the interpreter still exits 0).
        "worker-alive probe": (
            "from infrastructure.health import main; main(['worker-alive'])",
            django_environment(project, database, unused, None),
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for attempt in range(runs + 1):
        for name, (code, environment) in commands.items():
            started = time.perf_counter()
            run_checked(
                [project.python, "-c", code],
                cwd=project.path,
                env={**clean_environment(), **environment},
            )
            if attempt:
                times[name].append(time.perf_counter() - started)
    return {
        name: {
            "command": f'python -c "{commands[name][0]}"',
            "runs_s": samples,
            "median_s": statistics.median(samples),
        }
        for name, samples in times.items()
    }


def machine(versions: dict[str, str | None] | None) -> dict[str, object]:
    """What these numbers were measured on."""

    def quiet(command: list[str]) -> str | None:
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return completed.stdout.strip() or None if completed.returncode == 0 else None

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    try:
        redis_version = redis.Redis.from_url(REDIS).info("server")["redis_version"]
    except redis.RedisError:
        redis_version = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model.group(1) if model else None,
        "memory_gib": round(int(memory.group(1)) / 2**20, 1) if memory else None,
        "platform": platform.platform(),
        "python_driver": platform.python_version(),
        "project_packages": versions,
        "redis_server": redis_version,
        "rabbitmq_server": quiet(["rabbitmqctl", "--quiet", "version"]),
        "postgresql_server": quiet(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "show server_version"]
        ),
    }


def median(rounds: list[dict[str, object]], key: str) -> float | None:
    values = [r[key] for r in rounds if r[key] is not None]
    return statistics.median(values) if values else None


def cell(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def report(results: dict[Configuration, list[dict[str, object]]], args, cold, grown) -> str:
    medians = {c: {k: median(rounds, k) for k in MEDIAN_KEYS} for c, rounds in results.items()}

    def row(c: Configuration, reference: Configuration, label: str) -> list[str]:
        m, base = medians[c], medians.get(reference)
        ratio = m["tasks_per_s"] / base["tasks_per_s"] if base else None
        return [
            label,
            cell(m["tasks_per_s"], 0),
            "n/a" if ratio is None else f"{ratio:.2f}",
            cell(m["enqueue_per_s"], 0),
            cell(m["get_p50_ms"], 1),
            cell(m["get_p99_ms"], 1),
            cell(m["ready_s"], 2),
            cell(m["worker_cpu_ms"], 2),
            cell(m["client_cpu_ms"], 2),
        ]

    columns = [
        "tasks/s",
        "enqueue/s",
        "get p50 ms",
        "get p99 ms",
        "ready s",
        "worker CPU ms/task",
        "client CPU ms/task",
    ]
    main_rows = [
        row(c, Configuration(c.broker, "redis", bare=True), c.name)
        for c in results
        if not c.overrides
    ]
    parts = [
        f"{args.tasks} tasks, {args.round_trips} round trips, medians of {args.rounds} "
        f"rounds; one prefork worker, concurrency 2; rendered projects with production settings",
    ]
    if main_rows:
        parts += [
            "",
            table(["configuration", columns[0], f"{TIMES} bare", *columns[1:]], main_rows),
        ]
    default = Configuration(*DEFAULT)
    variants = [c for c in results if c.overrides]
    if variants:
        variant_rows = [row(default, default, "as rendered")]
        variant_rows += [row(c, default, c.name.partition(" + ")[2]) for c in variants]
        header = [f"{', '.join(DEFAULT)} with", columns[0], f"{TIMES} as rendered", *columns[1:]]
        parts += ["", table(header, variant_rows)]
    if cold:
        bare = cold["bare Celery"]["median_s"]
        cold_rows = [
            [f"`{entry['command']}`", f"{entry['median_s']:.3f}", f"{entry['median_s'] / bare:.2f}"]
            for entry in cold.values()
        ]
        parts += ["", table(["cold start", "median s", f"{TIMES} bare"], cold_rows)]
    if grown:
        parts += ["", growth_report(grown)]
    goals = goal_rows(medians, cold) + growth_goal_rows(grown)
    if goals:
        parts += ["", table(["goal", "measured", "target"], goals)]
    return "\n".join(parts)


def growth_medians(grown: dict[str, object]) -> dict[int, dict[str, float]]:
    """Each result table size's medians over rounds."""
    keys = ("tasks_per_s", "get_p50_ms", "write_p50_ms", "read_p50_ms")
    return {size: {k: median(rounds, k) for k in keys} for size, rounds in grown["rows"].items()}


def growth_report(grown: dict[str, object]) -> str:
    """The tables of --growth: result rows, the cleanup, beat."""
    rows = [
        [
            f"{size:,}",
            cell(m["tasks_per_s"], 0),
            cell(m["get_p50_ms"], 1),
            cell(m["write_p50_ms"], 2),
            cell(m["read_p50_ms"], 2),
        ]
        for size, m in growth_medians(grown).items()
    ]
    c = grown["cleanup"]
    cleanup_row = [
        f"{c['deleted']:,}",
        f"{c['batches']:,}",
        f"{c['total_s']:.1f}",
        f"{c['longest_batch_s'] * 1000:.0f}",
        f"{c['median_batch_s'] * 1000:.0f}",
        f"{c['steady_tasks_per_s']:.0f}",
        f"{c['cleanup_tasks_per_s']:.0f}",
        f"{c['cleanup_tasks_per_s'] / c['steady_tasks_per_s']:.2f}",
    ]
    beat_rows = [
        [
            f"{b['periodic_tasks']:,}",
            f"{b['setup_s']:.2f}",
            f"{b['tick_cpu_ms']:.2f}",
            f"{b['queries_per_tick']:g}",
        ]
        for b in grown["beat"].values()
    ]
    return "\n".join(
        [
            "As the tables grow (--growth), the default render: result rows in the table "
            "when each round starts; write and read: the worker's result write and one poll "
            "of .get(), timed in the project's process",
            "",
            table(["result rows", "tasks/s", "get p50 ms", "write p50 ms", "read p50 ms"], rows),
            "",
            table(
                [
                    "expired rows deleted",
                    "batches",
                    "total s",
                    "longest batch ms",
                    "median batch ms",
                    "tasks/s before",
                    "tasks/s during",
                    f"{TIMES} before",
                ],
                [cleanup_row],
            ),
            "",
            table(
                ["periodic tasks", "start-up s", "CPU ms per tick", "statements per tick"],
                beat_rows,
            ),
        ]
    )


def growth_goal_rows(grown: dict[str, object] | None) -> list[list[str]]:
    """Issue 15's "flat as data grows" goals, each figure beside its target."""
    if not grown:
        return []
    (few_rows, few), (many_rows, many) = growth_medians(grown).items()
    cleanup = grown["cleanup"]
    few_tasks, many_tasks = (b["periodic_tasks"] for b in grown["beat"].values())
    few_beat, many_beat = grown["beat"].values()
    than_few = f"at {many_rows:,} result rows {TIMES} at {few_rows:,}"
    figures = [
        (f"get p50 {than_few}", many["get_p50_ms"] / few["get_p50_ms"], ".2f", "<= 1.2"),
        (
            f"result write p50 {than_few}",
            many["write_p50_ms"] / few["write_p50_ms"],
            ".2f",
            "<= 1.2",
        ),
        (f"tasks/s {than_few}", many["tasks_per_s"] / few["tasks_per_s"], ".2f", ">= 0.8"),
        (
            f"cleanup of {cleanup['deleted']:,} expired rows: batches",
            cleanup["batches"],
            ",",
            "> 1",
        ),
        (
            "cleanup: longest batch ms (its locks held)",
            cleanup["longest_batch_s"] * 1000,
            ".0f",
            CLEANUP_LOCK_TARGET,
        ),
        (
            f"tasks/s during the cleanup {TIMES} before",
            cleanup["cleanup_tasks_per_s"] / cleanup["steady_tasks_per_s"],
            ".2f",
            ">= 0.8",
        ),
        (
            f"beat start-up s, {many_tasks:,} periodic tasks",
            many_beat["setup_s"],
            ".2f",
            "measured",
        ),
        (
            f"beat CPU ms per tick, {many_tasks:,} periodic tasks",
            many_beat["tick_cpu_ms"],
            ".2f",
            "measured",
        ),
        (
            f"beat statements per tick (nothing changed), {many_tasks:,} {TIMES} {few_tasks} tasks",
            many_beat["queries_per_tick"] / few_beat["queries_per_tick"],
            ".2f",
            "1 (none grows)",
        ),
    ]
    return [[name, format(value, spec), target] for name, value, spec, target in figures]


def goal_rows(
    medians: dict[Configuration, dict[str, float | None]], cold: dict[str, dict[str, object]]
) -> list[list[str]]:
    """The performance goals (issue 15), each figure beside its target, where measured."""
    default, broker = Configuration(*DEFAULT), DEFAULT[0]
    bare = medians.get(Configuration(broker, "redis", bare=True))
    peer = medians.get(Configuration(broker, "redis", peer=True))
    rows = []

    def ratio(
        c: Configuration, reference: dict[str, float | None] | None, key: str = "tasks_per_s"
    ) -> float | None:
        if c not in medians or not reference or not reference[key]:
            return None
        return medians[c][key] / reference[key]

    figures = [
        (f"{', '.join(DEFAULT)} tasks/s {TIMES} bare", ratio(default, bare), ".2f", ">= 0.75"),
        (
            f"{broker}, redis tasks/s {TIMES} bare",
            ratio(Configuration(broker, "redis"), bare),
            ".2f",
            ">= 0.9",
        ),
        (
            f"{', '.join(DEFAULT)} tasks/s {TIMES} cookiecutter-django's",
            ratio(default, peer),
            ".2f",
            "> 1",
        ),
        # The first goal again as the worker's CPU per task: where the worker's CPU is
        # what limits the rate, 0.75x the rate is 1/0.75 the CPU. Set beside the rate, it
        # says how much of a gap is the worker's own work and how much waiting on the
        # database or the broker (whose CPU is not counted).
        (
            f"{', '.join(DEFAULT)} worker CPU ms/task {TIMES} bare",
            ratio(default, bare, "worker_cpu_ms"),
            ".2f",
            "<= 1.33",
        ),
        (
            f"{', '.join(DEFAULT)} get p50 ms",
            medians.get(default, {}).get("get_p50_ms"),
            ".1f",
            "<= 5",
        ),
    ]
    if cold and "Django alone" in cold:
        project = next(name for name in cold if name not in COLD_REFERENCES)
        figures.append(
            (
                f"cold start {TIMES} Django alone",
                cold[project]["median_s"] / cold["Django alone"]["median_s"],
                ".2f",
                "<= 1.3",
            )
        )
    for name, value, spec, target in figures:
        if value is not None:
            rows.append([name, format(value, spec), target])
    return rows


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, default=3000, help="tasks per throughput run")
    parser.add_argument("--round-trips", type=int, default=300, help=".get() latency samples")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all configurations")
    parser.add_argument(
        "--only",
        help="configurations whose name contains this text (and "
        "the bare Celery and default render their ratios need)",
    )
    parser.add_argument("--cold-start-runs", type=int, default=10, help="timed imports")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="raw numbers (JSON)")
    parser.add_argument(
        "--results",
        type=Path,
        help=f"the tables with the machine (Markdown; default: {RESULTS.name}/<date>.md there)",
    )
    parser.add_argument("--list", action="store_true", help="list the configurations and stop")
    parser.add_argument(
        "--growth",
        nargs="?",
        const="also",
        choices=("also", "only"),
        help=f"also measure the default render as its tables grow: {GROWTH_FEW_ROWS:,} against "
        "--growth-rows result rows, the cleanup of that many expired ones under load, beat "
        f"with {GROWTH_FEW_TASKS} and --growth-periodic-tasks periodic tasks (about 6 "
        "minutes more with the defaults); --growth only: that alone",
    )
    parser.add_argument("--growth-rows", type=int, default=1_000_000, help="with --growth")
    parser.add_argument("--growth-periodic-tasks", type=int, default=1000, help="with --growth")
    parser.add_argument("--growth-ticks", type=int, default=200, help="beat ticks timed")
    args = parser.parse_args(argv)
    for name in ("tasks", "round_trips", "rounds", "cold_start_runs", "growth_ticks"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.growth_rows <= GROWTH_FEW_ROWS or args.growth_periodic_tasks <= GROWTH_FEW_TASKS:
        parser.error(
            f"--growth-rows must be over {GROWTH_FEW_ROWS:,}, and --growth-periodic-tasks "
            f"over {GROWTH_FEW_TASKS}: the figures they give are compared with those"
        )
    args.warmup = min(200, max(10, args.tasks // 10))
    return args


def benchmark(args: argparse.Namespace) -> int:
    # The configurations measured in rounds; --growth only measures the default render's
    # growth alone, which needs its project baked all the same.
    measured = [] if args.growth == "only" else select(args.only)
    configurations = measured or [Configuration(*DEFAULT)]
    if args.growth and Configuration(*DEFAULT) not in configurations:
        raise BenchmarkError(f"--growth measures {', '.join(DEFAULT)}: --only must include it")
    if args.list:
        print("\n".join(c.name for c in measured))
        return 0
    started_at = datetime.now(UTC)
    (CACHE / "runs").mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE / "runs"))
    results: dict[Configuration, list[dict[str, object]]] = {c: [] for c in measured}
    try:
        with ExitStack() as stack:
            setup = prepare(configurations, run_dir, stack)
            stack.enter_context(collector_for(configurations))
            cold = None
            if Configuration(*DEFAULT) in measured:
                log(f"cold start: {args.cold_start_runs} runs")
                cold = cold_start(setup, args.cold_start_runs)
            for number in range(args.rounds if measured else 0):
                # Round-robin, each round starting one configuration further on.
                shift = number % len(measured)
                for c in measured[shift:] + measured[:shift]:
                    files = run_dir / f"round{number + 1}-{measured.index(c)}"
                    result = {"round": number + 1, **measure(c, setup, args, files)}
                    results[c].append(result)
                    p50 = result["get_p50_ms"]
                    log(
                        f"round {number + 1}/{args.rounds} {c.name}: "
                        f"{result['tasks_per_s']:.0f} tasks/s, "
                        f"enqueue {result['enqueue_per_s']:.0f}/s, "
                        f"get p50 {'n/a' if p50 is None else f'{p50:.1f} ms'}, "
                        f"ready {result['ready_s']:.2f} s, "
                        f"worker CPU {result['worker_cpu_ms']:.2f} ms/task"
                    )
            grown = growth(setup, args, run_dir) if args.growth else None
    except BaseException:
        log(f"logs kept in {run_dir}")
        raise
    shutil.rmtree(run_dir, ignore_errors=True)

    text = report(results, args, cold, grown)
    print(text, flush=True)
    default_rounds = (
        results.get(Configuration(*DEFAULT))
        or next(iter(results.values()), None)
        or next(iter(grown["rows"].values()))
    )
    document = {
        "command": ["scripts/benchmark", *sys.argv[1:]],
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: v for k, v in vars(args).items() if k not in ("output", "results", "list")},
        "worker_command": ["celery", "-A", "benchmarks.probe:app", *WORKER_ARGUMENTS],
        "machine": machine(default_rounds[0]["versions"]),
        "configurations": [
            {
                "name": c.name,
                "kind": c.kind,
                "broker": c.broker,
                "result_backend": c.result_backend,
                "environment": dict(c.overrides),
                "median": {key: median(rounds, key) for key in MEDIAN_KEYS},
                "rounds": rounds,
            }
            for c, rounds in results.items()
        ],
        "cold_start": cold,
        "growth": grown,
        "table": text,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    log(f"raw numbers: {args.output}")
    results = args.results or RESULTS / f"{started_at:%Y-%m-%d}.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(results_page(document))
    log(f"tables: {results}")
    return 0


def results_page(document: dict[str, object]) -> str:
    """One run's tables, with the command, the date and the machine that produced them."""
    machine = document["machine"]
    packages = ", ".join(
        f"{name} {version}" for name, version in machine["project_packages"].items()
    )
    return (
        f"# Benchmark results, {document['started_at'][:10]}\n\n"
        f"`{' '.join(document['command'])}`, started {document['started_at']}.\n\n"
        f"Machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB, "
        f"{machine['platform']}; Python {machine['python_driver']} (driver); {packages}; "
        f"Redis {machine['redis_server']}, RabbitMQ {machine['rabbitmq_server']}, "
        f"PostgreSQL {machine['postgresql_server']}.\n\n"
        f"{document['table']}\n"
    )


def main(argv: list[str]) -> int:
    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # Unwinds, so workers stop and services go.

    signal.signal(signal.SIGTERM, terminate)
    try:
        return benchmark(parse(argv))
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

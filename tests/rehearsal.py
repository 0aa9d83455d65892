"""Start a rendered project's processes exactly as its deploy files declare them.

There is no Docker engine or systemd here, so the rehearsal reads the files and does what
they would do, on this machine: the command lines come from compose.yaml, the Dockerfile
and the systemd units; the environment from the example environment files filled in with
test values; the service host names (postgres, redis, rabbitmq) become the test's own
isolated PostgreSQL database, Redis database and RabbitMQ virtual host. Paths the files
name (/app, /venv, /srv/<slug>, /run/<slug>, ...) are mapped into the test's directory, and
each container or unit gets a temporary directory of its own, as PrivateTmp and container
filesystems give them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TIMEOUT = 90  # Seconds for a process to come up or a probe to pass on a loaded machine.


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an environment file (.env, systemd's EnvironmentFile)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def filled(template: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """The template's variables, each empty one given its test value; fails on one left empty.

    A variable the file leaves empty is one the user must fill in: the test must know
    a value for it, or the file asks for something the test (and the README) never said.
    """
    result = {key: value or values.get(key, "") for key, value in template.items()}
    missing = [key for key, value in result.items() if not value]
    assert not missing, f"no test value for {missing}, which the example file leaves empty"
    return result


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} interpolation."""

    def substitute(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = variables.get(name, "")
        if operator == ":?" and not value:
            raise AssertionError(f"compose would refuse to start: {argument}")
        if operator == ":-" and not value:
            return argument
        return value

    return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", substitute, text)


def expand_systemd(text: str, variables: Mapping[str, str]) -> str:
    """systemd's ${NAME} (one word) and $NAME expansion in ExecStart= lines."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables[m.group(1) or m.group(2)], text)


def unit_file(path: Path, instance: str = "") -> dict[str, list[str]]:
    """A systemd unit's [Service] settings: name -> every value given, continuations joined.

    Of a template unit (name@.service), the instance's: %i is the instance, %% a percent sign.
    """
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    text = re.sub(r"%([i%])", lambda m: instance if m.group(1) == "i" else "%", text)
    settings: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


@dataclass
class Dockerfile:
    """A stage of a Dockerfile: its ENV, RUN after the code is copied, WORKDIR, CMD."""

    name: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    workdir: str = "/"
    cmd: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path, name: str | None = None) -> Dockerfile:
        """The stage called `name` (FROM ... AS name), or the last one."""
        text = re.sub(r"\\\n\s*", " ", path.read_text())
        stage = cls()
        code_copied = False
        for line in text.splitlines():
            instruction, _, rest = line.strip().partition(" ")
            if instruction == "FROM":
                if name and stage.name == name:
                    break
                stage, code_copied = cls(name=rest.partition(" AS ")[2] or None), False
            elif instruction == "ENV":
                stage.env.update(pair.split("=", 1) for pair in shlex.split(rest))
            elif instruction == "WORKDIR":
                stage.workdir = rest
            elif instruction == "COPY" and rest.split()[-1] in (".", "./"):
                code_copied = True
            elif instruction == "RUN" and code_copied:
                stage.runs.append(rest)
            elif instruction == "CMD":
                stage.cmd = yaml.safe_load(rest)
        if name and stage.name != name:
            raise ValueError(f"{path} has no stage {name}")
        return stage


def bytecode_compiled(venv: Path) -> bool:
    """Whether the virtualenv's packages came with their bytecode (Celery's stands for all)."""
    [site_packages] = (venv / "lib").glob("python3.*/site-packages")
    return any((site_packages / "celery" / "app").glob("__pycache__/base.*.pyc"))


class Paths:
    """Maps the absolute paths that deploy files name into the test's own directory."""

    def __init__(self, mapping: Mapping[str, Path]) -> None:
        # Longest first, so /var/lib/proj wins over /var/lib.
        self.mapping = sorted(mapping.items(), key=lambda item: -len(item[0]))

    def __call__(self, text: str) -> str:
        for prefix, target in self.mapping:
            text = re.sub(rf"(?<![\w/]){re.escape(prefix)}(?=/|\b|$)", str(target), text)
        return text


def point_at(url: str, service_urls: Mapping[str, str]) -> str:
    """A URL whose host is a compose service (postgres, redis...) becomes the test's own."""
    host = urllib.parse.urlsplit(url).hostname
    return service_urls.get(host, url) if host else url


@dataclass
class Process:
    """A started process: a compose service or a systemd unit."""

    name: str
    popen: subprocess.Popen
    log: Path
    env: dict[str, str]
    cwd: Path
    main_process_only: bool = False  # What SIGTERM reaches: the process, or its group.

    def seen_from(self, env: Mapping[str, str]) -> Process:
        """The same process, for probes run with another environment (a shell on the host)."""
        return Process(self.name, self.popen, self.log, dict(env), self.cwd)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = TIMEOUT) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.output()):
                return match
            assert self.popen.poll() is None, f"{self.name} exited:\n{self.output()[-4000:]}"
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} in {self.name}'s log:\n{self.output()[-4000:]}")

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, as compose and systemd stop it, then SIGKILL if it lingers."""
        for stop in (signal.SIGTERM, signal.SIGKILL):
            try:
                if stop == signal.SIGTERM and self.main_process_only:
                    os.kill(self.popen.pid, stop)
                else:
                    os.killpg(self.popen.pid, stop)
                self.popen.wait(timeout=timeout)
                with contextlib.suppress(ProcessLookupError):  # What is left of its group.
                    os.killpg(self.popen.pid, signal.SIGKILL)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def run_to_end(
    command: list[str] | str, env: Mapping[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a one-shot command (a list, or a shell line); fail with its output if it fails."""
    completed = subprocess.run(
        command,
        shell=isinstance(command, str),
        executable="/bin/bash" if isinstance(command, str) else None,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, (
        f"{command} exited {completed.returncode}\n"
        f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"
    )
    return completed


@contextmanager
def started(processes: list[Process]) -> Iterator[list[Process]]:
    """Stop every process in the list when the block ends, whatever happened."""
    try:
        yield processes
    finally:
        for process in reversed(processes):
            process.stop()


def start(name: str, command: list[str], env: Mapping[str, str], cwd: Path, logs: Path) -> Process:
    log = logs / f"{name}.log"
    popen = subprocess.Popen(
        command,
        env=dict(env),
        cwd=cwd,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Process(name, popen, log, dict(env), cwd)


def probe(command: list[str], process: Process) -> subprocess.CompletedProcess[str]:
    """Run a health check command in the process's environment, as its container would."""
    return subprocess.run(
        command, env=process.env, cwd=process.cwd, capture_output=True, text=True, timeout=60
    )


def wait_until_healthy(command: list[str], process: Process, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        checked = probe(command, process)
        if checked.returncode == 0:
            return
        assert process.popen.poll() is None, f"{process.name} exited:\n{process.output()[-4000:]}"
        assert time.monotonic() < deadline, (
            f"{shlex.join(command)} still fails after {timeout} s: {checked.stderr}\n"
            f"{process.name}'s log:\n{process.output()[-4000:]}"
        )
        time.sleep(1)


def compose_services(project: Path, variables: Mapping[str, str]) -> dict[str, dict]:
    """compose.yaml's services, interpolated with `variables` as compose reads them from .env."""
    text = interpolate((project / "compose.yaml").read_text(), variables)
    return yaml.safe_load(text)["services"]


class Browser:
    """An HTTP client that keeps cookies and speaks to one server, as a user's browser does.

    `proxy_headers` are added to every request: X-Forwarded-Proto: https stands for the
    TLS-terminating proxy that production settings expect in front of the site.
    """

    def __init__(self, port: int, host: str, proxy_headers: Mapping[str, str] = {}) -> None:
        self.port, self.host, self.proxy_headers = port, host, dict(proxy_headers)
        self.cookies: dict[str, str] = {}

    def request(
        self, path: str, form: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": self.host, **self.proxy_headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            scheme = "https" if self.proxy_headers.get("X-Forwarded-Proto") == "https" else "http"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"{scheme}://{self.host}"
            headers["Referer"] = f"{scheme}://{self.host}{path}"
        connection.request("POST" if form is not None else "GET", path, body, headers)
        response = connection.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, _ = value.partition(";")
                key, _, content = cookie.partition("=")
                self.cookies[key.strip()] = content.strip()
        text = response.read().decode(errors="replace")
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def csrf_token(self, path: str) -> str:
        status, _, page = self.request(path)
        assert status == 200, f"GET {path} answered {status}:\n{page[:2000]}"
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def log_in(self, username: str, password: str) -> None:
        token = self.csrf_token("/admin/login/")
        form = {"csrfmiddlewaretoken": token, "username": username, "password": password}
        status, headers, page = self.request("/admin/login/?next=/admin/", form)
        assert status == 302 and headers["location"] == "/admin/", (status, page[:2000])


class SmtpSink:
    """An SMTP server on loopback that accepts every message and keeps it, for mail tests."""

    def __init__(self) -> None:
        import socketserver
        import threading

        sink = self
        self.messages: list[str] = []

        class Session(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink ready\r\n")
                while line := self.rfile.readline():
                    command = line.decode(errors="replace").strip().upper()
                    if command.startswith("DATA"):
                        self.wfile.write(b"354 go ahead\r\n")
                        lines = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(data.decode(errors="replace"))
                        sink.messages.append("".join(lines))
                        self.wfile.write(b"250 queued\r\n")
                    elif command.startswith("QUIT"):
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # EHLO, HELO, MAIL FROM, RCPT TO, RSET, NOOP.
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def readme_blocks(readme: str, heading: str) -> list[tuple[str, str]]:
    """The fenced blocks, (language, text), of the README section whose heading starts so."""
    section = readme.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w*)\n(.*?)```", section, flags=re.DOTALL)


def console_commands(block: str) -> list[tuple[str, str]]:
    """A console block's commands (`$ ...`, continuations joined) and the output shown after."""
    commands: list[tuple[str, str]] = []
    for line in re.sub(r"\\\n\s*", " ", block).splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], ""))
        elif commands:
            command, output = commands[-1]
            commands[-1] = (command, output + line + "\n")
    return commands


class HttpSink:
    """An HTTP server on loopback that answers every POST with 200 and keeps its body.

    Stands in for an OpenTelemetry collector (OTLP over HTTP posts protobuf to
    /v1/traces): the bytes hold each span's service name as plain text.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        sink = self
        self.posts: list[tuple[str, bytes]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.posts.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # Quiet: the test reads self.posts.

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, path: str, text: bytes, timeout: float = TIMEOUT) -> bool:
        """Whether a POST to `path` whose body contains `text` arrives within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p == path and text in body for p, body in list(self.posts)):
                return True
            time.sleep(0.2)
        return False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Health probes for Docker health checks and Kubernetes probes, one command each.

`python -m infrastructure.health PROBE...` runs the probes named:

    web-alive       the web server answers /health/
    worker-alive    the worker runs: its liveness file is fresh (needs no broker)
    worker-ready    the worker answers a ping through the broker
    beat-alive      beat answers a ping through the broker, or waits as a standby
{%- if cookiecutter.use_flower %}
    flower-alive    Flower answers /healthcheck
{%- endif %}

It exits 0 when all pass and 1 otherwise, saying why in one line. --node names the worker
or beat as its --hostname did (default: the name it takes on this host, celery@host or
celerybeat@host).
"""

import argparse
import os
import re
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from dotenv import load_dotenv

from .liveness import liveness_file, standby_file

HEALTH_PATH = "/health/"


def web_alive(options: argparse.Namespace) -> str | None:
    """The server on PORT (gunicorn's own variable; default 8000) answers /health/."""
    return answers(f"http://127.0.0.1:{os.environ.get('PORT') or 8000}{HEALTH_PATH}", options)
{%- if cookiecutter.use_flower %}


def flower_alive(options: argparse.Namespace) -> str | None:
    """Flower on FLOWER_PORT (Flower's own variable; default 5555) answers /healthcheck."""
    return answers(f"http://127.0.0.1:{os.environ.get('FLOWER_PORT') or 5555}/healthcheck", options)
{%- endif %}


def answers(url: str, options: argparse.Namespace) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=options.timeout):
            return None
    except OSError as error:  # Refused, timed out, or an HTTP error status.
        return f"{url} did not answer: {error}"


def worker_alive(options: argparse.Namespace) -> str | None:
    """The worker's liveness file is younger than --max-age; needs no broker.

    The probe finds the file where the worker keeps it, with no option or variable of its
    own: liveness_directory() gives both the same answer (see liveness.py).
    """
    node = node_name(options.node, "celery")
    path = liveness_file(node)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return f"{path} does not exist: no worker named {node} runs on this host"
    if age > options.max_age:
        return f"{path} is {age:.0f} s old (over {options.max_age:g} s): {node} is gone or frozen"
    return None


def worker_ready(options: argparse.Namespace) -> str | None:
    """The worker answers a ping: it is connected to the broker and its loop turns."""
    return ping(node_name(options.node, "celery"), options)


def beat_alive(options: argparse.Namespace) -> str | None:
    """Beat answers a ping (CELERY_BEAT_ENABLE_REMOTE_CONTROL), or is a standby.

    Celery stops answering for beat once its scheduler has not ticked for twice its
    longest sleep (at least 60 s), so a stuck beat fails this probe too. A standby beat
    (beat_leader.py) does not answer pings until it leads: it passes while its standby
    file is younger than --max-age, so it is not restarted for waiting.
    """
    node = node_name(options.node, "celerybeat")
    try:
        if time.time() - standby_file(node).stat().st_mtime <= options.max_age:
            return None
    except FileNotFoundError:
        pass  # Not a standby: the leader, or no beat.
    return ping(node, options)


def node_name(given: str | None, default_name: str) -> str:
    """The node name of a worker (or beat) started with --hostname `given`.

    As Celery builds it (celery.utils.nodenames: default_nodename, then host_format),
    written out because importing Celery's module costs the probe a quarter of a second;
    infrastructure/tests/test_health.py checks that both give the same names.
    """
    host = socket.gethostname()
    name, at, node_host = (given or "").partition("@")
    if not at:  # A bare --hostname is the host half.
        name, node_host = "", name
    short, _, domain = host.partition(".")
    # %i and %I are a pool process's index: in the worker's main process, "0" and "".
    fields = {"h": host, "n": short, "d": domain, "i": "0", "I": "", "%": "%"}

    def expand(match: re.Match) -> str:
        if match[1] not in fields:
            raise SystemExit(f"--node {given}: %{match[1]} is not one of %h %n %d %i %I %%")
        return fields[match[1]]

    return re.sub(r"%([%\w])", expand, f"{name or default_name}@{node_host or host}")


def ping(node: str, options: argparse.Namespace) -> str | None:
    from {{ cookiecutter.project_slug }}.celery import app

    try:
        replies = app.control.ping(destination=[node], timeout=options.timeout, limit=1)
    except Exception as error:  # The broker is unreachable: say so, as a failed probe.
        return f"could not ping {node}: {error!r}"
    if any(node in reply for reply in replies):
        return None
    return f"{node} did not answer a ping within {options.timeout:g} s"


PROBES: dict[str, Callable[[argparse.Namespace], str | None]] = {
    "web-alive": web_alive,
    "worker-alive": worker_alive,
    "worker-ready": worker_ready,
    "beat-alive": beat_alive,
{%- if cookiecutter.use_flower %}
    "flower-alive": flower_alive,
{%- endif %}
}


def main(argv: list[str] | None = None) -> int:
    # Containers run the probes every few seconds, so a probe that needs no broker imports
    # neither Django nor Celery: only ping() loads the project's Celery app. Importing the
    # project package would load it, so .env is read here as its __init__.py reads it.
    load_dotenv(Path(__file__).resolve().parent.parent / ".env")
    parser = argparse.ArgumentParser(
        prog="python -m infrastructure.health",
        description="Exit 0 when every probe named passes, 1 otherwise.",
    )
    parser.add_argument("probes", nargs="+", choices=PROBES, metavar="PROBE")
    parser.add_argument("--node", help="the worker's or beat's --hostname (default: its default)")
    parser.add_argument(
        "--max-age",
        type=float,
        default=30.0,
        help="worker-alive's and a standby beat's limit, in seconds (30)",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="per probe, in seconds (5)")
    options = parser.parse_args(argv)

    healthy = True
    for name in options.probes:
        problem = PROBES[name](options)
        if problem is None:
            print(f"{name}: ok")
        else:
            print(f"{name}: {problem}", file=sys.stderr)
            healthy = False
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())

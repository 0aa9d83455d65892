"""Run the health probes as a process, the way Docker, systemd or Kubernetes run them."""

import os
import subprocess
import sys

from django.conf import settings


def probe(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run the health command (`python -m infrastructure.health`) as Docker or Kubernetes does."""
    return subprocess.run(
        [sys.executable, "-m", "infrastructure.health", *arguments],
        cwd=settings.BASE_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )

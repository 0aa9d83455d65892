"""python -m benchmarks [options]: see run.py, or pass --help."""

import sys
from pathlib import Path

# The benchmark shares tests/projects.py (virtualenvs) and tests/services.py (isolated
# Redis databases, RabbitMQ virtual hosts, PostgreSQL databases) with the test suite.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from benchmarks.run import main

sys.exit(main(sys.argv[1:]))

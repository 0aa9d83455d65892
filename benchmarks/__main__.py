"""python -m benchmarks [options]: see run.py, or pass --help."""

import sys

from benchmarks.run import main

sys.exit(main(sys.argv[1:]))

"""Flower's configuration file, read from the working directory by `celery flower`.

Flower takes its options from FLOWER_<OPTION> environment variables (FLOWER_BASIC_AUTH,
FLOWER_COOKIE_SECRET, FLOWER_PORT...); this file only makes basic auth mandatory. Flower
shows every task's arguments and results, and can revoke tasks and shut workers down: it
must never run open.
"""

import os
import sys

if not os.environ.get("FLOWER_BASIC_AUTH"):
    sys.exit(
        "FLOWER_BASIC_AUTH is not set: Flower refuses to start without basic auth. "
        "Set it to user:password (comma-separated for several users)."
    )

"""Settings of the web process test_tracing.py starts: the test settings, one URL more.

The project's own URLs send no task; tests/integration/urls.py has one that does.
"""

from {{ cookiecutter.project_slug }}.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.integration.urls"

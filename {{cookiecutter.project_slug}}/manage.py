#!/usr/bin/env python
"""Django's command-line utility: development settings unless DJANGO_SETTINGS_MODULE is set."""

import os
import sys


def main() -> None:
    # The project reads .env when imported: DJANGO_SETTINGS_MODULE may be set there.
    import {{ cookiecutter.project_slug }}  # noqa: F401

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

"""WSGI entry point for production servers (gunicorn, uWSGI)."""

import os

from django.core.wsgi import get_wsgi_application

# Production unless DJANGO_SETTINGS_MODULE, in the environment or .env, says otherwise.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings.prod")

application = get_wsgi_application()

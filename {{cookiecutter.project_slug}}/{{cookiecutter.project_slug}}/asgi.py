"""ASGI entry point for production servers (uvicorn, daphne)."""

import os

from django.core.asgi import get_asgi_application

# Production unless DJANGO_SETTINGS_MODULE, in the environment or .env, says otherwise.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings.prod")

application = get_asgi_application()

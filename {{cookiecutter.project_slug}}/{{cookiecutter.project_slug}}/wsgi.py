"""WSGI entry point for production servers (gunicorn, uWSGI)."""

import os

from django.core.wsgi import get_wsgi_application

from infrastructure.observability import trace_web_process

# Production unless DJANGO_SETTINGS_MODULE, in the environment or .env, says otherwise.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings.prod")

# Traces requests when OTEL_EXPORTER_OTLP_ENDPOINT is set; before the application loads
# its middleware, which the tracing adds to.
trace_web_process()

application = get_wsgi_application()

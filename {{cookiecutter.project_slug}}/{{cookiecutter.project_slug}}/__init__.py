from pathlib import Path

from dotenv import load_dotenv

# Every process imports this package first, whatever starts it (manage.py, gunicorn,
# celery, the health probes): read the project's .env here, so that all of them see the
# same configuration. Variables set in the real environment win over the file.
load_dotenv(Path(__file__).resolve().parent.parent / ".env")

# Load the Celery app whenever Django starts, so @shared_task binds to it.
from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)

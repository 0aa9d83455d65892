import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class BaseConfig(AppConfig):
    name = "base"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registers the checks, connects the receivers)

        if getattr(settings, "TASKS_RUN_INLINE", False):
            logger.info(
                "CELERY_BROKER_URL is not set: Celery tasks run inline in this process "
                "(eager mode). Set it to a Redis or RabbitMQ URL to use workers."
            )

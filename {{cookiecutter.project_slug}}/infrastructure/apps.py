import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class InfrastructureConfig(AppConfig):
    name = "infrastructure"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        if getattr(settings, "TASKS_RUN_INLINE", False):
            logger.info(
                "CELERY_BROKER_URL is not set: Celery tasks run inline in this process "
                "(eager mode). Set it to a Redis or RabbitMQ URL to use workers."
            )

"""Start tasks from model signals, once the database transaction has committed."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .tasks import send_welcome_email


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def welcome_new_user(sender, instance, created: bool, **kwargs) -> None:
    """Queue the welcome email for a new user after the row is committed.

    delay_on_commit waits for the transaction: a worker could otherwise run the task
    before the commit and not find the user, and a rolled-back user gets no email.
    """
    if created:
        send_welcome_email.delay_on_commit(instance.pk)

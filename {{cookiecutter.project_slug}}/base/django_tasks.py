"""An example task written with Django's task API (django.tasks), run by the Celery workers.

Write a task this way when the code that enqueues it should not depend on Celery (a
reusable app, a library): it names only Django. Celery's tasks (base/tasks.py) stay the
project's main tool: retries, chains and chords, beat, routing, progress. README.md,
"Django's task API", says which to use when.
"""

from django.core.mail import send_mail
from django.tasks import task


@task
def send_notification(recipient: str, subject: str, body: str) -> int:
    """Email one recipient; return how many messages were sent (1).

    Its arguments and return value are JSON, as a Celery task's are: pass an address,
    not a user object.
    """
    return send_mail(subject, body, None, [recipient])

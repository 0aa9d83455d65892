"""Django's own start-up floor: the cold start the template's processes cannot go below.

Django with the PostgreSQL driver and only auth and contenttypes installed, set up as a
project's settings would set it up; no Celery. The benchmark times `import` of this
module beside the rendered project's Celery app.
"""

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused"}},
    USE_TZ=True,
)
django.setup()

import django.db.backends.postgresql.base  # noqa: E402  The driver, as a first query would load it.

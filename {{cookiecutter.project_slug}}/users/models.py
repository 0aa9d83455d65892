from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user (AUTH_USER_MODEL): Django's fields, yours to add to.

    Django advises a model of the project's own for every new project: switching to one
    once tables refer to auth.User is a long migration by hand. Refer to it as
    settings.AUTH_USER_MODEL in models and get_user_model() in code, as base/ does.
    """

"""A task started from a signal runs only once the transaction commits."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_user_is_welcomed_after_commit() -> None:
    with transaction.atomic():
        get_user_model().objects.create_user("ada", email="ada@example.com")
        assert mail.outbox == []  # Not before the commit.

    assert [message.to for message in mail.outbox] == [["ada@example.com"]]


def test_a_rolled_back_user_is_not_welcomed() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        get_user_model().objects.create_user("bob", email="bob@example.com")
        raise RuntimeError("roll back")

    assert mail.outbox == []
    assert not get_user_model().objects.filter(username="bob").exists()


def test_a_user_without_email_gets_none() -> None:
    get_user_model().objects.create_user("carol")

    assert mail.outbox == []

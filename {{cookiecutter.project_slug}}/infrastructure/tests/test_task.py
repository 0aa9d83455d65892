"""The project's task class: no countdown the broker cannot keep."""

from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone

# Inline tasks store their results, as a worker would (settings/test.py).
pytestmark = pytest.mark.django_db


@shared_task
def echo(value: str) -> str:
    return value


def test_a_countdown_or_eta_beyond_what_the_broker_holds_is_refused(settings) -> None:
    settings.BROKER_LONGEST_COUNTDOWN = 3600

    with pytest.raises(ValueError, match=r"countdown or eta 3601 s ahead .* would run twice"):
        echo.apply_async(("late",), countdown=3601)
    with pytest.raises(ValueError, match="BROKER_LONGEST_COUNTDOWN"):
        echo.apply_async(("late",), eta=timezone.now() + timedelta(hours=2))
    with pytest.raises(ValueError, match="BROKER_LONGEST_COUNTDOWN"):
        echo.apply_async(("late",), eta=(timezone.now() + timedelta(hours=2)).isoformat())

    assert echo.apply_async(("soon",), countdown=3600).get() == "soon"
    assert echo.apply_async(("now",)).get() == "now"


def test_any_countdown_goes_where_the_broker_sets_no_limit(settings) -> None:
    settings.BROKER_LONGEST_COUNTDOWN = None

    assert echo.apply_async(("late",), countdown=10**6).get() == "late"

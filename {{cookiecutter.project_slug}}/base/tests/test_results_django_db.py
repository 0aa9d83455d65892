"""With the django-db result backend, results are rows in the project's database."""

import pytest
from django_celery_results.models import TaskResult

from base.tasks import add

pytestmark = pytest.mark.django_db


def test_a_result_is_stored_as_a_task_result_row() -> None:
    result = add.delay(2, 3)

    row = TaskResult.objects.get(task_id=result.id)
    assert row.status == "SUCCESS"
    assert row.task_name == "base.tasks.add"
    assert row.result == "5"

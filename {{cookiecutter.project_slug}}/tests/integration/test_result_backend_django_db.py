"""With the django-db backend, a result is a django_celery_results TaskResult row."""

from django_celery_results.models import TaskResult

from base.tasks import add

from .conftest import TIMEOUT


def test_the_result_is_a_task_result_row_written_by_the_worker(worker) -> None:
    result = add.delay(20, 22)
    result.get(timeout=TIMEOUT)

    row = TaskResult.objects.get(task_id=result.id)
    assert (row.status, row.task_name, row.result) == ("SUCCESS", "base.tasks.add", "42")
    assert row.worker.startswith("integration@")

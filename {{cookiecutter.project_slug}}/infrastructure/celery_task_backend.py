"""Django's task API (django.tasks) on this project's Celery: same broker, same workers.

settings.TASKS names CeleryBackend. `some_task.enqueue(...)` sends one Celery task,
run_django_task, whose arguments are the Django task's import path and its arguments;
a worker imports the task and calls it. Its result is stored like any Celery task's, so
`backend.get_result(id)` and `result.refresh()` read it back where the project keeps
results (not with result_backend none).

What Django's API asks that Celery cannot do is refused when the task is defined or
enqueued, with InvalidTask saying why, not ignored:
- priority: Redis serves a queue's tasks in four bands (kombu's priority steps), and
  every Celery task is sent in the first. A Django task can go behind them (priority
  below 0) but not ahead; RabbitMQ queues here are declared without x-max-priority,
  so they have no priorities at all.
- run_after: sent as Celery's eta, within BROKER_LONGEST_COUNTDOWN (infrastructure/task.py).
- queue_name: "default" is Celery's default queue; another name is the Celery queue of
  that name (listed in TASKS["default"]["QUEUES"], and a worker must consume it: -Q).

When Celery runs tasks inline (development without a broker, and the unit tests), so
do these: enqueue() returns a finished result.
"""

import json
import math
import uuid
from datetime import datetime

from celery import current_app, shared_task, states
from celery.app.task import Context
from celery.backends.base import DisabledBackend
from django.tasks import DEFAULT_TASK_QUEUE_NAME, Task, TaskContext, TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import DEFAULT_TASK_PRIORITY, TaskError
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from infrastructure.task import too_far_ahead

# Whether the broker orders a queue's tasks by priority (Redis does; the RabbitMQ queues
# of this project are declared without x-max-priority, so RabbitMQ would ignore it).
BROKER_HAS_PRIORITIES = {{ cookiecutter.broker == "redis" }}
# Kombu's Redis transport serves a queue in four bands, Celery priorities 0-2 (every
# Celery task's), 3-5, 6-8 and 9; Django's priorities below 0 take the last three.
BANDS_BEHIND_CELERYS = (3, 6, 9)

# Celery's states as Django's: a retry waits to run again, PROGRESS and other custom
# states are reported by running tasks.
STATUSES = {
    states.PENDING: TaskResultStatus.READY,
    states.RECEIVED: TaskResultStatus.READY,
    states.RETRY: TaskResultStatus.READY,
    states.STARTED: TaskResultStatus.RUNNING,
    states.SUCCESS: TaskResultStatus.SUCCESSFUL,
    states.FAILURE: TaskResultStatus.FAILED,
    states.REVOKED: TaskResultStatus.FAILED,
    states.REJECTED: TaskResultStatus.FAILED,
}


def celery_priority(priority: int) -> int | None:
    """Celery's priority on Redis for Django's: 0 is Celery's default (None), -1 to -33
    the next band, -34 to -66 the one after, -67 to -100 the last.
    """
    if priority == DEFAULT_TASK_PRIORITY:
        return None
    return BANDS_BEHIND_CELERYS[math.ceil(-priority * len(BANDS_BEHIND_CELERYS) / 100) - 1]


@shared_task(bind=True, name="infrastructure.run_django_task")
def run_django_task(self, module_path: str, args: list, kwargs: dict) -> object:
    """Run the django.tasks Task at `module_path` (the worker side of CeleryBackend).

    Only a Task object is run, never any other function the message names.
    """
    task = import_string(module_path)
    if not isinstance(task, Task):
        raise TypeError(f"{module_path} is not a django.tasks Task (made with @task)")
    if task.takes_context:
        result = task_result(task, self.request.id, TaskResultStatus.RUNNING, args, kwargs)
        result.worker_ids.extend([self.request.hostname] * (self.request.retries + 1))
        args = [TaskContext(task_result=result), *args]
    # As Django's own backends do: a return value JSON cannot carry fails the task here.
    return normalize_json(task.call(*args, **kwargs))


def task_result(task: Task, result_id: str, status: str, args: list, kwargs: dict) -> TaskResult:
    """A TaskResult that nothing has happened to yet but `status`."""
    return TaskResult(
        task=task,
        id=result_id,
        status=status,
        enqueued_at=None,
        started_at=None,
        finished_at=None,
        last_attempted_at=None,
        args=args,
        kwargs=kwargs,
        backend=task.backend,
        errors=[],
        worker_ids=[],
    )


class CeleryBackend(BaseTaskBackend):
    """Enqueue Django tasks onto the project's Celery broker (settings.TASKS)."""

    supports_defer = True
    supports_priority = BROKER_HAS_PRIORITIES
    # An `async def` task runs to completion in the worker's process (Task.call).
    supports_async_task = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        # Results can be read back wherever Celery stores them.
        self.supports_get_result = not isinstance(current_app.backend, DisabledBackend)

    def validate_task(self, task: Task) -> None:
        """Django's checks, then what this broker cannot do (see the module's docstring)."""
        if task.priority != DEFAULT_TASK_PRIORITY and not BROKER_HAS_PRIORITIES:
            raise InvalidTask(
                f"{task.module_path}: priority {task.priority} cannot be kept: RabbitMQ "
                "queues of this project have no priorities (no x-max-priority); leave "
                "priority at 0 and give urgent work a queue of its own"
            )
        super().validate_task(task)
        if task.priority > DEFAULT_TASK_PRIORITY:
            raise InvalidTask(
                f"{task.module_path}: priority {task.priority} cannot be kept: every Celery "
                "task is sent at Redis's first priority band, which nothing can go ahead "
                "of; use a priority from -100 to 0, or a queue of its own"
            )
        if task.run_after is not None:
            delay = (task.run_after - timezone.now()).total_seconds()
            problem = too_far_ahead(task.module_path, delay)
            if problem is not None:
                raise InvalidTask(problem)

    def enqueue(self, task: Task, args: tuple, kwargs: dict) -> TaskResult:
        self.validate_task(task)
        result = task_result(task, str(uuid.uuid4()), TaskResultStatus.READY, args, kwargs)
        object.__setattr__(result, "enqueued_at", timezone.now())
        arguments = [task.module_path, result.args, result.kwargs]
        # The arguments as JSON for the result store: django-celery-results keeps this
        # text, which get_result() parses (its own repr() could not be parsed back).
        shown = json.dumps(arguments)
        if self.supports_get_result:
            # Recorded before it is sent, so get_result() finds a task not yet started.
            request = Context(
                id=result.id, task=run_django_task.name, args=arguments, argsrepr=shown
            )
            run_django_task.backend.store_result(result.id, None, states.PENDING, request=request)
        queue = None if task.queue_name == DEFAULT_TASK_QUEUE_NAME else task.queue_name
        try:
            run_django_task.apply_async(
                arguments,
                task_id=result.id,
                queue=queue,
                priority=celery_priority(task.priority),
                eta=task.run_after,
                argsrepr=shown,
                kwargsrepr="{}",
                # Worker logs and Flower name the Django task, not run_django_task.
                shadow=task.module_path,
            )
        except Exception:
            # Not sent (the broker is away): no record may say it waits to run.
            if self.supports_get_result:
                run_django_task.backend.forget(result.id)
            raise
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        """The task's result as the result store has it; TaskResultDoesNotExist if none."""
        if not self.supports_get_result:
            raise NotImplementedError(
                "get_result needs a result backend: this project stores no task results "
                "(CELERY_RESULT_BACKEND is not set)"
            )
        meta = run_django_task.backend.get_task_meta(result_id)
        # Redis keeps the name and arguments as sent; django-celery-results keeps the
        # name as task_name, and the arguments as the JSON text enqueue() gave.
        arguments = meta.get("args")
        if isinstance(arguments, str):
            arguments = json.loads(arguments)
        name = meta.get("name") or meta.get("task_name")
        if name != run_django_task.name or not arguments:
            raise TaskResultDoesNotExist(result_id)
        module_path, args, kwargs = arguments
        status = STATUSES.get(meta["status"], TaskResultStatus.RUNNING)
        result = task_result(import_string(module_path), result_id, status, args, kwargs)
        if meta.get("worker"):
            result.worker_ids.append(meta["worker"])
        finished = result.is_finished and meta.get("date_done")
        if finished:
            done = meta["date_done"]
            done = datetime.fromisoformat(done) if isinstance(done, str) else done
            object.__setattr__(result, "finished_at", done)
        if status == TaskResultStatus.SUCCESSFUL:
            object.__setattr__(result, "_return_value", meta["result"])
        elif status == TaskResultStatus.FAILED:
            error = meta["result"]
            kind = type(error) if isinstance(error, BaseException) else RuntimeError
            result.errors.append(
                TaskError(
                    exception_class_path=f"{kind.__module__}.{kind.__qualname__}",
                    traceback=meta.get("traceback") or repr(error),
                )
            )
        return result

"""The URLs of the web process that test_tracing.py starts (see web_settings.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from .tasks import log_line


def send_task(request: HttpRequest) -> HttpResponse:
    """Send log_line to the queue named by ?queue=; answer with the task's id."""
    result = log_line.apply_async(("sent by a request",), queue=request.GET["queue"])
    return HttpResponse(result.id, content_type="text/plain")


urlpatterns = [path("send-task/", send_task)]

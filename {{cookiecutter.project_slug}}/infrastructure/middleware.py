"""The web process's middleware of its own."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .health import HEALTH_PATH


class HealthCheckMiddleware:
    """Answer GET /health/ with 200 before any other middleware sees the request.

    Probes speak plain HTTP to the server's own address: SecurityMiddleware would redirect
    them to HTTPS (SECURE_SSL_REDIRECT, on in production) and the host check would refuse
    their Host header (an IP address, not in ALLOWED_HOSTS). So this comes first in
    MIDDLEWARE. It answers "the server serves requests" and touches no database, so a
    database outage does not get every web process restarted.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTH_PATH:
            return HttpResponse("ok", content_type="text/plain")
        return self.get_response(request)

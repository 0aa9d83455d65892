"""E-mail: production logs in to the server EMAIL_URL names; development prints to the console."""

import socket
import ssl
from pathlib import Path
from urllib.parse import quote

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from .fresh_django import PRODUCTION_ENVIRONMENT, last_line, run_python, start_django

SEND_WELCOME_EMAIL = """
import django
django.setup()
from django.core.mail import send_mail
send_mail("Welcome", "Hello ada, your account is ready.", None, ["ada@example.com"])
"""
MAIL_USER = "app@example.com"
MAIL_PASSWORD = "p@ss/w:rd#1"  # Characters that must be percent-encoded in the URL.


class Mailbox:
    """An aiosmtpd handler and authenticator: one account, and every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Envelope]] = []

    def __call__(self, server, session: Session, envelope, mechanism: str, auth_data) -> AuthResult:
        accepted = isinstance(auth_data, LoginPassword) and auth_data == LoginPassword(
            MAIL_USER.encode(), MAIL_PASSWORD.encode()
        )
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        self.messages.append((session.auth_data.login.decode(), envelope))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def certificate_authority(tmp_path: Path) -> tuple[trustme.CA, Path]:
    """A private CA, and its certificate for the subprocess to trust through SSL_CERT_FILE."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, bundle


@pytest.mark.parametrize(
    "scheme",
    [
        "smtp+tls",
        pytest.param(  # aiosmtpd cannot see that this server speaks TLS (below).
            "smtp+ssl", marks=pytest.mark.filterwarnings("ignore:Requiring AUTH while not")
        ),
    ],
)
def test_production_mail_logs_in_to_the_server_in_email_url(
    certificate_authority: tuple[trustme.CA, Path], scheme: str
) -> None:
    authority, bundle = certificate_authority
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    mailbox = Mailbox()
    # A provider's server: TLS first, then login, then mail. aiosmtpd tells only STARTTLS
    # apart from clear text; a server that speaks TLS from the start can take no other.
    if scheme == "smtp+tls":
        encryption = {"tls_context": tls, "require_starttls": True}
    else:
        encryption = {"ssl_context": tls, "auth_require_tls": False}
    server = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=mailbox,
        auth_required=True,
        **encryption,
    )
    server.start()
    try:
        credentials = f"{quote(MAIL_USER, safe='')}:{quote(MAIL_PASSWORD, safe='')}"
        completed = run_python(
            "-c",
            SEND_WELCOME_EMAIL,
            **PRODUCTION_ENVIRONMENT,
            EMAIL_URL=f"{scheme}://{credentials}@127.0.0.1:{server.port}",
            SSL_CERT_FILE=str(bundle),
        )
    finally:
        server.stop()

    assert completed.returncode == 0, completed.stderr
    [(login, envelope)] = mailbox.messages
    assert login == MAIL_USER
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert b"Subject: Welcome" in envelope.original_content


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("smtps://app:hunter2@smtp.example.com:465", "got smtps://"),
        # An unencoded / in the password ends the host part early.
        ("smtp+tls://app:hun/ter2@smtp.example.com:587", "got an invalid port"),
        ("smtp://app:hunter2@smtp.example.com:587/?tls=True", "got a path, ?query or #fragment"),
        ("smtp+tls://", "got no host"),
    ],
)
def test_a_malformed_email_url_stops_production_in_one_line(url: str, problem: str) -> None:
    completed = start_django(**PRODUCTION_ENVIRONMENT, EMAIL_URL=url)

    assert completed.returncode != 0
    assert last_line(completed).startswith(
        "django.core.exceptions.ImproperlyConfigured: EMAIL_URL must look like smtp+tls://"
    )
    assert last_line(completed).endswith(problem)
    assert "ter2" not in completed.stderr  # Nor any part of the password.


def test_development_prints_email_to_the_console() -> None:
    completed = run_python(
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND)",
        DJANGO_SETTINGS_MODULE="{{ cookiecutter.project_slug }}.settings.dev",
    )

    assert completed.stdout == "django.core.mail.backends.console.EmailBackend\n", completed.stderr

"""deliver_webhook against real local receivers: what it retries, refuses and never sends."""

import ipaddress
import socket
import ssl

import pytest
import trustme

from base.tasks import (
    UnsafeWebhookURL,
    WebhookRejected,
    WebhookUnavailable,
    deliver_webhook,
    may_receive_webhooks,
)

pytestmark = pytest.mark.django_db

PAYLOAD = {"event": "signup"}


@pytest.mark.parametrize("failure", [503, 502, 429, "close", "reset"])
def test_a_transient_failure_is_retried_until_the_receiver_recovers(
    webhook_server, failure
) -> None:
    webhook_server.statuses = [failure, failure, 200]

    assert deliver_webhook.delay(webhook_server.url, PAYLOAD).get() == 200
    assert webhook_server.bodies == [b'{"event": "signup"}'] * 3


def test_a_refused_connection_is_retried_then_fails(settings) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    with pytest.raises(WebhookUnavailable, match="ConnectionRefusedError"):
        deliver_webhook.delay(f"http://127.0.0.1:{port}/hook", PAYLOAD).get()


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_refusal_by_the_receiver_fails_without_retrying(webhook_server, status) -> None:
    webhook_server.statuses = [status]

    with pytest.raises(WebhookRejected, match=f"answered {status}"):
        deliver_webhook.delay(webhook_server.url, PAYLOAD).get()

    assert webhook_server.requests == ["POST /hook"]


def test_a_redirect_is_not_followed(webhook_server) -> None:
    """A redirect could lead anywhere, loopback included, after the host was checked."""
    webhook_server.location = f"http://localhost:{webhook_server.server_address[1]}/internal"
    webhook_server.statuses = [302, 200]

    with pytest.raises(WebhookRejected, match="answered 302"):
        deliver_webhook.delay(webhook_server.url, PAYLOAD).get()

    assert webhook_server.requests == ["POST /hook"]


@pytest.fixture
def https_webhook_server(webhook_server, tmp_path, monkeypatch):
    """The scripted server speaking TLS, with a certificate for localhost that is trusted."""
    authority = trustme.CA()
    webhook_server.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(webhook_server.tls)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return webhook_server


def test_https_checks_the_certificate_for_the_host_name(https_webhook_server) -> None:
    """The connection goes to a checked address, and TLS still verifies the name."""
    https_webhook_server.statuses = [200]
    port = https_webhook_server.server_address[1]

    assert deliver_webhook.delay(f"https://localhost:{port}/hook", PAYLOAD).get() == 200
    with pytest.raises(WebhookUnavailable, match="certificate verify failed"):
        deliver_webhook.delay(f"https://127.0.0.1:{port}/hook", PAYLOAD).get()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/hook", "http:///hook"])
def test_only_http_and_https_urls_are_delivered(url) -> None:
    with pytest.raises(UnsafeWebhookURL, match="only http:// and https:// URLs"):
        deliver_webhook.delay(url, PAYLOAD).get()


def test_loopback_is_refused_unless_allowed(webhook_server, settings) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    webhook_server.statuses = [200]

    with pytest.raises(UnsafeWebhookURL, match=r"127\.0\.0\.1 is an internal address"):
        deliver_webhook.delay(webhook_server.url, PAYLOAD).get()

    assert webhook_server.requests == []


def test_a_host_name_is_refused_when_it_resolves_to_an_internal_address(
    webhook_server, settings
) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    webhook_server.statuses = [200]
    url = webhook_server.url.replace("127.0.0.1", "localhost")

    with pytest.raises(UnsafeWebhookURL, match=r"localhost:.* is an internal address"):
        deliver_webhook.delay(url, PAYLOAD).get()

    assert webhook_server.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",  # private
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # link-local: cloud metadata services
        "0.0.0.0",  # unspecified, reaches the local host
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "[::1]",
        "[fe80::1]",
        "[fc00::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
    ],
)
def test_internal_addresses_are_refused_without_connecting(host, settings) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(UnsafeWebhookURL, match="is an internal address"):
        deliver_webhook.delay(f"http://{host}/hook", PAYLOAD).get()


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_may_receive_webhooks(address) -> None:
    assert may_receive_webhooks(ipaddress.ip_address(address))


def test_an_allowed_network_may_receive_webhooks(settings) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.1.0.0/16"]

    assert may_receive_webhooks(ipaddress.ip_address("10.1.2.3"))
    assert not may_receive_webhooks(ipaddress.ip_address("10.2.0.1"))

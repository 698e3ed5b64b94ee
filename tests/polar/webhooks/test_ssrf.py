"""The SSRF guard: checked at send time after DNS, on every address, and the checked address is the one
connected to. DNS is outside our system, so socket.getaddrinfo is replaced to make names resolve where the
test needs them."""
import ipaddress
import socket

import pytest

from polar.webhooks import network
from polar.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt

pytestmark = pytest.mark.django_db

_real_getaddrinfo = socket.getaddrinfo


def _resolve_to(monkeypatch, table: dict[str, list[str]]):
    def fake(host, port, *args, **kwargs):
        if host in table:
            return [
                (
                    socket.AF_INET6 if ":" in address else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (address, port, 0, 0) if ":" in address else (address, port),
                )
                for address in table[host]
            ]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    "address,reason",
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.9", "a private address"),
        ("192.168.1.1", "a private address"),
        ("100.64.0.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("169.254.10.10", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("192.0.2.10", "a reserved address"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_production_policy_refuses_non_public_addresses(settings, address, reason):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    assert network.address_refusal(ipaddress.ip_address(address)) == reason


def test_settings_open_loopback_and_private_but_never_metadata(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert network.address_refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert network.address_refusal(ipaddress.ip_address("10.0.0.1")) is None
    assert network.address_refusal(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"
    assert network.address_refusal(ipaddress.ip_address("fd00:ec2::254")) == "a cloud metadata address"


def test_a_name_resolving_to_a_private_address_is_refused_at_send_time(
    settings, monkeypatch, organization, receiver, make_endpoint, emit
):
    endpoint = make_endpoint()
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    _resolve_to(monkeypatch, {"hooks.merchant.test": ["10.0.0.7"]})
    endpoint.url = f"http://hooks.merchant.test:{receiver.port}/hook"
    endpoint.save(update_fields=["url"])
    event = emit(organization)

    assert receiver.requests == []
    attempt = WebhookDeliveryAttempt.objects.get(event=event)
    assert (attempt.succeeded, attempt.http_code) == (False, None)
    assert attempt.response == (
        "Refused: hooks.merchant.test resolves to 10.0.0.7, a private address; webhooks are not sent there."
    )
    assert WebhookDelivery.objects.get(event=event).status == WebhookDelivery.Status.PENDING


def test_a_name_mixing_public_and_metadata_addresses_is_refused(settings, monkeypatch):
    _resolve_to(monkeypatch, {"sneaky.test": ["93.184.215.14", "169.254.169.254"]})
    with pytest.raises(network.DestinationRefused):
        network.resolve("sneaky.test", 443)


def test_localhost_is_refused_without_the_loopback_setting(settings, organization, receiver, make_endpoint, emit):
    endpoint = make_endpoint()
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    endpoint.url = receiver.url(host="localhost")
    endpoint.save(update_fields=["url"])
    emit(organization)
    assert receiver.requests == []
    assert "a loopback address" in WebhookDeliveryAttempt.objects.get().response


def test_the_request_goes_to_the_checked_address_with_the_original_host_header(
    monkeypatch, organization, receiver, make_endpoint, emit
):
    """The name is resolved once, checked, and the connection made to that address: a second lookup
    (DNS rebinding to 10.x) would never be used."""
    lookups = []

    def fake(host, port, *args, **kwargs):
        lookups.append(host)
        if host == "rebind.merchant.test":
            # First answer: the (allowed) loopback receiver; any later answer would be a private address.
            address = "127.0.0.1" if lookups.count(host) == 1 else "10.0.0.7"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    endpoint = make_endpoint()
    endpoint.url = f"http://rebind.merchant.test:{receiver.port}/hook"
    endpoint.save(update_fields=["url"])
    emit(organization)

    [request] = receiver.requests
    assert request["headers"]["host"] == f"rebind.merchant.test:{receiver.port}"
    assert request["error"] is None
    assert lookups.count("rebind.merchant.test") == 1


def test_an_unresolvable_name_is_a_failed_attempt(monkeypatch, organization, receiver, make_endpoint, emit):
    def fake(host, port, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    endpoint = make_endpoint()
    endpoint.url = "http://nowhere.invalid/hook"
    endpoint.save(update_fields=["url"])
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    emit(organization)
    attempt = WebhookDeliveryAttempt.objects.get()
    assert attempt.http_code is None
    assert attempt.response.startswith("DNS resolution failed")


def test_https_to_the_checked_address_uses_the_original_name_for_sni_and_the_certificate(tmp_path, monkeypatch):
    """The connection goes to the pinned IP, but TLS still names the host (SNI) and the certificate is still
    verified: a self-signed certificate is refused."""
    import shutil
    import ssl
    import subprocess
    import threading

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hooks.merchant.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    server_names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one():
        connection, _ = listener.accept()
        try:
            context.wrap_socket(connection, server_side=True).close()
        except (ssl.SSLError, OSError):
            connection.close()

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    _resolve_to(monkeypatch, {"hooks.merchant.test": ["127.0.0.1"]})
    result = network.send(url=f"https://hooks.merchant.test:{port}/hook", body=b"{}", headers={})
    thread.join(5)
    listener.close()

    assert server_names == ["hooks.merchant.test"]
    assert result.http_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in result.response

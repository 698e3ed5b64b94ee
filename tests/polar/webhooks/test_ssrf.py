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
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hooks.merchant.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
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


# --- IPv6 addresses that carry an IPv4 address ------------------------------------------------------------
# Judged by the classifier alone: nothing here is ever connected to.
EMBEDDED = [
    # NAT64 well-known prefix (RFC 6052): the translator forwards to the IPv4 address in the last 32 bits.
    ("64:ff9b::7f00:1", "a loopback address"),
    ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),
    ("64:ff9b::a00:1", "a private address"),
    ("64:ff9b::6440:1", "a private address"),  # 100.64.0.1, carrier-grade NAT
    ("64:ff9b::a9fe:1", "a link-local address"),
    ("64:ff9b::e000:1", "a multicast address"),
    ("64:ff9b::1", "a reserved address"),  # 0.0.0.1, "this network"
    # NAT64 local-use prefix (RFC 8215), the IPv4 address at the /48 or the /96 position.
    ("64:ff9b:1:a9fe:a9:fe00::", "a cloud metadata address"),
    ("64:ff9b:1::a9fe:a9fe", "a cloud metadata address"),
    ("64:ff9b:1::808:808", "a private address"),  # a local translator: private even towards 8.8.8.8
    # 6to4 (RFC 3056): the IPv4 address in bits 16-47.
    ("2002:7f00:1::", "a loopback address"),
    ("2002:a9fe:a9fe::1", "a cloud metadata address"),
    ("2002:c0a8:101::1", "a private address"),
    ("2002:0:0::1", "an unspecified address"),
    # IPv4-compatible (RFC 4291, deprecated).
    ("::127.0.0.1", "a loopback address"),
    ("::169.254.169.254", "a cloud metadata address"),
    ("::10.0.0.1", "a private address"),
    # IPv4-mapped and IPv4-translated.
    ("::ffff:169.254.169.254", "a cloud metadata address"),
    ("::ffff:100.64.0.1", "a private address"),
    ("::ffff:0:a9fe:a9fe", "a cloud metadata address"),
    ("::ffff:0:7f00:1", "a loopback address"),
    # Teredo (RFC 4380): server IPv4 in bits 32-63, client IPv4 inverted in the last 32 bits.
    ("2001:0:a9fe:a9fe::", "a cloud metadata address"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address"),  # client ~7fff:fffe... = 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "a private address"),  # client 10.0.0.1
]


@pytest.mark.parametrize("address,reason", EMBEDDED)
def test_ipv6_forms_embedding_a_refused_ipv4_address_are_refused(settings, address, reason):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    assert network.address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::169.254.169.254", "2001:0:a9fe:a9fe::", "64:ff9b:1::a9fe:a9fe"],
)
def test_embedded_metadata_addresses_are_refused_even_with_loopback_and_private_allowed(settings, address):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert network.address_refusal(ipaddress.ip_address(address)) == "a cloud metadata address"


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"])
def test_ipv6_forms_embedding_a_public_ipv4_address_are_allowed(settings, address):
    """A DNS64 network answers names with 64:ff9b::/96 addresses: a public IPv4 behind them is fine."""
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    assert network.address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address,embedded",
    [
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
        ("2002:a9fe:a9fe::1", ["169.254.169.254"]),
        ("::a9fe:a9fe", ["169.254.169.254"]),
        ("::ffff:a9fe:a9fe", ["169.254.169.254"]),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),
        ("::1", []),
        ("2606:4700::1111", []),
    ],
)
def test_embedded_ipv4_extraction(address, embedded):
    assert [str(ipv4) for ipv4 in network.embedded_ipv4(ipaddress.ip_address(address))] == embedded


def test_a_name_resolving_to_a_nat64_metadata_address_is_refused_before_connecting(settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    _resolve_to(monkeypatch, {"hooks.merchant.test": ["64:ff9b::a9fe:a9fe"]})
    with pytest.raises(network.DestinationRefused, match="a cloud metadata address"):
        network.resolve("hooks.merchant.test", 443)


def test_an_endpoint_url_with_a_6to4_loopback_literal_is_refused_at_creation(settings, organization):
    from polar.errors import PolarRequestValidationError
    from polar.webhooks import services

    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    with pytest.raises(PolarRequestValidationError):
        services.webhook_endpoint_create(organization=organization, url="http://[2002:7f00:1::]:8080/hook", events=["order.paid"])

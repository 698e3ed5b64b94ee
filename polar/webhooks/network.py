"""Sending one webhook request, with the SSRF guard.

The guard runs at send time, after DNS resolution, on every address the name resolves to; the request
then connects to the address that was checked (the URL's host is replaced by that IP) while the
``Host`` header and the TLS SNI / certificate check keep the original name (httpcore's ``sni_hostname``
extension). So a name that resolves to a public address when checked cannot be re-resolved to a private
one between the check and the connection (DNS rebinding). Redirects are not followed and proxies from the
environment are ignored, for the same reason.

Refused: loopback (unless ``WEBHOOKS_ALLOW_LOOPBACK``), private ranges incl. RFC 1918, ULA and
carrier-grade NAT (unless ``WEBHOOKS_ALLOW_PRIVATE``), and always link-local, multicast, reserved,
unspecified and the cloud metadata addresses; in short anything that is not globally routable.
"""
import dataclasses
import ipaddress
import socket
import time

import httpx
from django.conf import settings

from . import policy

# AWS/GCP/Azure/OpenStack instance metadata (IPv4 is link-local anyway), AWS IPv6 metadata, Alibaba.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address) for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# What WEBHOOKS_ALLOW_PRIVATE opens: RFC 1918, carrier-grade NAT and IPv6 unique-local ranges. Other
# non-global ranges (documentation, benchmarking, 240/4...) stay refused as "reserved".
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network) for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)

USER_AGENT = "polar-compatible-webhooks/1.0"


class DestinationRefused(Exception):
    """The URL resolves to an address the SSRF policy refuses."""


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address is refused under the current settings, or None if a webhook may be sent to it."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if settings.WEBHOOKS_ALLOW_LOOPBACK else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if any(address.version == network.version and address in network for network in PRIVATE_NETWORKS):
        return None if settings.WEBHOOKS_ALLOW_PRIVATE else "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


def literal_address(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """Resolve ``host`` and check every address; return them in resolver order.

    Raises DestinationRefused if any address is refused (a name mixing public and private addresses is
    refused as a whole), and socket.gaierror if the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = sockaddr[0].split("%", 1)[0]  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    for address in addresses:
        reason = address_refusal(ipaddress.ip_address(address))
        if reason is not None:
            raise DestinationRefused(f"{host} resolves to {address}, {reason}; webhooks are not sent there.")
    return addresses


@dataclasses.dataclass(frozen=True)
class SendResult:
    http_code: int | None
    response: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.http_code is not None and 200 <= self.http_code < 300


def _excerpt(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL; keep the excerpt readable whatever the encoding.
    return raw[: policy.RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "")


def send(*, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
    """POST ``body`` to ``url`` through the SSRF guard. Never raises for network trouble: the error text
    becomes the result's ``response`` with ``http_code`` None."""
    started = time.monotonic()

    def result(http_code, response):
        return SendResult(http_code, response, int((time.monotonic() - started) * 1000))

    try:
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        if target.scheme not in ("http", "https") or not host:
            return result(None, f"Refused: {url!r} is not an http(s) URL.")
        addresses = resolve(host, port)
    except DestinationRefused as error:
        return result(None, f"Refused: {error}")
    except (socket.gaierror, UnicodeError, httpx.InvalidURL) as error:
        return result(None, f"DNS resolution failed for the webhook URL: {error}")

    request_headers = {
        **headers,
        "host": target.netloc.decode("ascii"),
        "user-agent": USER_AGENT,
        "content-type": "application/json",
    }
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    last_error = "no address to connect to"
    with httpx.Client(timeout=policy.HTTP_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        for address in addresses:
            try:
                with client.stream(
                    "POST",
                    target.copy_with(host=address),
                    content=body,
                    headers=request_headers,
                    extensions=extensions,
                ) as response:
                    received = b""
                    for chunk in response.iter_raw():
                        received += chunk
                        if len(received) >= policy.RESPONSE_EXCERPT_BYTES:
                            break
                    return result(response.status_code, _excerpt(received) or None)
            except httpx.ConnectError as error:
                # Try the next address of the name (e.g. localhost → ::1 then 127.0.0.1).
                last_error = f"Connection failed: {error or type(error).__name__}"
                continue
            except httpx.TimeoutException as error:
                return result(None, f"Timed out after {policy.HTTP_TIMEOUT_SECONDS:g}s: {type(error).__name__}")
            except httpx.HTTPError as error:
                return result(None, f"HTTP error: {type(error).__name__}: {error}")
    return result(None, last_error)

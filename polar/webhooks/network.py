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

import concurrent.futures
import dataclasses
import ipaddress
import socket
import ssl
import threading
import time

import httpcore
import httpx
from django.conf import settings

from polar.observability import tracing

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


# IPv6 ranges whose addresses carry an IPv4 address that the traffic ends up at (through a translator or a
# tunnel): the embedded IPv4 address is judged by the IPv4 rules, so ``64:ff9b::a9fe:a9fe`` is the metadata
# service and ``2002:7f00:1::`` is loopback.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: IPv4 in the last 32 bits
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a local translator, any RFC 6052 layout
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")  # RFC 3056: IPv4 in bits 16-47
TEREDO = ipaddress.ip_network("2001::/32")  # RFC 4380: server IPv4 in bits 32-63, client IPv4 inverted at the end
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 (deprecated): IPv4 in the last 32 bits
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 SIIT: IPv4 in the last 32 bits


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, translated, NAT64, 6to4, Teredo), or
    [] for a plain IPv6 address. A local-use NAT64 address yields every RFC 6052 placement (/48 and /96),
    since the translator's prefix length is not known here."""
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in IPV4_TRANSLATED or address in NAT64_WELL_KNOWN:
        return [low32]
    if address in IPV4_COMPATIBLE:
        # :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
        return [] if value <= 1 else [low32]
    if address in SIX_TO_FOUR:
        return [ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)]
    if address in TEREDO:
        server, client = address.teredo
        return [server, client]
    if address in NAT64_LOCAL_USE:
        # /48 layout: 16 bits at 48-63, the reserved octet at 64-71, 16 bits at 72-87.
        # An all-zero placement is the layout that is not in use.
        prefix48 = ipaddress.IPv4Address((((value >> 64) & 0xFFFF) << 16) | ((value >> 40) & 0xFFFF))
        return [candidate for candidate in (low32, prefix48) if int(candidate) != 0]
    return []


def _plain_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
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


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address is refused under the current settings, or None if a webhook may be sent to it.

    An IPv6 address that embeds an IPv4 address is refused when the IPv4 address is (whatever the IPv6
    rules would say: ``64:ff9b::/96`` is globally routable, the IPv4 behind it may be 10.0.0.1). A mapped,
    compatible or translated address is judged only as its IPv4 address; a NAT64 local-use, 6to4 or Teredo
    address must also pass the IPv6 rules (Teredo and the local-use prefix never do: reserved, private).
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        for ipv4 in embedded:
            reason = _plain_refusal(ipv4)
            if reason is not None:
                return reason
        if embedded and (address.ipv4_mapped is not None or address in IPV4_TRANSLATED or address in IPV4_COMPATIBLE):
            return None
        if address in NAT64_LOCAL_USE:
            return None if settings.WEBHOOKS_ALLOW_PRIVATE else "a private address"
    return _plain_refusal(address)


def literal_address(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int, *, timeout: float | None = None) -> list[str]:
    """Resolve ``host`` and check every address; return them in resolver order.

    Raises DestinationRefused if any address is refused (a name mixing public and private addresses is
    refused as a whole), socket.gaierror if the name does not resolve, and DeadlineExceeded if the resolver
    has not answered within ``timeout`` seconds (getaddrinfo cannot be interrupted: it runs on a small
    shared pool, so a hung resolver ties up at most that pool, never the delivery worker).
    """
    if timeout is None:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    else:
        future = _resolver_pool().submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=max(timeout, 0))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeadlineExceeded(f"DNS resolution of {host} took longer than the delivery deadline") from None
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


_RESOLVER_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_RESOLVER_POOL_LOCK = threading.Lock()


def _resolver_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _RESOLVER_POOL
    with _RESOLVER_POOL_LOCK:
        if _RESOLVER_POOL is None:
            _RESOLVER_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-dns")
        return _RESOLVER_POOL


class DeadlineExceeded(Exception):
    """The attempt's wall-clock deadline passed."""


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


class _Deadline:
    """One attempt's wall-clock deadline (``time.monotonic()`` seconds) and the sockets it must stop.

    httpcore's timeouts bound each socket operation, not their sum: a receiver that drips a byte every few
    seconds (in the headers, the body or the TLS handshake) never trips them. So every operation gets
    ``min(its timeout, time left)``, and a watchdog timer shuts the attempt's sockets down at the deadline,
    which wakes an operation blocked in the kernel (a TLS handshake reads several times under one timeout).
    """

    def __init__(self, at: float):
        self.at = at
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False
        self._timer = threading.Timer(max(at - time.monotonic(), 0), self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()

    def left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self.at - time.monotonic()
        if left <= 0 or self._expired:
            raise error("the delivery deadline passed")
        return left if timeout is None else min(timeout, left)

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self._expired
        if expired:
            self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _DeadlineStream(httpcore.NetworkStream):
    # Bodies are written in small pieces so that one write cannot outlast the deadline by much even if the
    # receiver reads slowly (the watchdog is the backstop).
    WRITE_CHUNK = 4096

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for offset in range(0, len(buffer), self.WRITE_CHUNK):
            chunk = buffer[offset : offset + self.WRITE_CHUNK]
            self._stream.write(chunk, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, self._deadline.left(timeout, httpcore.ConnectTimeout))
        self._deadline.watch(stream.get_extra_info("socket"))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline):
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._backend.connect_tcp(
            host, port, self._deadline.left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        self._deadline.watch(stream.get_extra_info("socket"))
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - webhooks never use unix sockets
        raise httpcore.ConnectError("unix sockets are not used for webhooks")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - retries are off
        time.sleep(seconds)


_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context(trust_env=False)
    return _SSL_CONTEXT


def send(*, url: str, body: bytes, headers: dict[str, str], deadline: float | None = None) -> SendResult:
    """``_send`` inside a client span when tracing is on (polar/observability/tracing.py): the sender speaks
    httpcore directly, which the httpx instrumentation does not see. The span names the receiver's host and
    port, never its path or query (a merchant may put a token there), and no trace header goes to the
    receiver: our trace ids stay ours."""
    if not tracing.enabled():
        return _send(url=url, body=body, headers=headers, deadline=deadline)
    try:
        target = httpx.URL(url)
        attributes = {"http.request.method": "POST", "server.address": target.host, "server.port": target.port or 0}
    except (httpx.InvalidURL, TypeError):
        attributes = {"http.request.method": "POST"}
    with tracing.span("POST webhook", kind="CLIENT", attributes=attributes) as span:
        result = _send(url=url, body=body, headers=headers, deadline=deadline)
        if result.http_code is not None:
            span.set_attribute("http.response.status_code", result.http_code)
        if not result.succeeded:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("error.type", str(result.http_code) if result.http_code else "network")
            span.set_status(Status(StatusCode.ERROR))
        return result


def _send(*, url: str, body: bytes, headers: dict[str, str], deadline: float | None = None) -> SendResult:
    """POST ``body`` to ``url`` through the SSRF guard, finished or abandoned by ``deadline`` (a
    ``time.monotonic()`` instant; default: now + ``WEBHOOK_DELIVERY_DEADLINE_SECONDS``). The deadline covers
    DNS, connect, TLS, writing the request, the headers and the (capped) body together. Never raises for
    network trouble: the error text becomes the result's ``response`` with ``http_code`` None."""
    started = time.monotonic()
    if deadline is None:
        deadline = started + policy.delivery_deadline_seconds()

    def result(http_code, response):
        return SendResult(http_code, response, int((time.monotonic() - started) * 1000))

    def deadline_text():
        return f"Deadline exceeded: no complete answer within {policy.delivery_deadline_seconds():g}s."

    if deadline <= started:
        # The worker stalled between taking its lease and sending: the lease may be someone else's by now.
        return result(None, "Not sent: the attempt's deadline passed before sending.")
    try:
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        if target.scheme not in ("http", "https") or not host:
            return result(None, f"Refused: {url!r} is not an http(s) URL.")
        addresses = resolve(host, port, timeout=deadline - time.monotonic())
    except DestinationRefused as error:
        return result(None, f"Refused: {error}")
    except DeadlineExceeded:
        return result(None, deadline_text())
    except (socket.gaierror, UnicodeError, httpx.InvalidURL) as error:
        return result(None, f"DNS resolution failed for the webhook URL: {error}")

    request_headers = [
        *((key.encode(), value.encode()) for key, value in headers.items()),
        (b"host", target.netloc),
        (b"user-agent", USER_AGENT.encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    timeout = policy.HTTP_TIMEOUT_SECONDS
    extensions = {"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}}
    if target.scheme == "https":
        extensions["sni_hostname"] = host
    last_error = "no address to connect to"
    with (
        _Deadline(deadline) as watchdog,
        httpcore.ConnectionPool(
            ssl_context=_ssl_context(), network_backend=_DeadlineBackend(watchdog), max_connections=1
        ) as pool,
    ):
        for address in addresses:
            connect_url = httpcore.URL(
                scheme=target.raw_scheme,
                host=address.encode("ascii"),
                port=port,
                target=target.raw_path,
            )
            try:
                with pool.stream("POST", connect_url, headers=request_headers, content=body, extensions=extensions) as response:
                    # Only the excerpt is kept, so only that much is read: a huge or endless body costs
                    # nothing more.
                    received = b""
                    for chunk in response.iter_stream():
                        received += chunk
                        if len(received) >= policy.RESPONSE_EXCERPT_BYTES:
                            break
                    return result(response.status, _excerpt(received) or None)
            except httpcore.ConnectError as error:
                if time.monotonic() >= deadline:
                    return result(None, deadline_text())
                # Try the next address of the name (e.g. localhost → ::1 then 127.0.0.1).
                last_error = f"Connection failed: {error or type(error).__name__}"
                continue
            except httpcore.TimeoutException as error:
                if time.monotonic() >= deadline - 0.001:
                    return result(None, deadline_text())
                return result(None, f"Timed out after {timeout:g}s: {type(error).__name__}")
            except (httpcore.NetworkError, httpcore.ProtocolError) as error:
                if time.monotonic() >= deadline:
                    # The watchdog shut the socket down under a blocked read or write.
                    return result(None, deadline_text())
                return result(None, f"HTTP error: {type(error).__name__}: {error}")
    return result(None, last_error)

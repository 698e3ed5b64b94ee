"""Webhook endpoints: create, update, rotate the secret, delete. The API and the admin come through here."""

import httpx
from django.db import transaction

from polar import clock
from polar.api import versions
from polar.errors import PolarRequestValidationError

from .. import network
from ..events import SUBSCRIBABLE_EVENT_TYPES
from ..models import WebhookEndpoint, WebhookFormat, generate_webhook_secret
from .delivery import webhook_endpoint_disable

MAX_URL_LENGTH = 2083


def validate_endpoint_url(url: str, *, loc=("body", "url")) -> str:
    """An absolute http(s) URL with a host. A literal IP address (or ``localhost``) that the SSRF policy
    refuses is refused now, for early feedback; names are checked again at every send, after DNS."""
    url = (url or "").strip()
    if not url:
        raise PolarRequestValidationError.single(list(loc), "URL is required", "missing")
    if len(url) > MAX_URL_LENGTH:
        raise PolarRequestValidationError.single(
            list(loc), f"URL should have at most {MAX_URL_LENGTH} characters", "string_too_long"
        )
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        raise PolarRequestValidationError.single(list(loc), "Input should be a valid URL", "url_parsing")
    if parsed.scheme not in ("http", "https"):
        raise PolarRequestValidationError.single(list(loc), "URL scheme should be 'http' or 'https'", "url_scheme")
    if not host:
        raise PolarRequestValidationError.single(list(loc), "URL should have a host", "url_parsing")
    address = network.literal_address(host)
    if address is None and host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        address = network.literal_address("127.0.0.1")
    if address is not None:
        reason = network.address_refusal(address)
        if reason is not None:
            raise PolarRequestValidationError.single(list(loc), f"Webhook URLs cannot point to {reason}.", "value_error")
    return url


def _validate_format(value: str) -> str:
    if value != WebhookFormat.RAW:
        raise PolarRequestValidationError.single(
            ["body", "format"], f"Format {value!r} is not supported here; use 'raw'.", "value_error"
        )
    return value


def _validate_events(events: list[str]) -> list[str]:
    unknown = [event for event in events if event not in SUBSCRIBABLE_EVENT_TYPES]
    if unknown:
        raise PolarRequestValidationError.single(["body", "events"], f"Unknown event types: {', '.join(unknown)}", "enum")
    return list(dict.fromkeys(events))


@transaction.atomic
def webhook_endpoint_create(
    *,
    organization,
    url: str,
    format: str = WebhookFormat.RAW,
    events: list[str] | tuple[str, ...] = (),
    name: str | None = None,
    api_version: str | None = None,
) -> WebhookEndpoint:
    """Create an enabled endpoint with a fresh ``whsec_`` secret. Raises PolarRequestValidationError (422)
    for a bad URL, an unsupported format or unknown event types. Not idempotent (use Idempotency-Key)."""
    return WebhookEndpoint.objects.create(
        organization=organization,
        url=validate_endpoint_url(url),
        format=_validate_format(format),
        events=_validate_events(list(events)),
        name=name,
        api_version=api_version or versions.CURRENT,
        secret=generate_webhook_secret(),
    )


_UNSET = object()


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    name=_UNSET,
    format: str | None = None,
    events: list[str] | None = None,
    enabled: bool | None = None,
    api_version: str | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; ``None`` leaves a field as it is (Polar's PATCH), ``name`` may be set to None.

    Disabling skips its pending deliveries; enabling again clears the failure record (a fresh 24-hour span)
    but does not resend skipped events (redeliver them). Locks the endpoint row. Idempotent.
    """
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    changed = []
    if url is not None:
        endpoint.url = validate_endpoint_url(url)
        changed.append("url")
    if name is not _UNSET:
        endpoint.name = name
        changed.append("name")
    if format is not None:
        endpoint.format = _validate_format(format)
        changed.append("format")
    if events is not None:
        endpoint.events = _validate_events(events)
        changed.append("events")
    if api_version is not None:
        endpoint.api_version = versions.resolve(api_version)
        changed.append("api_version")
    now = clock.now()
    if enabled is True and not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
        endpoint.consecutive_failures = 0
        changed += ["enabled", "disabled_at", "disabled_reason", "failing_since", "consecutive_failures"]
    if changed:
        endpoint.modified_at = now
        endpoint.save(update_fields=[*changed, "modified_at"])
    if enabled is False and endpoint.enabled:
        webhook_endpoint_disable(endpoint=endpoint, reason=WebhookEndpoint.DisabledReason.USER)
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Replace the signing secret. Attempts already claimed keep the old one (they were signed with it);
    every attempt claimed after the commit uses the new one. Locks the endpoint row."""
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    endpoint.secret = generate_webhook_secret()
    endpoint.modified_at = clock.now()
    endpoint.save(update_fields=["secret", "modified_at"])
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Soft-delete: the endpoint disappears from the API, its pending deliveries are skipped, and its
    delivery history stays. Locks the endpoint row. Idempotent."""
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    if endpoint.deleted_at is not None:
        return
    webhook_endpoint_disable(endpoint=endpoint, reason=WebhookEndpoint.DisabledReason.DELETED)
    endpoint.deleted_at = clock.now()
    endpoint.save(update_fields=["deleted_at"])

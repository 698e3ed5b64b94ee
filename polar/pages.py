"""The kernel's server-rendered pages (the landing page at ``/``) and the display helpers the pages and the
admin share: status badges. Amounts are formatted by ``polar.money.format_amount``.

The kernel imports no domain app: the landing page links to the demo checkout by URL (``/demo/checkout``
when billing serves one) and to the other pages by their paths."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.html import format_html

# Status words across the models, by the tone a badge shows them in; anything else is neutral.
_TONES = {
    "ok": {"paid", "active", "succeeded", "confirmed", "delivered", "enabled", "trialing", "granted", "open"},
    "warn": {"pending", "partially_refunded", "past_due", "unpaid", "incomplete", "retrying", "expired", "disputed"},
    "bad": {"failed", "void", "canceled", "revoked", "disabled", "declined", "dead", "refunded", "lost"},
}
_TONE_OF = {status: tone for tone, statuses in _TONES.items() for status in statuses}


def status_tone(status) -> str:
    """The badge class for a status value ("ok", "warn", "bad" or "")."""
    return _TONE_OF.get(str(status or "").lower(), "")


def status_badge(status, label=None):
    """A status as an HTML badge (escaped): ``<span class="badge ok">paid</span>``."""
    text = label if label is not None else str(status or "—").replace("_", " ")
    return format_html('<span class="badge {}">{}</span>', status_tone(status), text)


def landing_page(request):
    """``/``: what this is and where to go next, for the first minutes of a new user."""
    return render(request, "landing.html", {})

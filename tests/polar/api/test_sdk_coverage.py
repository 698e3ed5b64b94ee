"""Every operation of polar-sdk 1.0.2 is routed, except the documented exclusions below.

The operations are read from the installed SDK (the 1.0 venv the contract tests build: tests/contract/
harness.py), so the list cannot drift from the client. An operation is *routed* when its path resolves to
an API view that implements its method. When an operation lands, remove it from ``EXCLUDED``: the test
fails on an exclusion that is served (so the list only shrinks)."""

import re
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve

from polar.api.routing import slash_fallback
from tests.contract.harness import sdk10_python

OAUTH2 = "out of scope (issue 13): OAuth2"
FILES = "out of scope (issue 13): file uploads"
NOT_YET = "issue 13, not yet"
# docs/portal.md#wallets: polar-sdk 1.0.2 only reads wallets and has no way to fund one (no top-up, no
# organization-side wallet operation in any version); the only balance owed to a customer here is a
# subscription's credit_balance, which pays that subscription's renewals only, so it is not a wallet.
PORTAL_WALLETS = "issue 15: no customer-level prepaid balance exists to serve (see docs/portal.md#wallets)"

# (method, path) -> who owns it. Paths as polar-sdk 1.0.2 writes them.
EXCLUDED: dict[tuple[str, str], str] = {
    # Polar serves it to users only (an organization token cannot create an organization).
    ("POST", "/v1/organizations/"): "user-token only on Polar: no organization-token operation",
    # The files of a downloadables benefit: no files without uploads.
    ("GET", "/v1/benefits/{id}/files"): FILES,
    # Customer portal (issue 15): what the portal does not serve, and why.
    (
        "PATCH",
        "/v1/customer-portal/benefit-grants/{id}",
    ): "only GitHub/Discord grants take customer input on Polar; those benefit types do not exist here",
    ("GET", "/v1/customer-portal/wallets/"): PORTAL_WALLETS,
    ("GET", "/v1/customer-portal/wallets/{id}"): PORTAL_WALLETS,
}
_PREFIX_OWNERS = (
    ("/v1/oauth2/", OAUTH2),
    ("/v1/files", FILES),
)
# Merchant operations issue 13 asks for that are not built yet (see the point 4): none left.
NOT_YET_OPERATIONS: set[tuple[str, str]] = set()


def _sdk_operations() -> set[tuple[str, str]]:
    python = Path(sdk10_python())
    [site] = python.parent.parent.glob("lib/python*/site-packages")
    services = site / "polar" / "v2026_10" / "services"
    pattern = re.compile(r'method="([A-Z]+)",\s*url="([^"]+)"')
    operations = set()
    for source in services.rglob("*.py"):
        operations.update(pattern.findall(source.read_text()))
    return operations


def _owner(method: str, path: str) -> str | None:
    if (method, path) in EXCLUDED:
        return EXCLUDED[(method, path)]
    if (method, path) in NOT_YET_OPERATIONS:
        return NOT_YET
    for prefix, owner in _PREFIX_OWNERS:
        if path.startswith(prefix):
            return owner
    return None


def _routed(method: str, path: str) -> bool:
    concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000001", path)
    try:
        match = resolve(concrete)
    except Resolver404:
        return False
    if match.func is slash_fallback:
        try:
            match = resolve(concrete + "/")
        except Resolver404:
            return False
    view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    if view_class is None or not hasattr(view_class, method.lower()):
        return False
    # The route matched must be this operation's, not a parameter swallowing a fixed segment
    # (``customers/{id}`` answering ``customers/export``).
    route = re.sub(r"<[^>]+>", "{}", "/" + match.route).rstrip("/")
    return route == re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


@pytest.mark.contract
def test_every_sdk_operation_is_routed_or_excluded():
    operations = _sdk_operations()
    assert len(operations) >= 180  # polar-sdk 1.0.2 has 190
    missing = sorted(op for op in operations if not _routed(*op) and _owner(*op) is None)
    assert missing == [], "routed by nothing and not excluded:\n" + "\n".join(f"{m} {p}" for m, p in missing)
    stale = sorted(op for op in operations if _routed(*op) and (op in EXCLUDED or op in NOT_YET_OPERATIONS))
    assert stale == [], "served now: remove from the exclusions:\n" + "\n".join(f"{m} {p}" for m, p in stale)

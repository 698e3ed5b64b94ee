"""The demo merchant that ``make demo`` seeds (``manage.py seed_demo``).

The seed is a list of named steps run in order, each in its own transaction. Every step is idempotent: it
finds its rows by a natural key (a slug, a username, a token kept on disk) and creates only what is missing,
so a second run adds nothing. Each step records how many rows it created in ``seed.created``.

Other apps extend the demo without touching this file: put the steps in ``<app>/demo.py``, e.g.

    from polar.organizations.demo import DemoSeed, demo_seed_step

    @demo_seed_step("catalog", order=100)
    def seed_catalog(seed: DemoSeed) -> None:
        product, created = Product.objects.get_or_create(organization=seed.organization, name="Pro plan", ...)
        seed.count("catalog", created)

``demo_seed`` imports every installed app's ``demo`` module before it runs the steps. Orders below 100 are
the platform's (organization, staff user, API token); use 100 and up.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

from .models import Organization, OrganizationAccessToken, OrganizationMember, hash_token
from .services import access_token_create, organization_get_or_create

DEMO_ORGANIZATION_SLUG = "demo"
DEMO_ORGANIZATION_NAME = "Demo Merchant"
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_EMAIL = "admin@demo.localhost"
# Secrets the seed must show again on the next run live in the data directory, never in the database:
# tokens are stored hashed and passwords salted, so they cannot be read back from there.
TOKEN_FILE = "demo_token"
ADMIN_PASSWORD_FILE = "demo_admin_password"
STAFF_PASSWORD_FILE = "demo_staff_password"


@dataclass
class DemoSeed:
    """What the steps share: the data directory, the rows made so far, and what to print at the end."""

    data_dir: Path
    organization: Organization | None = None
    token: str | None = None
    admin_username: str | None = None
    admin_password: str | None = None
    # One staff member per role on the demo merchant: [(role, username)], all with ``staff_password``.
    staff_logins: list[tuple[str, str]] = field(default_factory=list)
    staff_password: str | None = None
    created: dict[str, int] = field(default_factory=dict)

    def count(self, step: str, created: bool | int = 1) -> None:
        self.created[step] = self.created.get(step, 0) + int(created)

    def read_secret(self, name: str) -> str | None:
        path = self.data_dir / name
        return (path.read_text().strip() or None) if path.exists() else None

    def write_secret(self, name: str, value: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / name
        # Created 0600 from the start: the file never exists world-readable, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")

    def as_dict(self) -> dict:
        return {
            "organization_id": str(self.organization.id) if self.organization else None,
            "slug": self.organization.slug if self.organization else None,
            "token": self.token,
            "admin_username": self.admin_username,
            "admin_password": self.admin_password,
            "staff_logins": [list(login) for login in self.staff_logins],
            "staff_password": self.staff_password,
            "created": dict(self.created),
        }


_STEPS: dict[str, tuple[int, Callable[[DemoSeed], None], bool]] = {}


def demo_seed_step(name: str, *, order: int, atomic: bool = True):
    """Register ``function(seed)`` as the demo step ``name``; steps run by ascending ``order``.

    ``atomic=False`` is for steps that go through services managing their own transactions (a charge is
    made outside any transaction, so such a step must not run inside one)."""

    def register(function: Callable[[DemoSeed], None]) -> Callable[[DemoSeed], None]:
        _STEPS[name] = (order, function, atomic)
        return function

    return register


def demo_seed(*, data_dir: Path) -> DemoSeed:
    """Run every registered step once, in order. Idempotent: see the module docstring."""
    autodiscover_modules("demo")
    seed = DemoSeed(data_dir=Path(data_dir))
    for name, (_order, step, atomic) in sorted(_STEPS.items(), key=lambda item: (item[1][0], item[0])):
        seed.created.setdefault(name, 0)
        if atomic:
            with transaction.atomic():
                step(seed)
        else:
            step(seed)
    return seed


@demo_seed_step("organization", order=10)
def seed_organization(seed: DemoSeed) -> None:
    organization, created = organization_get_or_create(slug=DEMO_ORGANIZATION_SLUG, name=DEMO_ORGANIZATION_NAME)
    seed.organization = organization
    seed.count("organization", created)


@demo_seed_step("staff_user", order=20)
def seed_staff_user(seed: DemoSeed) -> None:
    """A superuser for the admin, member of the demo organization. The password lives in the data dir."""
    User = get_user_model()
    password = seed.read_secret(ADMIN_PASSWORD_FILE)
    if password is None:
        password = secrets.token_urlsafe(12)
        seed.write_secret(ADMIN_PASSWORD_FILE, password)
    user, created = User.objects.get_or_create(
        username=DEMO_ADMIN_USERNAME,
        defaults={"email": DEMO_ADMIN_EMAIL, "is_staff": True, "is_superuser": True},
    )
    # The password file is the truth: a fresh data dir over an old database (or the reverse) still logs in.
    if created or not user.check_password(password):
        user.set_password(password)
        user.save()
    _membership, member_created = OrganizationMember.objects.get_or_create(organization=seed.organization, user=user)
    seed.admin_username, seed.admin_password = user.username, password
    seed.count("staff_user", created)
    seed.count("staff_user", member_created)


@demo_seed_step("staff_roles", order=25)
def seed_staff_roles(seed: DemoSeed) -> None:
    """One staff member per role (support@, risk@, finance@demo.localhost) assigned to the demo merchant, so
    the back office can be tried as each role sees it (docs/back-office.md). One password, in the data dir."""
    from .staff import ROLES, staff_access_grant, staff_user_get_or_create

    password = seed.read_secret(STAFF_PASSWORD_FILE)
    if password is None:
        password = secrets.token_urlsafe(12)
        seed.write_secret(STAFF_PASSWORD_FILE, password)
    User = get_user_model()
    for role in ROLES:
        email = f"{role}@demo.localhost"
        existed = User.objects.filter(email=email).exists()
        user, _ = staff_user_get_or_create(email=email)
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        staff_access_grant(actor=None, user=user, role=role, organization=seed.organization, reason="demo seed")
        seed.staff_logins.append((role, user.username))
        seed.count("staff_roles", not existed)
    seed.staff_password = password


@demo_seed_step("api_token", order=30)
def seed_api_token(seed: DemoSeed) -> None:
    """Reuse the token kept on disk while it still works; otherwise mint one and keep it."""
    raw = seed.read_secret(TOKEN_FILE)
    if raw is not None:
        existing = OrganizationAccessToken.objects.filter(token_hash=hash_token(raw), organization=seed.organization).first()
        if existing is not None and existing.is_usable():
            seed.token = raw
            return
    _token, raw = access_token_create(organization=seed.organization, comment="demo (make demo)")
    seed.write_secret(TOKEN_FILE, raw)
    seed.token = raw
    seed.count("api_token")

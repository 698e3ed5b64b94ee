"""``staff_access grant|revoke``: assign a staff member to a merchant with a role, or take it away, for
bootstrapping and automation (docs/back-office.md). Audited as ``system:staff_access_grant|revoke`` with
the reason (``--reason``, default "staff_access command")."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from polar.errors import PolarError
from polar.organizations.models import Organization
from polar.organizations.staff import ROLES, staff_access_grant, staff_access_revoke, staff_user_get_or_create


class Command(BaseCommand):
    help = (
        "grant --email E --role support|risk|finance --organization SLUG [--password P]: create the staff user "
        "when missing (a generated password is printed once when none is given), give the role and the "
        "organization. revoke --email E --organization SLUG [--role R]: take the organization (and the role) away."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="operation", required=True)
        grant = sub.add_parser("grant")
        revoke = sub.add_parser("revoke")
        for parser_ in (grant, revoke):
            parser_.add_argument("--email", required=True)
            parser_.add_argument("--organization", required=True, help="the organization's slug")
            parser_.add_argument("--reason", default="staff_access command")
        grant.add_argument("--role", required=True, choices=sorted(ROLES))
        grant.add_argument("--password", default=None)
        revoke.add_argument("--role", default=None, choices=sorted(ROLES))

    def handle(self, *args, operation, email, organization, reason, role=None, password=None, **options):
        found = Organization.objects.filter(slug=organization).first()
        if found is None:
            raise CommandError(f"No organization with the slug {organization!r}.")
        try:
            if operation == "grant":
                user, generated = staff_user_get_or_create(email=email, password=password)
                staff_access_grant(actor=None, user=user, role=role, organization=found, reason=reason)
                self.stdout.write(f"{user.email} is {role} on {found.slug}.")
                if generated:
                    self.stdout.write(f"Password (shown once, store it now): {generated}")
                return
            user = get_user_model().objects.filter(email__iexact=email.strip()).first()
            if user is None:
                raise CommandError(f"No user with the e-mail {email!r}.")
            staff_access_revoke(actor=None, user=user, organization=found, reason=reason, role=role)
            self.stdout.write(f"{user.email} no longer has access to {found.slug}.")
        except PolarError as error:
            raise CommandError(error.detail) from error

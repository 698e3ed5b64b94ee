"""``license_keys.rotate`` (POST /v1/license-keys/{id}/rotate) through polar-sdk 1.0.2 (0.32 has no such
call): a new key string, the old one stops validating; a revoked key → RotateNotPermitted; another
organization's key → 404."""

import pytest

from .harness import failed, ok, op
from .test_catalog import granted_key

pytestmark = pytest.mark.contract


def test_10_rotate(sdk10, contract_organization, contract_other_token):
    key = granted_key(contract_organization)
    org = str(contract_organization.id)
    results = sdk10.run(
        op("license_keys.rotate", str(key.id)),
        op("customer_portal.license_keys.validate", key=key.key, organization_id=org),
        op("customer_portal.license_keys.validate", key="${0.key}", organization_id=org),
        op("license_keys.rotate", str(key.id), access_token=contract_other_token),
        op("license_keys.update", str(key.id), status="revoked"),
        op("license_keys.rotate", str(key.id)),
    )
    rotated = ok(results[0])
    assert rotated["__class__"] == "RotatedLicenseKey"
    assert rotated["id"] == str(key.id) and rotated["key"] != key.key and rotated["status"] == "granted"
    failed(results[1], "ResourceNotFound", 404)
    assert ok(results[2])["id"] == str(key.id)
    failed(results[3], "ResourceNotFound", 404)
    ok(results[4])
    error = failed(results[5], "RotateNotPermitted", 400)
    assert error["body"]["error"] == "RotateNotPermitted"

"""Checkout links through both SDKs: create (the three body forms), get, list, update, delete, another
organization's link (404), bad input (422 with its loc), and the link's URL opening a checkout."""

import urllib.request

import pytest
from polar_sdk import models as m032

from billing.models import Checkout
from tests.factories.subscriptions import monthly_product, one_time_product, percentage_discount

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _follow_once(url):
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url)
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")
    raise AssertionError("no redirect")


@pytest.fixture
def catalog(contract_organization):
    return {
        "plan": monthly_product(contract_organization, name="Pro", amount=1200),
        "book": one_time_product(contract_organization, name="E-book", amount=2500),
        "discount": percentage_discount(contract_organization, basis_points=1000),
    }


def test_032_checkout_links_crud(sdk032, sdk032_other, catalog, settings, live_server):
    settings.PUBLIC_BASE_URL = live_server.url
    plan, book = catalog["plan"], catalog["book"]
    link = sdk032.checkout_links.create(
        request={
            "payment_processor": "stripe",
            "products": [str(plan.id), str(book.id)],
            "label": "Launch",
            "discount_id": str(catalog["discount"].id),
            "metadata": {"campaign": "launch"},
        }
    )
    assert isinstance(link, m032.CheckoutLink)
    assert [p.id for p in link.products] == [str(plan.id), str(book.id)]
    assert (link.label, link.discount_id, link.metadata) == ("Launch", str(catalog["discount"].id), {"campaign": "launch"})
    single = sdk032.checkout_links.create(request={"payment_processor": "stripe", "product_id": str(book.id)})
    assert [p.id for p in single.products] == [str(book.id)]

    assert sdk032.checkout_links.get(id=link.id).client_secret == link.client_secret
    page = sdk032.checkout_links.list(product_id=str(plan.id)).result
    assert [item.id for item in page.items] == [link.id]
    updated = sdk032.checkout_links.update(id=link.id, checkout_link_update={"label": "Summer", "allow_discount_codes": False})
    assert (updated.label, updated.allow_discount_codes) == ("Summer", False)

    status, location = _follow_once(link.url)
    assert status == 302 and "/checkout/polar_c_" in location
    assert Checkout.objects.get().discount_id == catalog["discount"].id

    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.checkout_links.get(id=link.id)
    with pytest.raises(m032.HTTPValidationError) as error:
        sdk032.checkout_links.create(request={"payment_processor": "stripe", "products": [str(plan.id)], "seats": 2})
    assert error.value.data.detail[0].loc == ["body", "seats"]

    sdk032.checkout_links.delete(id=link.id)
    with pytest.raises(m032.ResourceNotFound):
        sdk032.checkout_links.get(id=link.id)


def test_10_checkout_links_crud(sdk10, catalog, contract_other_token):
    plan, book = catalog["plan"], catalog["book"]
    results = sdk10.run(
        op("checkout_links.create", payment_processor="stripe", products=[str(plan.id)], label="Launch"),
        op("checkout_links.create", payment_processor="stripe", product_price_id=str(book.all_prices.get().id)),
        op("checkout_links.get", "${0.id}"),
        op("checkout_links.list", sorting=["-created_at"]),
        op("checkout_links.update", "${0.id}", products=[str(book.id), str(plan.id)], label="Both"),
        op("checkout_links.get", "${0.id}", access_token=contract_other_token),
        op("checkout_links.create", payment_processor="stripe", products=[str(plan.id)], discount_id=str(plan.id)),
        op("checkout_links.delete", "${1.id}"),
        op("checkout_links.get", "${1.id}"),
    )
    link = ok(results[0])
    assert link["__class__"] == "CheckoutLink" and link["products"][0]["__class__"] == "CheckoutLinkProduct"
    assert link["label"] == "Launch" and link["url"].endswith(f"/v1/checkout-links/{link['client_secret']}/redirect")
    assert [p["id"] for p in ok(results[1])["products"]] == [str(book.id)]
    assert ok(results[2])["id"] == link["id"]
    listed = ok(results[3])
    assert listed["pagination"]["total_count"] == 2 and listed["items"][1]["id"] == link["id"]
    updated = ok(results[4])
    assert updated["label"] == "Both" and [p["id"] for p in updated["products"]] == [str(book.id), str(plan.id)]
    failed(results[5], "ResourceNotFound", 404)
    error = failed(results[6], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["body", "discount_id"]
    assert results[7]["result"] is None
    failed(results[8], "ResourceNotFound", 404)

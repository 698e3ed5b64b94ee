"""The server-rendered pages without a browser: money formatting, the landing page, the stylesheet, the
checkout's inline errors and sandbox cards, the invoice's look."""

import pytest
from django.test import Client

from billing.checkouts import services as checkout_services
from polar.money import format_amount
from tests.factories.catalog import make_product


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (5000, "usd", "$50.00"),
        (5, "usd", "$0.05"),
        (-1234, "eur", "-€12.34"),
        (123456789, "gbp", "£1,234,567.89"),
        (5000, "jpy", "¥5,000"),
        (-300, "krw", "-₩300"),
        (1250, "chf", "CHF 12.50"),
        (0, "usd", "$0.00"),
        (1000, "USD", "$10.00"),
    ],
)
def test_format_amount(amount, currency, shown):
    assert format_amount(amount, currency) == shown


@pytest.mark.django_db
def test_landing_page_is_html_with_links():
    response = Client().get("/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for link in ('href="/docs"', 'href="/admin/"', 'href="/demo/checkout"', "site.css"):
        assert link in html


@pytest.mark.django_db
def test_stylesheet_and_script_are_served_by_the_app():
    client = Client()
    css = client.get("/static/polar/site.css")
    assert css.status_code == 200 and b".badge" in b"".join(css.streaming_content)
    assert client.get("/static/polar/checkout.js").status_code == 200


@pytest.fixture
def checkout(organization):
    product = make_product(organization=organization, name="Pro", description="Everything in one plan.")
    return checkout_services.checkout_create(organization=organization, products=[product.id])


@pytest.mark.django_db
def test_checkout_page_shows_description_breakdown_and_sandbox_cards(checkout):
    html = Client().get(f"/checkout/{checkout.client_secret}").content.decode()
    assert "Everything in one plan." in html
    assert "Pay $10.00" in html and "Tax (0 %)" in html
    assert "4242 4242 4242 4242" in html and "Sandbox test cards" in html
    assert 'for="id_card_number"' in html  # every field has its label


@pytest.mark.django_db
def test_checkout_page_says_invalid_card_number_next_to_the_field(checkout):
    response = Client().post(
        f"/checkout/{checkout.client_secret}",
        {"customer_email": "x@example.com", "card_number": "1234 5678", "product_id": str(checkout.product_id)},
    )
    html = response.content.decode()
    assert response.status_code in (402, 422)
    assert "Invalid card number" in html and 'id="error_card_number"' in html
    assert 'value="x@example.com"' in html  # the form keeps what was typed


@pytest.mark.django_db
def test_checkout_page_shows_an_unknown_discount_code_next_to_its_field(checkout):
    response = Client().post(
        f"/checkout/{checkout.client_secret}",
        {
            "customer_email": "x@example.com",
            "card_number": "4242424242424242",
            "product_id": str(checkout.product_id),
            "discount_code": "NOPE",
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="error_discount_code"' in html and "Discount code does not exist." in html


@pytest.mark.django_db
def test_demo_checkout_redirects_to_a_fresh_checkout_of_the_demo_product():
    from tests.factories import OrganizationFactory

    demo = OrganizationFactory(slug="demo", name="Demo merchant")
    make_product(organization=demo, name="Demo API")
    response = Client().get("/demo/checkout")
    assert response.status_code == 302 and response["Location"].startswith("/checkout/")
    assert "Demo API" in Client().get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_demo_checkout_is_404_when_the_demo_is_not_seeded():
    assert Client().get("/demo/checkout").status_code == 404

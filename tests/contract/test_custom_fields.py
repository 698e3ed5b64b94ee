"""Custom fields through both SDKs: create each type, get, list, update, delete, attach to a product;
another organization's field is 404; a taken slug or a type change is a validation error."""

import pytest
from polar_sdk import models as m032

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

SELECT = {
    "type": "select",
    "slug": "company-size",
    "name": "Company size",
    "properties": {"options": [{"value": "s", "label": "Small"}, {"value": "l", "label": "Large"}]},
}
PRICES = [{"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"}]


def test_032_custom_fields(sdk032, sdk032_other):
    select = sdk032.custom_fields.create(request=SELECT)
    assert isinstance(select, m032.CustomFieldSelect) and select.properties.options[1].label == "Large"
    text = sdk032.custom_fields.create(request={"type": "text", "slug": "vat", "name": "VAT", "properties": {"max_length": 20}})
    assert isinstance(text, m032.CustomFieldText) and text.properties.max_length == 20
    number = sdk032.custom_fields.create(request={"type": "number", "slug": "seats", "name": "Seats", "properties": {"ge": 1}})
    assert isinstance(number, m032.CustomFieldNumber)
    assert isinstance(sdk032.custom_fields.get(id=select.id), m032.CustomFieldSelect)
    page = sdk032.custom_fields.list(type_filter="text").result
    assert [f.slug for f in page.items] == ["vat"]
    renamed = sdk032.custom_fields.update(id=text.id, custom_field_update={"type": "text", "name": "VAT ID"})
    assert renamed.name == "VAT ID"

    product = sdk032.products.create(
        request={
            "name": "Pro",
            "recurring_interval": "month",
            "prices": PRICES,
            "attached_custom_fields": [{"custom_field_id": select.id, "required": True}],
        }
    )
    [attached] = product.attached_custom_fields
    assert (attached.custom_field_id, attached.required, attached.custom_field.slug) == (select.id, True, "company-size")

    with pytest.raises(m032.HTTPValidationError) as error:
        sdk032.custom_fields.create(request=SELECT)
    assert error.value.data.detail[0].loc == ["body", "slug"]
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.custom_fields.get(id=select.id)
    sdk032.custom_fields.delete(id=select.id)
    with pytest.raises(m032.ResourceNotFound):
        sdk032.custom_fields.get(id=select.id)
    assert sdk032.products.get(id=product.id).attached_custom_fields == []


def test_10_custom_fields(sdk10, contract_other_token):
    results = sdk10.run(
        op("custom_fields.create", **SELECT),
        op("custom_fields.create", type="checkbox", slug="tos", name="Terms", properties={"form_label": "I agree"}),
        op("custom_fields.get", "${0.id}"),
        op("custom_fields.list", sorting=["-slug"]),
        op("custom_fields.update", "${1.id}", type="checkbox", name="Terms of service"),
        op("products.create", name="Pro", recurring_interval="month", prices=PRICES,
           attached_custom_fields=[{"custom_field_id": "${1.id}", "required": True}, {"custom_field_id": "${0.id}", "required": False}]),
        op("custom_fields.get", "${0.id}", access_token=contract_other_token),
        op("custom_fields.update", "${1.id}", type="text", name="x"),
        op("custom_fields.delete", "${0.id}"),
        op("custom_fields.get", "${0.id}"),
    )  # fmt: skip
    select = ok(results[0])
    assert select["__class__"] == "CustomFieldSelect" and (
        select["properties"]["options"][0]["value"],
        select["properties"]["options"][0]["label"],
    ) == ("s", "Small")
    assert ok(results[1])["__class__"] == "CustomFieldCheckbox"
    assert ok(results[2])["id"] == select["id"]
    assert [f["slug"] for f in ok(results[3])["items"]] == ["tos", "company-size"]
    assert ok(results[4])["name"] == "Terms of service"
    product = ok(results[5])
    assert [(a["custom_field"]["slug"], a["order"], a["required"]) for a in product["attached_custom_fields"]] == [
        ("tos", 0, True),
        ("company-size", 1, False),
    ]
    assert product["attached_custom_fields"][0]["__class__"] == "AttachedCustomField"
    failed(results[6], "ResourceNotFound", 404)
    error = failed(results[7], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["body", "type"]
    assert results[8]["result"] is None
    failed(results[9], "ResourceNotFound", 404)

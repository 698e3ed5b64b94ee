"""Polar's metadata limits (polar.api.metadata.validate_metadata) and their use on catalog resources."""

import pytest
from rest_framework.exceptions import ValidationError

from polar.api.metadata import validate_metadata


def test_accepts_strings_ints_floats_and_bools():
    value = {"plan": "gold", "seats": 3, "ratio": 0.5, "beta": True}
    assert validate_metadata(value) == value


def test_none_is_empty_metadata():
    assert validate_metadata(None) == {}


def test_fifty_keys_are_allowed_and_fifty_one_are_not():
    assert len(validate_metadata({f"k{i}": i for i in range(50)})) == 50
    with pytest.raises(ValidationError):
        validate_metadata({f"k{i}": i for i in range(51)})


def test_keys_up_to_40_characters():
    assert validate_metadata({"k" * 40: 1})
    with pytest.raises(ValidationError):
        validate_metadata({"k" * 41: 1})
    with pytest.raises(ValidationError):
        validate_metadata({"": 1})


def test_string_values_up_to_500_characters():
    assert validate_metadata({"k": "v" * 500})
    with pytest.raises(ValidationError):
        validate_metadata({"k": "v" * 501})


@pytest.mark.parametrize("bad", [None, [1], {"a": 1}])
def test_other_value_types_are_refused(bad):
    with pytest.raises(ValidationError):
        validate_metadata({"k": bad})


def test_not_an_object_is_refused():
    with pytest.raises(ValidationError):
        validate_metadata(["a"])


@pytest.mark.django_db
def test_product_metadata_over_the_limit_is_422_and_at_the_limit_is_stored(api_client):
    body = {"name": "Pro", "prices": [{"amount_type": "fixed", "price_amount": 100}]}
    too_many = api_client.post("/v1/products/", {**body, "metadata": {f"k{i}": i for i in range(51)}}, format="json")
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "metadata"]
    at_limit = api_client.post("/v1/products/", {**body, "metadata": {f"k{i}": "v" * 500 for i in range(50)}}, format="json")
    assert at_limit.status_code == 201
    assert len(at_limit.json()["metadata"]) == 50

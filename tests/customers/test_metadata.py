"""Polar's metadata limits: 50 keys, keys of 1..40 characters, strings up to 500, int/float/bool values."""

import pytest
from rest_framework import serializers

from customers.models import Customer
from polar.api.metadata import validate_metadata


def _too(value):
    with pytest.raises(serializers.ValidationError) as excinfo:
        validate_metadata(value)
    return excinfo.value.detail


def test_none_is_empty():
    assert validate_metadata(None) == {}


def test_fifty_keys_are_accepted():
    value = {f"k{i}": i for i in range(50)}
    assert validate_metadata(value) == value


def test_fifty_one_keys_are_refused():
    detail = _too({f"k{i}": i for i in range(51)})
    assert "at most 50" in str(detail[0])


def test_key_of_forty_characters_is_accepted():
    assert validate_metadata({"k" * 40: "v"}) == {"k" * 40: "v"}


def test_key_of_forty_one_characters_is_refused():
    assert list(_too({"k" * 41: "v"})) == ["k" * 41]


def test_empty_key_is_refused():
    assert list(_too({"": "v"})) == [""]


def test_string_of_500_characters_is_accepted():
    assert validate_metadata({"k": "x" * 500}) == {"k": "x" * 500}


def test_string_of_501_characters_is_refused():
    assert list(_too({"k": "x" * 501})) == ["k"]


def test_int_float_bool_values_are_accepted():
    value = {"int": -3, "float": 1.5, "bool": False, "empty": ""}
    assert validate_metadata(value) == value


@pytest.mark.parametrize("bad", [None, [1], {"a": 1}])
def test_other_value_types_are_refused(bad):
    assert list(_too({"k": bad})) == ["k"]


def test_not_a_dict_is_refused():
    _too(["a"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "metadata,loc",
    [
        ({f"k{i}": i for i in range(51)}, ["body", "metadata"]),
        ({"k" * 41: 1}, ["body", "metadata", "k" * 41]),
        ({"k": "x" * 501}, ["body", "metadata", "k"]),
        ({"k": [1]}, ["body", "metadata", "k"]),
    ],
)
def test_api_refuses_each_limit_with_loc_and_writes_nothing(api_client, metadata, loc):
    response = api_client.post("/v1/customers/", {"email": "a@example.com", "metadata": metadata}, format="json")
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [loc]
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_api_accepts_the_boundaries(api_client):
    metadata = {f"{i:040d}": "x" * 500 for i in range(50)}
    response = api_client.post("/v1/customers/", {"email": "a@example.com", "metadata": metadata}, format="json")
    assert response.status_code == 201
    assert response.json()["metadata"] == metadata

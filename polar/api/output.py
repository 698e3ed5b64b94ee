"""Output serializers built once per class.

DRF's ``ModelSerializer`` builds its fields again for every instance it renders: it introspects the model,
maps each column to a field class and computes its keyword arguments. For ``CustomerOutput`` that was about
85 % of rendering one customer, on every get, every page and every ``customer.*`` webhook (issue 20).
The fields of an output serializer depend only on its class (its ``Meta`` and its declared fields), so they
are built once per class here and each instance gets copies: a shallow copy of a simple field (binding
then sets its name and parent on the copy, nothing is shared that rendering changes), a deep copy, as DRF
makes of every field, of one that holds other fields (a nested serializer, a list or dict field).
A subclass that chooses fields per instance (from its context, say) must not use this.
"""

import copy

from rest_framework import serializers


class BuiltOnceModelSerializer(serializers.ModelSerializer):
    def get_fields(self):
        cls = type(self)
        # Looked up in the class's own namespace: a subclass (other Meta.fields) builds its own.
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return {name: _copy_field(field) for name, field in built.items()}


def _copy_field(field):
    if isinstance(field, (serializers.BaseSerializer, serializers.ListField, serializers.DictField)) or hasattr(field, "child"):
        return copy.deepcopy(field)
    # copy.copy() without its __reduce_ex__ round trip (a third of the cost of rendering a customer).
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone

import factory

from billing.models import Meter
from tests.factories import OrganizationFactory


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Meter {n}")
    filter = factory.LazyFunction(
        lambda: {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]}
    )
    aggregation = factory.LazyFunction(lambda: {"func": "count"})

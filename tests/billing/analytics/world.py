"""A small world whose metrics are computed by hand in the tests (docs/metrics.md has the definitions).

January to May 2026, UTC, now = 2026-05-15 12:00. Rows are written as the billing services leave them
(orders with their recurring lines, subscriptions with their instants), directly, because the metrics read
history: a world of five months made by time-travelling the services would test the services, not the sums.

- Alice: Basic (10.00/month) from Jan 10; renewals Feb 10 and Mar 10; plan change to Pro (30.00) on Mar 20
  (a 13.33 proration order, a proration line), Pro renewals Apr 10 and May 10. Event costs 200.5¢ (Jan 15)
  and 100¢ (Mar 12).
- Bob: Basic from Feb 1, renewal Mar 1, cancels Mar 15 (too expensive, at period end), ends Apr 1: the churn.
- Carol: a one-time purchase of 25.00 on Feb 14, 10.00 of it refunded.
- Dave: Basic from Mar 5; the Apr 5 renewal's charge fails (a failed payment) and is recovered on Apr 8;
  renewal May 5.
  Event cost "50.25"¢ (Apr 2, a string), and one without a cost (Apr 3).
- Erin: Basic, trialing from May 1 to May 20. An event without a cost (May 3).
- Checkouts: three in February (Bob's and Carol's succeeded, one expired), Dave's in March (succeeded).
"""

import datetime as dt

from billing.models import Checkout, Order, OrderItem, Payment, PaymentMethod, Subscription
from billing.usage.services import events_ingest
from tests.factories import CustomerFactory
from tests.factories.subscriptions import monthly_product, one_time_product

NOW = dt.datetime(2026, 5, 15, 12, tzinfo=dt.UTC)


def at(month, day, hour=0):
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


class World:
    def __init__(self, organization):
        self.organization = organization
        self.sequence = 0
        self.basic = monthly_product(organization, name="Basic", amount=1000)
        self.pro = monthly_product(organization, name="Pro", amount=3000)
        self.book = one_time_product(organization, name="Book", amount=2500)
        self.basic_price = self.basic.all_prices.get()
        self.pro_price = self.pro.all_prices.get()
        self.book_price = self.book.all_prices.get()
        self.alice, self.bob, self.carol, self.dave, self.erin = (
            CustomerFactory(organization=organization, email=f"{name}@example.com", external_id=name)
            for name in ("alice", "bob", "carol", "dave", "erin")
        )

    def subscription(self, customer, product, amount, started_at, **fields):
        return Subscription.objects.create(
            organization=self.organization,
            customer=customer,
            product=product,
            status=fields.pop("status", "active"),
            amount=amount,
            currency="usd",
            recurring_interval="month",
            recurring_interval_count=1,
            current_period_start=fields.pop("current_period_start", started_at),
            current_period_end=fields.pop("current_period_end", started_at + dt.timedelta(days=30)),
            billing_anchor_day=started_at.day,
            started_at=started_at,
            **fields,
        )

    def order(
        self,
        customer,
        reason,
        amount,
        *,
        paid_at,
        created_at=None,
        subscription=None,
        product=None,
        price=None,
        period=None,
        proration=False,
        refunded=0,
        status=None,
    ):
        self.sequence += 1
        order = Order.objects.create(
            organization=self.organization,
            customer=customer,
            product=product or (price.product if price else None),
            subscription=subscription,
            billing_reason=reason,
            status=status or ("partially_refunded" if refunded else ("paid" if paid_at else "pending")),
            currency="usd",
            subtotal_amount=amount,
            net_amount=amount,
            total_amount=amount,
            due_amount=amount,
            refunded_amount=refunded,
            pricing_inputs={},
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
            invoice_number=f"INV-{self.sequence}",
            invoice_sequence=self.sequence,
            paid_at=paid_at,
        )
        Order.objects.filter(pk=order.pk).update(created_at=created_at or paid_at)
        OrderItem.objects.create(
            order=order,
            label="line",
            amount=amount,
            proration=proration,
            product_price=price,
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
        )
        return order

    def payment(self, order, status, created_at):
        method, _ = PaymentMethod.objects.get_or_create(
            organization=self.organization,
            customer=order.customer,
            defaults={
                "processor": "sandbox",
                "processor_ref": f"pm_{order.customer.external_id}",
                "brand": "visa",
                "last4": "4242",
                "exp_month": 12,
                "exp_year": 2030,
            },
        )
        payment = Payment.objects.create(
            organization=self.organization,
            customer=order.customer,
            payment_method=method,
            order=order,
            amount=order.total_amount,
            currency="usd",
            status=status,
            processor="sandbox",
            idempotency_key=f"order:{order.id}:{status}",
        )
        Payment.objects.filter(pk=payment.pk).update(created_at=created_at)

    def checkout(self, product, created_at, status, customer=None):
        checkout = Checkout.objects.create(
            organization=self.organization,
            product=product,
            customer=customer,
            status=status,
            expires_at=created_at + dt.timedelta(hours=1),
        )
        Checkout.objects.filter(pk=checkout.pk).update(created_at=created_at)
        return checkout

    def build(self):
        basic, pro = self.basic_price, self.pro_price
        # Alice
        alice = self.subscription(
            self.alice, self.pro, 3000, at(1, 10), current_period_start=at(5, 10), current_period_end=at(6, 10)
        )
        self.alice_subscription = alice
        self.order(
            self.alice,
            "subscription_create",
            1000,
            paid_at=at(1, 10),
            subscription=alice,
            price=basic,
            period=(at(1, 10), at(2, 10)),
        )
        self.order(
            self.alice,
            "subscription_cycle",
            1000,
            paid_at=at(2, 10),
            subscription=alice,
            price=basic,
            period=(at(2, 10), at(3, 10)),
        )
        self.order(
            self.alice,
            "subscription_cycle",
            1000,
            paid_at=at(3, 10),
            subscription=alice,
            price=basic,
            period=(at(3, 10), at(4, 10)),
        )
        self.order(
            self.alice,
            "subscription_update",
            1333,
            paid_at=at(3, 20),
            subscription=alice,
            price=pro,
            period=(at(3, 20), at(4, 10)),
            proration=True,
        )
        self.order(
            self.alice,
            "subscription_cycle",
            3000,
            paid_at=at(4, 10),
            subscription=alice,
            price=pro,
            period=(at(4, 10), at(5, 10)),
        )
        self.order(
            self.alice,
            "subscription_cycle",
            3000,
            paid_at=at(5, 10),
            subscription=alice,
            price=pro,
            period=(at(5, 10), at(6, 10)),
        )
        # Bob: cancels at the period end, churns on Apr 1.
        bob = self.subscription(
            self.bob,
            self.basic,
            1000,
            at(2, 1),
            status="canceled",
            current_period_start=at(3, 1),
            current_period_end=at(4, 1),
            cancel_at_period_end=True,
            canceled_at=at(3, 15),
            ends_at=at(4, 1),
            ended_at=at(4, 1),
            customer_cancellation_reason="too_expensive",
        )
        self.order(
            self.bob, "subscription_create", 1000, paid_at=at(2, 1), subscription=bob, price=basic, period=(at(2, 1), at(3, 1))
        )
        self.order(
            self.bob, "subscription_cycle", 1000, paid_at=at(3, 1), subscription=bob, price=basic, period=(at(3, 1), at(4, 1))
        )
        # Carol: one purchase, partly refunded.
        self.order(self.carol, "purchase", 2500, paid_at=at(2, 14), product=self.book, price=self.book_price, refunded=1000)
        # Dave: the April renewal fails on Apr 5 and is recovered on Apr 8.
        dave = self.subscription(
            self.dave, self.basic, 1000, at(3, 5), current_period_start=at(5, 5), current_period_end=at(6, 5)
        )
        self.order(
            self.dave, "subscription_create", 1000, paid_at=at(3, 5), subscription=dave, price=basic, period=(at(3, 5), at(4, 5))
        )
        recovered = self.order(
            self.dave,
            "subscription_cycle",
            1000,
            created_at=at(4, 5),
            paid_at=at(4, 8),
            subscription=dave,
            price=basic,
            period=(at(4, 5), at(5, 5)),
        )
        self.payment(recovered, "failed", at(4, 5))
        self.payment(recovered, "succeeded", at(4, 8))
        self.order(
            self.dave, "subscription_cycle", 1000, paid_at=at(5, 5), subscription=dave, price=basic, period=(at(5, 5), at(6, 5))
        )
        # Erin: trialing.
        self.subscription(
            self.erin,
            self.basic,
            1000,
            at(5, 1),
            status="trialing",
            trial_start=at(5, 1),
            trial_end=at(5, 20),
            current_period_end=at(5, 20),
        )
        # Checkouts.
        self.checkout(self.basic, at(2, 1), "succeeded", self.bob)
        self.checkout(self.book, at(2, 14), "succeeded", self.carol)
        self.checkout(self.basic, at(2, 20), "expired")
        self.checkout(self.basic, at(3, 5), "succeeded", self.dave)
        # Events.
        events_ingest(
            organization=self.organization,
            events=[
                {
                    "name": "llm",
                    "external_customer_id": "alice",
                    "timestamp": "2026-01-15T00:00:00Z",
                    "metadata": {"_cost": {"amount": 200.5, "currency": "usd"}},
                },
                {
                    "name": "llm",
                    "external_customer_id": "alice",
                    "timestamp": "2026-03-12T00:00:00Z",
                    "metadata": {"_cost": {"amount": 100, "currency": "usd"}},
                },
                {
                    "name": "llm",
                    "external_customer_id": "dave",
                    "timestamp": "2026-04-02T00:00:00Z",
                    "metadata": {"_cost": {"amount": "50.25", "currency": "usd"}},
                },
                {"name": "llm", "external_customer_id": "dave", "timestamp": "2026-04-03T00:00:00Z", "metadata": {"tokens": 5}},
                {"name": "login", "external_customer_id": "erin", "timestamp": "2026-05-03T00:00:00Z"},
            ],
        )
        return self

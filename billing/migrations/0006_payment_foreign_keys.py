"""Payment.order_id / Payment.checkout_id and Subscription.payment_method_id were plain UUID columns
while the models they name lived in other branches; they become foreign keys on the same columns
(no data moves: only the state changes and the FK constraints are added)."""
import django.db.models.deletion
from django.db import migrations, models


def _fk_sql(table, column, target, name):
    return (
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ("{column}") REFERENCES "{target}" ("id") '
        "DEFERRABLE INITIALLY DEFERRED",
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"',
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_merge_0002_payments_0004_merge_20261128_2335"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="payment", name="order_id"),
                migrations.RemoveField(model_name="payment", name="checkout_id"),
                migrations.AddField(
                    model_name="payment",
                    name="order",
                    field=models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="payments", to="billing.order"
                    ),
                ),
                migrations.AddField(
                    model_name="payment",
                    name="checkout",
                    field=models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="payments", to="billing.checkout"
                    ),
                ),
                migrations.RemoveField(model_name="subscription", name="payment_method_id"),
                migrations.AddField(
                    model_name="subscription",
                    name="payment_method",
                    field=models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="billing.paymentmethod"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(*_fk_sql("billing_payment", "order_id", "billing_order", "billing_payment_order_id_fk")),
                migrations.RunSQL(*_fk_sql("billing_payment", "checkout_id", "billing_checkout", "billing_payment_checkout_id_fk")),
                migrations.RunSQL(
                    'CREATE INDEX IF NOT EXISTS "billing_subscription_payment_method_id_idx" ON "billing_subscription" ("payment_method_id")',
                    'DROP INDEX IF EXISTS "billing_subscription_payment_method_id_idx"',
                ),
                migrations.RunSQL(
                    *_fk_sql("billing_subscription", "payment_method_id", "billing_paymentmethod", "billing_subscription_payment_method_id_fk")
                ),
            ],
        ),
    ]

from django.db import models


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` of one caller: the request it first came with and the answer given.

    Keys live in a namespace inside the organization: ``api`` for the organization's own token calls,
    and one namespace per public credential (``checkout:<digest of the client secret>`` for a
    checkout confirmed by its buyer), so an anonymous buyer can never use up, or read the answer of,
    a key the merchant chose, nor another buyer's.

    The unique constraint is what turns a second, concurrent request with the same key into a 409
    instead of a second write.
    """

    class Status(models.TextChoices):
        IN_FLIGHT = "in_flight"
        COMPLETED = "completed"

    API_NAMESPACE = "api"

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+")
    namespace = models.CharField(max_length=80, default=API_NAMESPACE)
    key = models.CharField(max_length=255)
    request_method = models.CharField(max_length=10)
    request_path = models.CharField(max_length=2048)
    # sha256 of method, path, query string and body: the same key with another request is refused.
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "namespace", "key"], name="idempotency_key_unique_in_namespace")
        ]

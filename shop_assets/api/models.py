from __future__ import annotations

from django.db import models

from shop_assets.accounts.models import Merchant


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` a merchant sent with a POST, and the answer it got.

    The unique ``(merchant, key)`` row is the lock: of two requests racing with the same
    key, one inserts it and runs; the other waits for ``response_status`` and replays it.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)  # null: running
    response_body = models.BinaryField(blank=True, default=b"")
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="unique_idempotency_key_per_merchant")
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.key}"

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from generation.check import MATTE_THRESHOLD
from shop_assets.accounts.models import Merchant, hex_color_validator

# SKUs become part of storage keys: keep them to a safe alphabet.
_SKU_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
sku_validator = RegexValidator(
    _SKU_RE,
    "Use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
)
_SKU_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def sku_problem(sku: str) -> str | None:
    """What is wrong with ``sku`` in a merchant's words, naming the first character refused;
    None when the SKU is fine (the rule is ``sku_validator``'s)."""
    if re.fullmatch(_SKU_RE, sku):
        return None
    bad = next((c for c in sku if c not in _SKU_CHARS), None)
    if bad is not None:
        shown = "a space" if bad.isspace() else f"“{bad}”"
        return f"SKU may not contain {shown}: use letters A-Z, digits, dots, dashes or underscores."
    if not sku:
        return "Enter a SKU: 1-64 letters A-Z, digits, dots, dashes or underscores."
    if len(sku) > 64:
        return f"SKU has {len(sku)} characters: use at most 64."
    return f"SKU may not start with “{sku[0]}”: start with a letter A-Z or a digit."


class Product(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    sku = models.CharField(max_length=64, validators=[sku_validator])
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    compare_at_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    brand_name = models.CharField(max_length=120, blank=True)
    brand_color = models.CharField(max_length=7, blank=True, validators=[hex_color_validator])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="unique_sku_per_merchant"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"

    @property
    def primary_image(self) -> ProductImage | None:
        return self.images.order_by("-created_at").first()


class ProductImage(models.Model):
    """One uploaded photo: the original bytes and the normalized copy the jobs use."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    original_key = models.CharField(max_length=512)
    original_name = models.CharField(max_length=255, blank=True)
    original_format = models.CharField(max_length=10)
    original_size = models.PositiveBigIntegerField()
    normalized_key = models.CharField(max_length=512)
    thumbnail_key = models.CharField(max_length=512)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    has_alpha = models.BooleanField(default=False)
    orientation_applied = models.BooleanField(default=False)
    checksum = models.CharField(max_length=64)  # sha256 of the original bytes
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.product.sku} image {self.pk}"


class MaskSource(models.TextChoices):
    AUTO = "auto", "Automatic"
    REFINED = "refined", "Fixed in the editor"
    UPLOADED = "uploaded", "Uploaded"
    ACCEPTED = "accepted", "Automatic, accepted"


class PhotoMask(models.Model):
    """One version of a photo's product matte (white = product), stored as a PNG.

    Version 1 is the automatic matte made right after upload, at preview size, with its
    evidence. The merchant accepts it or makes a new version (fixed in the editor or
    uploaded); the newest accepted version is the matte every later job of the photo uses.
    """

    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="masks")
    version = models.PositiveIntegerField()
    source = models.CharField(max_length=10, choices=MaskSource.choices)
    storage_key = models.CharField(max_length=512, blank=True)  # empty: the segmenter refused
    preview_key = models.CharField(max_length=512, blank=True)  # the cutout at preview size, WebP
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    segmenter = models.CharField(max_length=40, blank=True)
    confidence = models.FloatField()
    evidence = models.JSONField(default=dict, blank=True)
    accepted = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["image", "version"], name="unique_mask_version")]

    def __str__(self) -> str:
        return f"mask v{self.version} of image {self.image_id}"

    @property
    def trusted(self) -> bool:
        """Accepted by the merchant, or automatic with evidence at or above the threshold."""
        return self.accepted or (bool(self.storage_key) and self.confidence >= MATTE_THRESHOLD)

    @property
    def problems(self) -> list[str]:
        return list(self.evidence.get("problems") or [])


class AudioTrack(models.Model):
    """A merchant's sound track for clips: checked and decoded at upload, stored under a
    key the server chose (``merchants/<id>/audio/<uuid>.<ext>``)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="audio_tracks")
    name = models.CharField(max_length=255, help_text="the uploaded file's name, for people")
    storage_key = models.CharField(max_length=512)
    format = models.CharField(max_length=10)  # generation.clips.audio.AUDIO_FORMATS
    codec = models.CharField(max_length=32)
    duration = models.FloatField(help_text="seconds")
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration:.0f} s)"

    @property
    def content_type(self) -> str:
        return AUDIO_CONTENT_TYPES.get(self.format, "application/octet-stream")


AUDIO_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}

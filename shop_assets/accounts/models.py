from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.text import slugify

hex_color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #2f5d50.")


class Merchant(models.Model):
    """The tenant. Every product, job and asset belongs to exactly one merchant."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    default_currency = models.CharField(max_length=3, default="USD")
    default_locale = models.CharField(max_length=16, default="en")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:80] or "merchant"
        super().save(*args, **kwargs)


class User(AbstractUser):
    """A person who signs in. Staff users may have no merchant; merchant users have one.

    A merchant's owner adds and removes its other users (the dashboard's Team page); the
    others use the shop the same way but cannot manage people.

    A merchant with users always has an owner, whichever way its users come and go
    (the admin, a command, ``create_user``, the team page): saving or deleting a user makes the
    merchant's first user (the lowest id) its owner when it has none, as the upgrade did
    (migration 0002). An owner who stops being one (``is_owner`` cleared) hands the shop to
    its first other user, if it has one. Ownership is of one shop: an owner moved to a
    shop that has an owner arrives as a colleague, unless the same save made them owner.
    ``QuerySet.update`` and ``bulk_create`` skip ``save`` and so this rule.
    """

    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    is_owner = models.BooleanField(
        default=False,
        help_text="Manages the shop's team: adds and removes colleagues. "
        "A shop's first user is its owner automatically.",
    )

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not {"merchant", "merchant_id", "is_owner"} & set(update_fields):
            super().save(*args, **kwargs)  # a sign-in's last_login, a new password
            return
        with transaction.atomic():
            stored = (
                User.objects.filter(pk=self.pk).values_list("merchant_id", "is_owner").first()
                if self.pk
                else None
            )
            was_in, was_owner = stored or (None, False)
            moved = was_in is not None and was_in != self.merchant_id
            if self.merchant_id is None:
                self.is_owner = False  # owner of no shop
            elif moved and was_owner and self.is_owner:
                if (
                    User.objects.filter(merchant_id=self.merchant_id, is_owner=True)
                    .exclude(pk=self.pk)
                    .exists()
                ):
                    self.is_owner = False
            super().save(*args, **kwargs)
            stepped_down = not moved and was_owner and not self.is_owner
            if self.merchant_id is not None:
                promoted = give_owner(self.merchant_id, rather_not=self.pk if stepped_down else None)
                if promoted == self.pk:
                    self.is_owner = True
            if was_in is not None and moved:
                give_owner(was_in)


def give_owner(merchant_id: int, *, rather_not: int | None = None) -> int | None:
    """Makes the merchant's first user its owner if it has users and no owner; returns
    that user's id, or None when nothing changed. ``rather_not`` (an owner who just stepped
    down) is passed over while the merchant has anyone else."""
    users = User.objects.filter(merchant_id=merchant_id)
    if users.filter(is_owner=True).exists():
        return None
    first = None
    if rather_not is not None:
        first = users.exclude(pk=rather_not).order_by("pk").values_list("pk", flat=True).first()
    if first is None:
        first = users.order_by("pk").values_list("pk", flat=True).first()
    if first is None:
        return None
    User.objects.filter(pk=first).update(is_owner=True)
    return first


@receiver(post_delete, sender=User)
def _owner_left(sender, instance: User, **kwargs) -> None:
    # also for QuerySet.delete, which sends this signal for each row; when the merchant
    # itself is being deleted its users are already gone and nothing happens
    if instance.merchant_id is not None and instance.is_owner:
        give_owner(instance.merchant_id)


class Invitation(models.Model):
    """A one-time link that lets a colleague create their own sign-in for a merchant.

    Only a SHA-256 of the token is stored; the link is shown once, to the owner who made it.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="invitations")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation to {self.merchant} ({self.created_at:%Y-%m-%d})"

    @staticmethod
    def hash(token: str) -> str:
        import hashlib

        return hashlib.sha256(token.encode()).hexdigest()


class ApiKey(models.Model):
    """A merchant's key for the REST API. Only a SHA-256 of the secret is stored."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)  # shown in lists; first part of the key
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.merchant} {self.name} ({self.prefix}…)"

    @staticmethod
    def hash(secret: str) -> str:
        import hashlib

        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(cls, merchant: Merchant, name: str) -> tuple[ApiKey, str]:
        """Create a key; the secret is returned once and never stored."""
        import secrets

        prefix = "sa_" + secrets.token_hex(4)
        secret = f"{prefix}.{secrets.token_urlsafe(32)}"
        return cls.objects.create(
            merchant=merchant, name=name, prefix=prefix, key_hash=cls.hash(secret)
        ), secret


class BrandKit(models.Model):
    """A merchant's brand: applied to every poster and clip unless a job overrides it."""

    FONT_CHOICES = [
        ("inter", "Inter"),
        ("montserrat", "Montserrat"),
        ("playfair", "Playfair Display"),
        ("noto_sans", "Noto Sans"),
    ]
    LOCALE_CHOICES = [
        ("", "Automatic (from each poster's words and currency)"),
        ("en_US", "English (US)"),
        ("en_GB", "English (UK)"),
        ("zh_CN", "中文（简体）"),
        ("zh_TW", "中文（繁體）"),
        ("de_DE", "Deutsch"),
        ("fr_FR", "Français"),
        ("ja_JP", "日本語"),
    ]

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="brand_kit")
    logo_key = models.CharField(max_length=512, blank=True)
    primary_color = models.CharField(max_length=7, default="#2f5d50", validators=[hex_color_validator])
    secondary_color = models.CharField(max_length=7, default="#f4efe6", validators=[hex_color_validator])
    text_color = models.CharField(max_length=7, default="#1d1f24", validators=[hex_color_validator])
    heading_font = models.CharField(max_length=20, choices=FONT_CHOICES, default="montserrat")
    body_font = models.CharField(max_length=20, choices=FONT_CHOICES, default="inter")
    default_cta = models.CharField(max_length=40, default="Shop now")
    # "": no language of the brand's own; posters take theirs from their words and currency
    default_locale = models.CharField(max_length=10, choices=LOCALE_CHOICES, default="", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Brand kit of {self.merchant}"

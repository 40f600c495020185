from django.db import migrations, models


def first_user_owns_each_ownerless_merchant(apps, schema_editor):
    """A merchant whose first user was made in the admin without the Owner box (before the
    rule was the model's) has nobody who manages its team: its first user becomes its owner."""
    User = apps.get_model("accounts", "User")
    owned = set(User.objects.filter(is_owner=True).values_list("merchant_id", flat=True))
    owners = {}
    for user_id, merchant_id in User.objects.filter(merchant__isnull=False).order_by("pk").values_list(
        "pk", "merchant_id"
    ):
        if merchant_id not in owned:
            owners.setdefault(merchant_id, user_id)
    User.objects.filter(pk__in=owners.values()).update(is_owner=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_brand_kit_automatic_locale"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="is_owner",
            field=models.BooleanField(
                default=False,
                help_text="Manages the shop's team: adds and removes colleagues. "
                "A shop's first user is its owner automatically.",
            ),
        ),
        migrations.RunPython(first_user_owns_each_ownerless_merchant, migrations.RunPython.noop),
    ]

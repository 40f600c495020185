"""``manage.py import_products``: preview printed, dry run changes nothing, a real run starts the batch."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from shop_assets.bulk import campaigns
from shop_assets.bulk.models import Batch, BatchStatus
from tests.bulk_files import shopify_export, simple_csv, zip_bytes


@pytest.mark.django_db
def test_dry_run_prints_the_preview_and_keeps_nothing(tmp_path, merchant):
    source = tmp_path / "products_export.csv"
    source.write_bytes(shopify_export())
    out = io.StringIO()

    call_command("import_products", str(source), "--merchant", merchant.slug, "--dry-run", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[:2] == [
        "products_export.csv: Shopify product CSV (utf-8-sig), 7 rows",
        "  create 5, update 0, unchanged 0, refused 2",
    ]
    assert lines[2].startswith(
        "  columns not used: Product Category, Type, Tags, Published, Option1 Linked To"
    )
    assert "  line 14: variant of 'gift-card' has no SKU" in out.getvalue()
    assert out.getvalue().rstrip().endswith("Dry run: nothing was imported.")
    assert list(Batch.objects.values_list("status", flat=True)) == [BatchStatus.DISCARDED]
    assert merchant.products.count() == 0


@pytest.mark.django_db
def test_a_real_run_confirms_the_batch_with_its_images(
    tmp_path, merchant, django_capture_on_commit_callbacks
):
    source = tmp_path / "p.csv"
    source.write_bytes(simple_csv([{"sku": "A-1", "title": "A", "image": "a.jpg"}]))
    images = tmp_path / "photos.zip"
    images.write_bytes(zip_bytes({"a.jpg": b"not yet decoded"}))
    out = io.StringIO()

    with django_capture_on_commit_callbacks() as sent:
        call_command(
            "import_products", str(source), "--merchant", merchant.slug, "--images", str(images), stdout=out
        )

    batch = Batch.objects.get()
    assert (batch.status, batch.channel, batch.images_name) == (
        BatchStatus.IMPORTING,
        "command",
        "photos.zip",
    )
    assert f"Batch {batch.pk} confirmed" in out.getvalue() and len(sent) == 1


@pytest.mark.django_db
def test_bad_arguments_and_refused_files_are_command_errors(tmp_path, merchant):
    source = tmp_path / "p.csv"
    source.write_bytes(b"name\nx\n")
    with pytest.raises(CommandError, match="No merchant with the slug 'nobody'"):
        call_command("import_products", str(source), "--merchant", "nobody")
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_products", str(tmp_path / "missing.csv"), "--merchant", merchant.slug)
    with pytest.raises(CommandError, match="Line 1: The header \\(name\\) is not one we know"):
        call_command("import_products", str(source), "--merchant", merchant.slug)
    assert Batch.objects.count() == 0


@pytest.mark.django_db
def test_a_campaign_by_name_is_frozen_into_the_batch(
    tmp_path, merchant, other_merchant, django_capture_on_commit_callbacks
):
    source = tmp_path / "p.csv"
    source.write_bytes(simple_csv([{"sku": "A-1", "title": "A"}]))
    mine = campaigns.save_campaign(merchant, name="Summer", outputs=["packshot"], parameters={})
    campaigns.save_campaign(other_merchant, name="Theirs", outputs=["cutout"], parameters={})

    out = io.StringIO()
    with django_capture_on_commit_callbacks():
        call_command(
            "import_products", str(source), "--merchant", merchant.slug, "--campaign", "Summer", stdout=out
        )
    batch = Batch.objects.get()
    assert (batch.campaign, batch.request) == (mine, {"outputs": ["packshot"]})
    assert "one job per product with the campaign 'Summer'" in out.getvalue()

    with pytest.raises(CommandError, match=r"has no campaign 'Theirs' \(its campaigns: 'Summer'\)"):
        call_command("import_products", str(source), "--merchant", merchant.slug, "--campaign", "Theirs")
    assert Batch.objects.count() == 1

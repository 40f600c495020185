"""``python manage.py import_products FILE --merchant SLUG [--images ZIP] [--campaign NAME] [--dry-run]``"""

from __future__ import annotations

import contextlib
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from shop_assets.accounts.models import Merchant
from shop_assets.bulk import fanout, imports
from shop_assets.bulk.models import Batch, Campaign, RowState
from shop_assets.bulk.parsers import FORMAT_LABELS

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Import a catalogue (Shopify or WooCommerce product export, or a simple CSV) for a merchant. "
        "Prints the preview; without --dry-run the import is then started on the workers."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the catalogue CSV")
        parser.add_argument("--merchant", required=True, help="the merchant's slug")
        parser.add_argument("--images", type=Path, help="a ZIP of the photos the rows name")
        parser.add_argument(
            "--campaign", help="a saved campaign's name (or id): one job per product with its look"
        )
        parser.add_argument("--dry-run", action="store_true", help="preview only: change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        merchant = Merchant.objects.filter(slug=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"No merchant with the slug {options['merchant']!r}.")
        campaign = self._campaign(merchant, options["campaign"]) if options["campaign"] else None
        source: Path = options["file"]
        images: Path | None = options["images"]
        for path in (source, images):
            if path is not None and not path.is_file():
                raise CommandError(f"{path} is not a file.")
        with source.open("rb") as src, images.open("rb") if images else contextlib.nullcontext() as zipped:
            try:
                batch = imports.preview_batch(
                    merchant,
                    src,
                    source.name,
                    zipped,
                    images.name if images else "",
                    channel="command",
                )
            except imports.BatchRefused as exc:
                raise CommandError(str(exc)) from None
        self._report(batch)
        if options["dry_run"]:
            with transaction.atomic():
                imports.discard_batch(batch)
            self.stdout.write("Dry run: nothing was imported.")
            return
        try:
            with transaction.atomic():
                fanout.confirm_batch(batch, campaign)
        except fanout.NotConfirmable as exc:
            raise CommandError(str(exc)) from None
        look = f" and make one job per product with the campaign {campaign.name!r}" if campaign else ""
        self.stdout.write(self.style.SUCCESS(f"Batch {batch.pk} confirmed: the workers import it now{look}."))

    @staticmethod
    def _campaign(merchant: Merchant, name: str) -> Campaign:
        campaigns = Campaign.objects.filter(merchant=merchant)
        found = campaigns.filter(name=name).first()
        if found is None and name.isdigit():
            found = campaigns.filter(pk=int(name)).first()
        if found is None:
            known = ", ".join(repr(n) for n in campaigns.values_list("name", flat=True)[:20]) or "none yet"
            raise CommandError(f"{merchant.slug} has no campaign {name!r} (its campaigns: {known}).")
        return found

    def _report(self, batch: Batch) -> None:
        out = self.stdout.write
        out(
            f"{batch.source_name}: {FORMAT_LABELS.get(batch.format, batch.format)} ({batch.encoding}), {batch.total_rows} rows"
        )
        out(
            f"  create {batch.create_count}, update {batch.update_count}, unchanged {batch.unchanged_count}, "
            f"refused {batch.error_rows}"
        )
        if batch.ignored_columns:
            out(f"  columns not used: {', '.join(batch.ignored_columns[:12])}")
        for row in batch.rows.filter(state=RowState.INVALID).order_by("line")[:SHOWN_ERRORS]:
            out(f"  line {row.line}{' ' + row.sku if row.sku else ''}: {row.error}")
        if batch.error_rows > SHOWN_ERRORS:
            out(f"  ... and {batch.error_rows - SHOWN_ERRORS} more refused rows")

from django.core.management.base import BaseCommand, CommandError

from shop_assets.accounts.models import ApiKey, Merchant


class Command(BaseCommand):
    help = "Issue a REST API key for a merchant (by slug). The secret is printed once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant_slug")
        parser.add_argument("--name", default="default")

    def handle(self, *args, merchant_slug: str, name: str, **options) -> None:
        merchant = Merchant.objects.filter(slug=merchant_slug).first()
        if merchant is None:
            raise CommandError(f"no merchant with slug {merchant_slug!r}")
        _, secret = ApiKey.issue(merchant, name)
        self.stdout.write(secret)

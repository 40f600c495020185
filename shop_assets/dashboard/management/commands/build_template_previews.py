from django.core.management.base import BaseCommand

from shop_assets.dashboard.previews import build_template_previews


class Command(BaseCommand):
    help = "Draw a small preview of every poster template for the new-job form (offline)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="redraw even if up to date")

    def handle(self, *args, force: bool = False, **options) -> None:
        files = build_template_previews(force=force)
        self.stdout.write(f"{len(files)} template previews in {files[0].parent}" if files else "no templates")

from django.core.management.base import BaseCommand

from shop_assets.dashboard.webfonts import build_webfonts


class Command(BaseCommand):
    help = "Cut the dashboard's CJK web font (WOFF2 slices and cjk.css) from Noto Sans CJK; offline."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="rebuild even if it is up to date")

    def handle(self, *args, force: bool = False, **options) -> None:
        css = build_webfonts(force=force)
        slices = len(list(css.parent.glob("cjk-*.woff2")))
        size = sum(p.stat().st_size for p in css.parent.glob("cjk-*.woff2"))
        self.stdout.write(f"{css.parent}: {slices} WOFF2 slices, {size / 1048576:.1f} MB, {css.name}")

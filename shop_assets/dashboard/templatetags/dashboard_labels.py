"""Template filters that turn internal ids into the names a merchant reads."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil

from shop_assets.dashboard import labels, previews
from shop_assets.dates import human_moment

register = template.Library()

register.filter("segmenter_label", labels.segmenter_label)
register.filter("engine_label", labels.engine_label)
register.filter("matte_label", labels.matte_label)
register.filter("theme_label", labels.theme_label)
register.filter("template_label", labels.template_label)
register.filter("output_label", labels.output_label)
register.filter("asset_title", labels.asset_title)
register.filter("fidelity", labels.fidelity)
# plain text, for a title attribute: "3 Dec 2026, 12:05 UTC"
register.filter("moment", human_moment)


@register.filter
def output_labels(kinds) -> str:
    """``["scene", "packshot"]`` -> ``Marketplace packshot, Scene``: in the order of the job
    page's sections (cutout, packshot, scenes, posters, clips), whatever order they were asked in."""
    return ", ".join(labels.output_label(k) for k in labels.in_output_order(kinds or []))


def _time(moment, text: str) -> SafeString:
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        human_moment(moment, seconds=True),
        text,
    )


@register.filter
def when(moment) -> str:
    """``3 Dec 2026, 12:05 UTC`` in a ``<time>`` whose title gives the second: how the
    dashboard writes a moment (was ``2026-12-03 12:05`` on the webhook and API-key pages)."""
    if moment is None:
        return ""
    return _time(moment, human_moment(moment))


@register.filter
def ago(moment) -> str:
    """``5 minutes ago`` (``in 5 minutes`` ahead), in a ``<time>`` whose title is the moment
    as ``when`` writes it; within a minute ``just now`` (it read "0 minutes ago")."""
    if moment is None:
        return ""
    now = timezone.now()
    if abs(now - moment) < timedelta(minutes=1):
        text = "just now"
    elif moment > now:
        text = f"in {timeuntil(moment, now)}"
    else:
        text = f"{timesince(moment, now)} ago"
    return _time(moment, text)


@register.filter
def unbroken_dots(text) -> str:
    """``a · b`` -> ``a\u00a0·\u00a0b``: a line may break inside a part, never at a "·",
    so no "·" starts or ends a line."""
    return str(text).replace(" · ", "\u00a0·\u00a0")


@register.filter
def template_preview(name: str) -> str:
    """The URL of a poster template's preview picture, or "" when none was built."""
    path = previews.preview_path(str(name))
    return static(path) if path else ""


@register.filter
def template_description(name: str) -> str:
    return labels.template_description(str(name))


@register.simple_tag(takes_context=True)
def price(context, amount, currency: str) -> str:
    """``{% price product.price product.currency %}`` -> "$34.00": in the signed-in merchant's
    locale (looked up once per request)."""
    request = context.get("request")
    locale = getattr(request, "_price_locale", None)
    if locale is None:
        user = getattr(request, "user", None)
        merchant = getattr(user, "merchant", None)
        locale = labels.price_locale(merchant) if merchant is not None else "en_US"
        if request is not None:
            request._price_locale = locale
    return labels.price_label(amount, currency, locale)

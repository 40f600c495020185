"""Template filters that turn internal ids into the names a merchant reads."""

from __future__ import annotations

from django import template
from django.templatetags.static import static

from shop_assets.dashboard import labels, previews

register = template.Library()

register.filter("segmenter_label", labels.segmenter_label)
register.filter("engine_label", labels.engine_label)
register.filter("matte_label", labels.matte_label)
register.filter("theme_label", labels.theme_label)
register.filter("template_label", labels.template_label)
register.filter("output_label", labels.output_label)
register.filter("asset_title", labels.asset_title)
register.filter("fidelity", labels.fidelity)


@register.filter
def output_labels(kinds) -> str:
    """``["packshot", "scene"]`` -> ``Marketplace packshot, Scene``."""
    return ", ".join(labels.output_label(k) for k in kinds or [])


@register.filter
def template_preview(name: str) -> str:
    """The URL of a poster template's preview picture, or "" when none was built."""
    path = previews.preview_path(str(name))
    return static(path) if path else ""


@register.filter
def template_description(name: str) -> str:
    return labels.template_description(str(name))

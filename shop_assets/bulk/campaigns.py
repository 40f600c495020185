"""Campaigns: a saved look (a job request and a headline rule) applied to any product.

A campaign's ``request`` is a ``generation.request.JobRequest`` as JSON with only what the
merchant chose; it is checked by the same model and the same install checks as any job
when it is saved, and again (with the product's words and the brand kit filled in by
``jobs.requests``) each time it makes a job.

The headline rule is text with placeholders filled from the product: ``{title}``,
``{price}``, ``{compare_at_price}``, ``{discount}``, ``{sku}``, ``{vendor}``,
``{currency}``; ``{{`` and ``}}`` are literal braces. Any other placeholder, a format
spec or a conversion is refused when the campaign is saved. The rule writes the poster's
headline and the clip's, unless the request gives poster headlines of its own; a batch
row's own ``headline`` column wins over the rule.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from generation.errors import InvalidSpec
from generation.posters.spec import MAX_HEADLINE
from generation.request import InvalidRequest, JobRequest, budget_from, parse_request
from generation.typography.money import discount_percent, format_price
from shop_assets.accounts.models import Merchant
from shop_assets.bulk.models import Campaign
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob

PLACEHOLDERS = {
    "title": "the product's title",
    "price": "the price with its currency ($19.90)",
    "compare_at_price": "the compare-at price with its currency",
    "discount": "the saving in percent (20%), empty without a compare-at price",
    "sku": "the SKU",
    "vendor": "the brand name",
    "currency": "the currency code (USD)",
}
MAX_NAME = 120
MAX_RULE = 200
MAX_CLIP_HEADLINE = 80  # generation.request.ClipOptions.headline
_SPACES = re.compile(r"\s+")


class DuplicateName(Exception):
    pass


# --- the headline rule --------------------------------------------------------------------------


def check_headline_rule(rule: Any) -> str:
    """The rule as it is stored; ``InvalidRequest`` on field ``headline`` naming the problem."""
    if not isinstance(rule, str):
        raise InvalidRequest("the headline rule is text, such as '{title} - {discount} off'", "headline")
    if len(rule) > MAX_RULE:
        raise InvalidRequest(f"the headline rule is at most {MAX_RULE} characters", "headline")
    for _literal, name, spec, conversion in _parse(rule):
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + key + "}" for key in PLACEHOLDERS)
            shown = "{" + name[:40] + "}" if name else "{}"
            raise InvalidRequest(f"unknown placeholder {shown}; use {known}", "headline")
        if spec or conversion:
            raise InvalidRequest(
                f"placeholder {{{name}}} takes no format; write it as {{{name}}}", "headline"
            )
    return rule


def _parse(rule: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(string.Formatter().parse(rule))
    except ValueError as exc:  # a lone brace
        raise InvalidRequest(
            f"the headline rule has an unmatched brace ({exc}); write {{{{ or }}}} for a literal one",
            "headline",
        ) from None


def product_words(product: Product, locale: str = "en_US") -> dict[str, str]:
    """What each placeholder stands for with ``product``."""
    currency = product.currency or "USD"

    def money(amount: Any) -> str:
        if amount is None:
            return ""
        try:
            return format_price(amount, currency, locale)
        except InvalidSpec:
            return f"{amount} {currency}"

    discount = (
        discount_percent(product.price, product.compare_at_price) if product.price is not None else None
    )
    return {
        "title": product.title,
        "price": money(product.price),
        "compare_at_price": money(product.compare_at_price),
        "discount": f"{discount}%" if discount else "",
        "sku": product.sku,
        "vendor": product.brand_name,
        "currency": currency,
    }


def render_headline(rule: str, product: Product, locale: str = "en_US") -> str:
    """The rule filled from ``product``; blanks left by empty placeholders are closed up,
    and a rule that comes out empty gives the product's title."""
    words = product_words(product, locale)
    text = "".join(
        literal + (words.get(name, "") if name is not None else "") for literal, name, _s, _c in _parse(rule)
    )
    text = _SPACES.sub(" ", text).strip()
    return (text or product.title)[:MAX_HEADLINE]


# --- the request ------------------------------------------------------------------------------


def check_request(outputs: Any, parameters: Any) -> dict[str, Any]:
    """The campaign's request as stored: what the merchant chose, checked as a job request
    would be (this install's models, the per-job budget). ``InvalidRequest`` names the field."""
    if not isinstance(parameters, Mapping):
        raise InvalidRequest("the parameters are a JSON object", "parameters")
    data = {**parameters, "outputs": outputs}
    parse_request(
        data, capabilities=job_requests.capabilities(), budget=budget_from(job_requests.generation_config())
    )
    # only the choices made: the product's words and the brand kit fill the rest per job
    return JobRequest.model_validate(data).model_dump(mode="json", exclude_unset=True)


def job_parameters(
    request: Mapping[str, Any], headline_rule: str, product: Product, headline: str = ""
) -> tuple[list[Any], dict[str, Any]]:
    """(outputs, parameters) of ``product``'s job from a campaign's stored request.

    ``headline`` (a batch row's own) wins over the rule.
    """
    parameters = {k: v for k, v in request.items() if k != "outputs"}
    outputs = list(request.get("outputs", []))
    locale = (parameters.get("brand") or {}).get("locale") or "en_US"
    text = headline.strip()[:MAX_HEADLINE] or render_headline(headline_rule, product, locale)
    if "poster" in outputs:
        poster = dict(parameters.get("poster") or {})
        if not poster.get("headlines"):
            poster["headline"] = text
        parameters["poster"] = poster
    if "clip" in outputs:
        clip = dict(parameters.get("clip") or {})
        clip.setdefault("headline", text[:MAX_CLIP_HEADLINE])
        parameters["clip"] = clip
    return outputs, parameters


def create_job(
    campaign_request: Mapping[str, Any],
    headline_rule: str,
    product: Product,
    image: ProductImage,
    headline: str = "",
) -> GenerationJob:
    """A normal job for ``product`` made from a campaign's request (checked, saved, sent on
    commit). The caller holds the job quota. Raises ``InvalidRequest``."""
    outputs, parameters = job_parameters(campaign_request, headline_rule, product, headline)
    return job_requests.create_job(product, image, outputs, parameters)


# --- saving ---------------------------------------------------------------------------------


def save_campaign(
    merchant: Merchant,
    *,
    name: Any,
    outputs: Any,
    parameters: Any,
    headline: Any = "{title}",
    campaign: Campaign | None = None,
) -> Campaign:
    """Create (or, given ``campaign``, replace) a campaign after checking everything.

    Raises ``InvalidRequest`` naming the field (``name``, ``outputs``, ``poster.sizes[0]``,
    ``headline``) or ``DuplicateName``; nothing is saved then.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("a campaign needs a name", "name")
    if len(name.strip()) > MAX_NAME:
        raise InvalidRequest(f"a campaign's name is at most {MAX_NAME} characters", "name")
    request = check_request(outputs, parameters)
    rule = check_headline_rule(headline)
    target = campaign or Campaign(merchant=merchant)
    target.name, target.request, target.headline = name.strip(), request, rule
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise DuplicateName(f"A campaign named {name.strip()!r} already exists.") from None
    return target

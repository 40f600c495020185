"""Campaigns: the headline rule, saving (checked as a job request), and the
``/api/v1/campaigns`` endpoints with their tenancy."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generation.request import InvalidRequest
from shop_assets.accounts.models import ApiKey
from shop_assets.bulk import campaigns
from shop_assets.bulk.models import Campaign
from shop_assets.catalog.models import Product
from shop_assets.jobs.models import GenerationJob

POSTER_CAMPAIGN = {
    "name": "Summer sale",
    "outputs": ["packshot", "poster"],
    "parameters": {"packshot": {"size": 1600}, "poster": {"templates": ["hero_left"], "sizes": ["square"]}},
    "headline": "{title} - {discount} off",
}


@pytest.fixture
def api_key(merchant) -> str:
    return ApiKey.issue(merchant, "campaign tests")[1]


@pytest.fixture
def other_key(other_merchant) -> str:
    return ApiKey.issue(other_merchant, "rival")[1]


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def post(client, key: str, path: str, body: dict):
    return client.post(path, body, content_type="application/json", **auth(key))


def sale_product(merchant, **fields) -> Product:
    values = {"sku": "TEE-1", "title": "Linen Tee", "price": Decimal("16.00"), "currency": "USD"}
    values.update(fields)
    return Product.objects.create(merchant=merchant, **values)


# --- the headline rule ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_headline_rule_fills_every_placeholder(merchant):
    product = sale_product(merchant, compare_at_price=Decimal("20.00"), brand_name="Acme")

    text = campaigns.render_headline(
        "{vendor}: {title} {price} (was {compare_at_price}, {discount} off) {sku} {currency} {{x}}", product
    )

    assert text == "Acme: Linen Tee $16 (was $20, 20% off) TEE-1 USD {x}"


@pytest.mark.django_db
def test_headline_rule_closes_up_blanks_and_falls_back_to_the_title(merchant):
    product = sale_product(merchant, price=None)

    assert campaigns.render_headline("{title}  {discount}  now", product) == "Linen Tee now"
    assert campaigns.render_headline("{discount}", product) == "Linen Tee"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{name} on sale", "unknown placeholder {name}; use {title}"),
        ("{title.__class__}", "unknown placeholder {title.__class__}"),
        ("{}", "unknown placeholder {}"),
        ("{price:>10}", "placeholder {price} takes no format"),
        ("{title!r}", "placeholder {title} takes no format"),
        ("Sale {title", "unmatched brace"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_headline_rule_refuses_what_it_cannot_fill(rule, message):
    with pytest.raises(InvalidRequest) as refused:
        campaigns.check_headline_rule(rule)
    assert refused.value.field == "headline"
    assert message in refused.value.detail


@pytest.mark.django_db
def test_job_parameters_put_the_headline_on_posters_and_clips(merchant):
    product = sale_product(merchant, compare_at_price=Decimal("20.00"))
    request = {"outputs": ["poster", "clip"], "poster": {"sizes": ["square"]}}

    outputs, parameters = campaigns.job_parameters(request, "{discount} off {title}", product)
    assert outputs == ["poster", "clip"]
    assert parameters["poster"] == {"sizes": ["square"], "headline": "20% off Linen Tee"}
    assert parameters["clip"] == {"headline": "20% off Linen Tee"}

    # a row's own headline wins; a request with its own headlines keeps them
    _, own = campaigns.job_parameters(
        {"outputs": ["poster"], "poster": {"headlines": ["A", "B"]}}, "{title}", product, "Row words"
    )
    assert own["poster"] == {"headlines": ["A", "B"]}
    _, row = campaigns.job_parameters(request, "{title}", product, "Row words")
    assert row["poster"]["headline"] == "Row words" and row["clip"]["headline"] == "Row words"
    # the stored request is not changed
    assert request == {"outputs": ["poster", "clip"], "poster": {"sizes": ["square"]}}


# --- the API ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_get_list_update_delete(client, api_key, merchant):
    created = post(client, api_key, "/api/v1/campaigns", POSTER_CAMPAIGN)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["outputs"], body["headline"]) == (
        "Summer sale",
        ["packshot", "poster"],
        "{title} - {discount} off",
    )
    # only what was chosen is kept; the brand kit and the product fill the rest per job
    assert body["parameters"] == POSTER_CAMPAIGN["parameters"]
    campaign = Campaign.objects.get(pk=body["id"])
    assert campaign.merchant == merchant
    assert campaign.request == {"outputs": ["packshot", "poster"], **POSTER_CAMPAIGN["parameters"]}

    assert client.get(f"/api/v1/campaigns/{campaign.pk}", **auth(api_key)).json() == body
    listed = client.get("/api/v1/campaigns", **auth(api_key)).json()
    assert [c["id"] for c in listed["items"]] == [campaign.pk]

    patched = client.patch(
        f"/api/v1/campaigns/{campaign.pk}",
        {
            "headline": "{title} {price}",
            "outputs": ["poster"],
            "parameters": {"poster": {"sizes": ["story"]}},
        },
        content_type="application/json",
        **auth(api_key),
    )
    assert patched.status_code == 200, patched.json()
    campaign.refresh_from_db()
    assert (campaign.name, campaign.headline) == ("Summer sale", "{title} {price}")
    assert campaign.request == {"outputs": ["poster"], "poster": {"sizes": ["story"]}}

    renamed = client.patch(
        f"/api/v1/campaigns/{campaign.pk}",
        {"name": "Autumn"},
        content_type="application/json",
        **auth(api_key),
    )
    assert renamed.json()["name"] == "Autumn" and renamed.json()["outputs"] == ["poster"]

    assert client.delete(f"/api/v1/campaigns/{campaign.pk}", **auth(api_key)).status_code == 204
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        (
            {"parameters": {"packshot": {"size": 1600}, "poster": {"sizes": ["huge"]}}},
            "parameters.poster.sizes[0]",
            "unknown poster size 'huge'",
        ),
        (
            {"parameters": {"poster": {"templates": ["nope"]}}},
            "parameters.poster.templates[0]",
            "'nope' is not one of",
        ),
        ({"parameters": {"poster": {"seed": "1"}}}, "parameters.poster.seed", "valid integer"),
        ({"parameters": {"scene": {}}}, "parameters.scene", "scene is not among the outputs"),
        ({"outputs": ["hologram"]}, "outputs[0]", "'hologram' is not one of"),
        ({"parameters": {"poster": {"font": "x"}}}, "parameters.poster.font", "unknown option"),
        ({"headline": "{title} {colour}"}, "headline", "unknown placeholder {colour}"),
        ({"name": "  "}, "name", "a campaign needs a name"),
    ],
)
@pytest.mark.django_db
def test_a_bad_campaign_is_400_naming_the_field_and_nothing_is_saved(client, api_key, body, field, detail):
    response = post(client, api_key, "/api/v1/campaigns", {**POSTER_CAMPAIGN, **body})

    assert response.status_code == 400, response.json()
    error = response.json()
    assert (error["code"], error["field"]) == ("invalid_request", field)
    assert detail in error["detail"]
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_a_bad_update_changes_nothing(client, api_key, merchant):
    campaign_id = post(client, api_key, "/api/v1/campaigns", POSTER_CAMPAIGN).json()["id"]

    response = client.patch(
        f"/api/v1/campaigns/{campaign_id}",
        {"parameters": {"poster": {"sizes": ["0x0"]}}},
        content_type="application/json",
        **auth(api_key),
    )

    assert response.status_code == 400
    assert response.json()["field"] == "parameters.poster.sizes[0]"
    campaign = Campaign.objects.get(pk=campaign_id)
    assert campaign.request == {"outputs": ["packshot", "poster"], **POSTER_CAMPAIGN["parameters"]}


@pytest.mark.django_db
def test_names_are_unique_per_merchant(client, api_key, other_key):
    assert post(client, api_key, "/api/v1/campaigns", POSTER_CAMPAIGN).status_code == 201

    again = post(client, api_key, "/api/v1/campaigns", POSTER_CAMPAIGN)
    assert again.status_code == 409
    assert again.json() == {
        "code": "duplicate_name",
        "detail": "A campaign named 'Summer sale' already exists.",
        "field": "name",
    }
    assert post(client, other_key, "/api/v1/campaigns", POSTER_CAMPAIGN).status_code == 201


@pytest.mark.django_db
def test_another_merchants_campaign_answers_404(client, api_key, other_key, product_image):
    theirs = post(client, other_key, "/api/v1/campaigns", POSTER_CAMPAIGN).json()["id"]
    path = f"/api/v1/campaigns/{theirs}"

    assert client.get(path, **auth(api_key)).status_code == 404
    patch = client.patch(path, {"name": "Mine"}, content_type="application/json", **auth(api_key))
    assert patch.status_code == 404
    assert client.delete(path, **auth(api_key)).status_code == 404
    applied = post(client, api_key, f"{path}/jobs", {"product_id": product_image.product_id})
    assert applied.status_code == 404
    assert client.get("/api/v1/campaigns", **auth(api_key)).json()["items"] == []
    assert Campaign.objects.get(pk=theirs).name == "Summer sale"
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_applying_a_campaign_makes_a_normal_job(
    client, api_key, product_image, django_capture_on_commit_callbacks
):
    product = product_image.product
    Product.objects.filter(pk=product.pk).update(price=Decimal("8.00"), compare_at_price=Decimal("10.00"))
    campaign_id = post(client, api_key, "/api/v1/campaigns", POSTER_CAMPAIGN).json()["id"]

    with django_capture_on_commit_callbacks() as sent:
        response = post(client, api_key, f"/api/v1/campaigns/{campaign_id}/jobs", {"product_id": product.pk})

    assert response.status_code == 202, response.json()
    job = GenerationJob.objects.get()
    answer = response.json()
    assert answer.pop("url") == f"/api/v1/jobs/{job.pk}"
    assert answer == client.get(f"/api/v1/jobs/{job.pk}", **auth(api_key)).json()  # the job as /jobs has it
    assert (job.product_id, job.image_id, job.outputs) == (
        product.pk,
        product_image.pk,
        ["packshot", "poster"],
    )
    assert job.parameters["packshot"]["size"] == 1600
    poster = job.parameters["poster"]
    assert (poster["headline"], poster["sizes"], poster["price"], poster["compare_at_price"]) == (
        "Hand wash - 20% off",
        ["square"],
        "8.00",
        "10.00",
    )
    assert len(sent) == 1  # the job's task, after the commit


@pytest.mark.django_db
def test_applying_another_merchants_product_or_no_photo_creates_nothing(
    client, api_key, other_product_image, product
):
    campaign_id = post(client, api_key, "/api/v1/campaigns", POSTER_CAMPAIGN).json()["id"]
    path = f"/api/v1/campaigns/{campaign_id}/jobs"

    assert post(client, api_key, path, {"product_id": other_product_image.product_id}).status_code == 404
    no_photo = post(client, api_key, path, {"product_id": product.pk})
    assert no_photo.status_code == 400 and no_photo.json()["code"] == "no_image"
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_applying_respects_the_job_quota(client, api_key, product_image, settings):
    settings.MAX_QUEUED_JOBS = 1
    campaign_id = post(client, api_key, "/api/v1/campaigns", POSTER_CAMPAIGN).json()["id"]
    path = f"/api/v1/campaigns/{campaign_id}/jobs"

    assert post(client, api_key, path, {"product_id": product_image.product_id}).status_code == 202
    second = post(client, api_key, path, {"product_id": product_image.product_id})

    assert second.status_code == 429 and second.json()["code"] == "too_many_jobs"
    assert GenerationJob.objects.count() == 1


def test_saving_checks_the_request_without_the_api(merchant):
    with pytest.raises(InvalidRequest) as refused:
        campaigns.save_campaign(merchant, name="x", outputs=["poster"], parameters={"poster": {"cta": 5}})
    assert refused.value.field == "poster.cta"
    assert not Campaign.objects.exists()

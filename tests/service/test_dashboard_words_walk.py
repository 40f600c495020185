"""What a merchant walking the dashboard read wrong: a job started a moment ago "0 minutes
ago", a job's outputs in alphabetical order ("Clip, Cutout, Marketplace packshot, Poster,
Scene") unlike its page's sections, a campaign's outputs as ids ("packshot, poster") and
English plurals for one ("1 rows", "Import 1 products", "Retry 1 failed rows")."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shop_assets.accounts.models import ApiKey
from shop_assets.bulk import fanout, imports
from shop_assets.bulk.models import Batch, BatchRow, Campaign, RowState
from shop_assets.jobs.models import GenerationJob, JobStatus
from tests.bulk_files import simple_csv

pytestmark = pytest.mark.django_db


def _job(product_image, outputs, **extra) -> GenerationJob:
    return GenerationJob.objects.create(
        merchant_id=product_image.product.merchant_id,
        product=product_image.product,
        image=product_image,
        outputs=outputs,
        status=JobStatus.SUCCEEDED,
        progress=100,
        **extra,
    )


def test_a_job_started_a_moment_ago_reads_just_now(signed_in, merchant, product_image):
    # given: a job started now and one five minutes ago, and an API key used now
    _job(product_image, ["packshot"])
    older = _job(product_image, ["cutout"])
    GenerationJob.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    key, _ = ApiKey.issue(merchant, "storefront")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())

    # when: the product's page and the API keys page are opened
    product = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()
    keys = signed_in.get(reverse("accounts:api_keys")).content.decode()

    # then: "just now" for the fresh ones, minutes for the older, never "0 minutes"
    assert re.search(r'<td class="muted"><time [^>]+>just now</time></td>', product)
    assert re.search(r'<td class="muted"><time [^>]+>5\xa0minutes ago</time></td>', product)
    assert re.search(r'<td data-label="Last used"><time [^>]+>just now</time></td>', keys)
    assert "0\xa0minutes" not in product + keys


def test_a_jobs_outputs_are_named_in_the_order_of_its_sections(signed_in, product_image):
    # given: a job asked for its outputs in another order (as the API may)
    job = _job(product_image, ["clip", "scene", "poster", "packshot", "cutout"])

    # when: its page and its product's page are opened
    page = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()
    product = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()

    # then: cutout, packshot, scenes, posters, clips, as the job page's sections come
    named = "Cutout, Marketplace packshot, Scene, Poster, Clip"
    assert named in page and named in product
    assert "Clip, Cutout" not in page + product


def test_a_campaigns_outputs_are_named_not_given_as_ids(signed_in, merchant):
    # given: a campaign and a batch confirmed with it
    campaign = Campaign.objects.create(
        merchant=merchant, name="Autumn", request={"outputs": ["poster", "packshot"]}
    )
    batch = imports.preview_batch(merchant, io.BytesIO(simple_csv([{"sku": "A-1", "title": "A"}])), "p.csv")
    fanout.confirm_batch(batch, campaign)

    # when: the batch and the campaigns are listed
    page = signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode()
    campaigns = signed_in.get(reverse("bulk:campaigns")).content.decode()

    # then: the outputs by the names the job form gives them
    assert "one job per product: Marketplace packshot, Poster" in page
    assert "<td>Marketplace packshot, Poster</td>" in campaigns
    assert "packshot, poster" not in page + campaigns


def test_one_row_one_product_and_one_failure_are_said_in_the_singular(signed_in, merchant):
    # given: a file of one product, previewed
    batch = imports.preview_batch(merchant, io.BytesIO(simple_csv([{"sku": "A-1", "title": "A"}])), "p.csv")

    # when: its preview is opened
    page = " ".join(signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode().split())

    # then: one row, one product
    assert re.search(r"· 1 row(<| ·)", page), page
    assert '<strong id="create-count">1</strong> product will be created' in page
    assert '<strong id="unchanged-count">0</strong> are unchanged' in page
    assert '<strong id="error-count" class="">0</strong> rows cannot be imported' in page
    assert "Import 1 product</button>" in page

    # when: it is imported and its one row fails
    fanout.confirm_batch(batch)
    imports.import_batch(batch.pk)
    BatchRow.objects.filter(batch=batch).update(
        state=RowState.FAILED, error="the photo URL answered HTTP 404"
    )
    page = signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode()

    # then: one failed row to retry
    assert "Retry 1 failed row</button>" in page
    assert Batch.objects.get(pk=batch.pk).total_rows == 1

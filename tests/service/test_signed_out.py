"""A signed-out request a page makes by itself (a picture, a file, an htmx poll: e.g. the
job page's thumbnails after its session expired) is refused with a plain 403 that sets no
cookie, not sent to the sign-in page: the sign-in page's answer sets the CSRF cookie, and a
merchant who has meanwhile signed in again in another tab would have their new one
overwritten (one "form expired" page), or their new session cookie deleted. What a person
navigates to (a dashboard page, a download link) still leads to the sign-in page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.service.browser import job_with_assets

pytestmark = pytest.mark.django_db

# what a browser sends with an <img>'s request, and with a page's top-level navigation
IMAGE = {
    "HTTP_SEC_FETCH_DEST": "image",
    "HTTP_SEC_FETCH_MODE": "no-cors",
    "HTTP_SEC_FETCH_SITE": "same-origin",
}
NAVIGATION = {
    "HTTP_SEC_FETCH_DEST": "document",
    "HTTP_SEC_FETCH_MODE": "navigate",
    "HTTP_SEC_FETCH_SITE": "none",
}
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_SEC_FETCH_DEST": "empty", "HTTP_SEC_FETCH_MODE": "cors"}


@pytest.fixture
def expired() -> Client:
    """A browser whose session has expired: it still sends its old session and CSRF cookies."""
    client = Client()
    client.cookies["sessionid"] = "x" * 32
    client.cookies["csrftoken"] = "c" * 32
    return client


def _files(job, product_image) -> list[str]:
    asset = job.assets.get()
    return [
        reverse("dashboard:asset_thumbnail", args=[asset.pk, 480]),
        reverse("dashboard:asset_preview", args=[asset.pk]),
        reverse("dashboard:asset_download", args=[asset.pk]),
        reverse("dashboard:job_zip", args=[job.pk]),
        reverse("dashboard:image_thumbnail", args=[product_image.pk]),
        reverse("dashboard:photo_preview", args=[product_image.pk]),
        reverse("dashboard:mask_cutout", args=[1]),
        reverse("dashboard:brand_logo"),
        reverse("bulk:results", args=[1]),
        reverse("bulk:errors", args=[1]),
        reverse("bulk:assets", args=[1]),
    ]


def test_a_signed_out_picture_or_file_request_is_refused_with_no_redirect_and_no_cookie(
    expired, product_image
):
    # given: a finished job with a packshot, and a browser whose session expired
    job = job_with_assets(product_image, [("packshot", "packshot", (64, 64), (250, 250, 250, 255))])

    for url in _files(job, product_image):
        for headers in (IMAGE, {}):
            # when: a page asks for the picture or file (as an <img>, or with no word of how)
            response = expired.get(url, **headers)

            # then: a plain 403 that leads nowhere and sets no cookie, neither a CSRF cookie
            # nor the deletion of the session cookie
            assert response.status_code == 403, (url, headers, response.status_code)
            assert "Location" not in response, (url, response["Location"])
            assert response["Content-Type"].startswith("text/plain")
            assert "sign in" in response.content.decode().lower()
            assert not response.cookies, (url, response.cookies.output())
            assert "Set-Cookie" not in response


def test_a_signed_out_htmx_poll_is_refused_with_no_cookie(expired, product_image):
    # given: a running job's page whose session expired
    job = job_with_assets(
        product_image, [("packshot", "packshot", (64, 64), (250, 250, 250, 255))], "running"
    )

    # when: its status poll runs
    response = expired.get(reverse("dashboard:job_progress", args=[job.pk]), **HTMX)

    # then: refused, no sign-in page swapped in, no cookie
    assert response.status_code == 403
    assert "Location" not in response and not response.cookies


def test_a_page_or_a_download_a_person_navigates_to_still_leads_to_sign_in(expired, product_image):
    # given: a finished job, and a browser whose session expired
    job = job_with_assets(product_image, [("packshot", "packshot", (64, 64), (250, 250, 250, 255))])
    page = reverse("dashboard:job", args=[job.pk])
    download = reverse("dashboard:asset_download", args=[job.assets.get().pk])

    # when: the person opens the job page (with a browser's navigation headers or none), or
    # follows a download link
    for url, headers in ((page, NAVIGATION), (page, {}), (download, NAVIGATION)):
        response = expired.get(url, **headers)

        # then: the sign-in page, which brings them back there
        assert response.status_code == 302, (url, headers)
        assert response["Location"] == f"{reverse('login')}?next={url}"

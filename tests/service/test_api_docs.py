"""The API docs page works offline: Swagger UI from our own static files, no CDN."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.service.browser import CHROMIUM, CHROMIUM_ARGS


def test_docs_page_references_only_local_static_files(client):
    # when the docs page is opened (no key needed to read the docs)
    response = client.get("/api/v1/docs")
    html = response.content.decode()

    # then every script, stylesheet and icon it loads is one of our static files
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert response.status_code == 200
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    for url in urls:
        assert not urlsplit(url).netloc, url
        assert url.startswith("/" + settings.STATIC_URL.lstrip("/")), url
    # and the page's settings point at our schema, with no online validator
    config = json.loads(re.search(r'id="swagger-settings">(.*?)</script>', html, re.S).group(1))
    assert config["url"] == "/api/v1/openapi.json" and config["validatorUrl"] is None


def test_static_files_of_the_docs_page_are_served(client):
    html = client.get("/api/v1/docs").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)

    for url in urls:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, url
        assert len(body) > 100, url
    bundle = next(u for u in urls if u.endswith("swagger-ui-bundle.js"))
    assert client.get(bundle)["Content-Type"].startswith(("text/javascript", "application/javascript"))


def test_schema_is_served_without_a_key(client):
    schema = client.get("/api/v1/openapi.json").json()

    assert schema["info"]["title"] == "ShopAssets API"
    assert "/api/v1/products" in schema["paths"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no Chromium installed (apt-get install chromium)")
def test_docs_render_in_a_browser_that_reaches_nothing_but_the_server(live_server):
    # given a browser where every request to another host fails, and is recorded
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    elsewhere: list[str] = []
    own = urlsplit(live_server.url).netloc

    def only_the_server(route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route("**/*", only_the_server)

        # when the docs page is opened
        page.goto(f"{live_server.url}/api/v1/docs")
        page.wait_for_selector('[data-path="/api/v1/jobs/{job_id}/cancel"]', timeout=60_000)
        operations = page.locator(".opblock").count()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    # then Swagger UI drew the operations from our schema without asking any other host
    assert operations >= 20
    assert elsewhere == []

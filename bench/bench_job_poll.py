"""The job page's status poll on a running job with 15 assets: server time and bytes.

    PYTHONPATH=. .venv/bin/python bench/bench_job_poll.py [--polls 200]

A running job that has made a cutout, a packshot, 6 scenes, 6 posters (2 templates x 3 sizes,
each with its layout file) and a clip (with its frame): 15 cards. Its page polls
``/jobs/<id>/status/`` every second. Rows, through Django's test client in this process
(request, middleware, view, template; no network):

- ``no mark``: a poll that does not say what its page shows, as every poll was before the
  marks (the first poll of a page still is): the status and the whole gallery.
- ``mark, nothing new``: the page's mark, nothing made since: the status alone.

Each row prints the median and 90th percentile milliseconds and the bytes of one answer, and
the second row its ratio to the first measured in the same run. Uses its own temporary data
folder (SQLite). The rows are only polls; run it on an older commit to see that commit's poll
(it ignores the mark, so both rows are the whole gallery there).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    DJANGO_SETTINGS_MODULE="shop_assets.settings",
    SHOPASSETS_DATA_DIR=tempfile.mkdtemp(prefix="bench-job-poll-"),
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from PIL import Image  # noqa: E402

from shop_assets.accounts.models import Merchant, User  # noqa: E402
from shop_assets.catalog.models import Product  # noqa: E402
from shop_assets.catalog.services import add_product_image  # noqa: E402
from shop_assets.jobs import requests as job_requests  # noqa: E402
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus  # noqa: E402

TEMPLATES = ("bold_sale", "hero_left")
SIZES = {"story": (1080, 1920), "feed": (1080, 1080), "link": (1200, 628)}


def running_job() -> GenerationJob:
    merchant = Merchant.objects.create(name="Bench", slug="bench")
    User.objects.create_user("bench", password="pw-bench-123", merchant=merchant)
    product = Product.objects.create(merchant=merchant, sku="BTL-001", title="Bottle", price="19.90")
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), (200, 200, 200)).save(buf, format="JPEG")
    image = add_product_image(product, buf.getvalue(), filename="bottle.jpg", auto_mask=False)
    parameters = {
        "scene": {"theme": "marble_counter", "count": 6, "width": 1024, "height": 1024},
        "poster": {"templates": list(TEMPLATES), "sizes": list(SIZES), "headline": "Fresh"},
    }
    outputs = ["cutout", "packshot", "scene", "poster", "clip"]
    request = job_requests.build_request(product, outputs, parameters)
    job = GenerationJob.objects.create(
        merchant=merchant,
        product=product,
        image=image,
        outputs=request.outputs,
        parameters=request.stored(),
        status=JobStatus.RUNNING,
        progress=90,
        progress_message="Making the clip",
    )
    rows = [("cutout", "cutout", "png", 600, 800, {}), ("packshot", "packshot", "png", 2000, 2000, {})]
    rows += [
        ("scene", f"scene-marble_counter-{i:02d}", "png", 1024, 1024, {"theme": "marble_counter"})
        for i in range(1, 7)
    ]
    for template in TEMPLATES:
        for size, (w, h) in SIZES.items():
            name = f"poster-{template}-{size}"
            rows.append(
                ("poster", name, "png", w, h, {"template": template, "size": size, "checks": {"ok": True}})
            )
            rows.append(("poster", f"{name}-layout", "json", w, h, {"layout_of": name}))
    rows.append(("clip", "clip-push_in-story", "mp4", 1080, 1920, {"duration": 8.0}))
    rows.append(("clip", "clip-push_in-story-frame", "jpg", 1080, 1920, {"frame_of": "clip-push_in-story"}))
    for i, (kind, name, fmt, w, h, metrics) in enumerate(rows):
        Asset.objects.create(
            merchant=merchant,
            job=job,
            kind=kind,
            name=name,
            format=fmt,
            width=w,
            height=h,
            storage_key=f"bench/{name}.{fmt}",
            size_bytes=1000 + i,
            checksum=f"{i:064x}",
            metrics={"fidelity": {"identical": True}, **metrics},
        )
    return job


def measure(client: Client, url: str, polls: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(polls):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
    return times, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    job = running_job()
    client = Client()
    client.force_login(User.objects.get(username="bench"))
    url = f"/jobs/{job.pk}/status/"
    first = client.get(url).content.decode()
    cards = len(re.findall(r'<figure class="asset"', first))
    found = re.search(r'\?have=([0-9a-f]+)"', first)
    marked = f"{url}?have={found.group(1)}" if found else f"{url}?have=none"
    print(
        f"job with {cards} cards ({Asset.objects.filter(job=job).count()} asset rows), {args.polls} polls a row"
    )
    measure(client, url, 10)  # warm the templates and the connection
    rows = {}
    for label, target in (("no mark", url), ("mark, nothing new", marked)):
        times, size = measure(client, target, args.polls)
        rows[label] = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        ratio = f"  x{rows[label] / rows['no mark']:.2f}" if label != "no mark" else ""
        print(f"{label:<20} median {rows[label]:6.2f} ms  p90 {p90:6.2f} ms  {size:7d} bytes{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

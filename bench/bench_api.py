"""Job-status API throughput on loopback, against /healthz on the same server in the same run.

    .venv/bin/python bench/bench_api.py [--clients 8] [--seconds 5] [--rounds 3] [--assets 6]
                                        [--cache-url redis://127.0.0.1:6379/12]

One gunicorn started the way ``make run`` starts it (2 processes x 4 threads; on this
2-core machine that is one process a core) on the embedded defaults (SQLite, the database
cache, or ``--cache-url``'s cache for the rate counters) in a temporary data folder, the per-key rate lifted so the bench measures serving,
not refusing. ``--clients`` threads, each with a keep-alive session, send back to back:

- ``GET /healthz``: routing and the middleware stack, no database: the baseline.
- ``GET /api/v1/jobs/{id}``: what a storefront polls: key lookup, the per-key rate count,
  the job and its ``--assets`` assets, serialized.
- ``GET /api/v1/jobs?limit=20``: a page of jobs with their assets.
- ``GET /api/v1/jobs/{id}`` of another merchant: the 404 in the error shape.

Rows alternate in ``--rounds`` rounds (so a change in the machine's load shifts them
alike); each prints the median requests per second over the rounds, latency p50/p95 and
its throughput as a ratio to the baseline measured here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback import GunicornServer  # noqa: E402

SETUP = """
import sys
from shop_assets.accounts.models import ApiKey, Merchant
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs.models import Asset, GenerationJob

assets = int(sys.argv[-1])
def shop(slug, jobs):
    m = Merchant.objects.create(name=slug, slug=slug)
    p = Product.objects.create(merchant=m, sku=slug.upper() + "-1", title="Bench bottle", price="9.90")
    image = ProductImage.objects.create(
        product=p, original_key=f"{slug}/o.jpg", original_format="JPEG", original_size=1,
        normalized_key=f"{slug}/n.png", thumbnail_key=f"{slug}/t.jpg", width=1200, height=900, checksum="0" * 64,
    )
    ids = []
    for j in range(jobs):
        job = GenerationJob.objects.create(
            merchant=m, product=p, image=image, outputs=["cutout", "packshot"], status="succeeded",
            progress=100, parameters={"segmenter": "auto", "format": "png"},
        )
        Asset.objects.bulk_create(
            Asset(merchant=m, job=job, kind="packshot", name=f"packshot-{a}", format="png", width=2000,
                  height=2000, storage_key=f"{slug}/jobs/{job.pk}/{a}.png", size_bytes=123456,
                  checksum="0" * 64, metrics={"fidelity": {"identical": True}, "confidence": 0.97})
            for a in range(assets)
        )
        ids.append(job.pk)
    return m, ids

mine, job_ids = shop("bench", 40)
_, theirs = shop("rival", 5)
print(job_ids[-1], theirs[0], ApiKey.issue(mine, "bench")[1])
"""


def hammer(
    url: str, headers: dict[str, str], clients: int, seconds: float
) -> tuple[float, list[float], Counter]:
    """``clients`` keep-alive sessions GET ``url`` back to back for ``seconds``:
    requests per second, every latency and the statuses answered."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        session = requests.Session()
        session.headers.update(headers)
        mine: list[float] = []
        seen: Counter = Counter()
        start.wait()
        while (now := time.perf_counter()) < stop_at[0]:
            response = session.get(url, timeout=30)
            mine.append(time.perf_counter() - now)
            seen[response.status_code] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - began), latencies, statuses


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--assets", type=int, default=6, help="assets on each job")
    parser.add_argument("--cache-url", help="CACHE_URL for the server (default: the database cache)")
    args = parser.parse_args()

    # the per-key rate lifted so the bench measures serving, not refusing
    server = GunicornServer(
        "bench-api-",
        SETUP,
        env={"SHOPASSETS_API_RATE": "10000000/m", "CACHE_URL": args.cache_url},
        seed_args=(str(args.assets),),
    )
    job_id, other_job_id, key = int(server.seeded[-3]), int(server.seeded[-2]), server.seeded[-1]
    auth = {"Authorization": f"Bearer {key}"}
    rows = [
        ("GET /healthz (baseline)", f"{server.url}/healthz", {}, 200),
        (
            f"GET /api/v1/jobs/{{id}} ({args.assets} assets)",
            f"{server.url}/api/v1/jobs/{job_id}",
            auth,
            200,
        ),
        ("GET /api/v1/jobs?limit=20", f"{server.url}/api/v1/jobs?limit=20", auth, 200),
        ("GET another shop's job (404)", f"{server.url}/api/v1/jobs/{other_job_id}", auth, 404),
    ]
    try:
        for _, url, headers, _expected in rows:  # warm every worker and cache
            hammer(url, headers, args.clients, 0.5)
        results: dict[str, list[tuple[float, list[float], Counter]]] = {name: [] for name, *_ in rows}
        for _ in range(args.rounds):
            for name, url, headers, _expected in rows:
                results[name].append(hammer(url, headers, args.clients, args.seconds))
    finally:
        server.stop()

    print(f"API throughput on loopback: gunicorn 2 x 4 threads, {args.clients} keep-alive clients, "
          f"{args.rounds} rounds of {args.seconds:g} s per row, {os.cpu_count()} CPUs, "
          f"cache {args.cache_url or 'database'}")  # fmt: skip
    baseline = statistics.median(rps for rps, _, _ in results[rows[0][0]])
    print(f"{'row':<36} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'vs baseline':>12}  statuses")
    ok = True
    for name, _url, _headers, expected in rows:
        runs = results[name]
        rps = statistics.median(r for r, _, _ in runs)
        latencies = [x for _, lat, _ in runs for x in lat]
        statuses = sum((s for _, _, s in runs), Counter())
        ok &= set(statuses) == {expected}
        print(f"{name:<36} {rps:>8.0f} {pct(latencies, 0.5):>8.1f} {pct(latencies, 0.95):>8.1f} "
              f"{rps / baseline:>11.2f}x  {dict(statuses)}")  # fmt: skip
    if not ok:
        print("unexpected statuses: see the last column")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

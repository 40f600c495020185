"""A flood of large photo uploads against a real gunicorn, while /healthz is polled.

    .venv/bin/python bench/bench_upload_flood.py [--clients 8] [--megapixels 48] [--seconds 30]

Three servers, each fresh and started the way ``make run`` starts gunicorn (2 processes x
4 threads, embedded defaults, a temporary data folder): one decode slot per client (what a
process without the bound does), the default single slot with the upload quota lifted (the
bound alone), and the defaults (one slot, 30 uploads a minute per merchant). For each, the
bench measures /healthz latency idle, then while ``--clients`` API clients of one merchant
upload a ``--megapixels`` JPEG back to back for ``--seconds`` (and until their last upload
is answered). It prints latency percentiles and their ratio to the idle median of the same
server, the share of the flood during which /healthz took over a second, how the uploads
were answered and the web processes' peak memory. Ratios are measured side by side in one
run, so they hold on a loaded machine; absolute times do not.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback import GunicornServer  # noqa: E402
from tests.synthetic import product_photo  # noqa: E402


def large_jpeg(megapixels: float) -> bytes:
    """A product photo at ``megapixels`` with sensor-like noise (so it compresses like one)."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    photo, _ = product_photo((1200, 900), "gradient")
    pixels = np.asarray(photo.convert("RGB").resize((width, height), Image.BICUBIC), dtype=np.int16)
    noise = np.random.default_rng(0).normal(0, 4, pixels.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


SEED = """
from shop_assets.accounts.models import ApiKey, Merchant
from shop_assets.catalog.models import Product

m = Merchant.objects.create(name="Bench", slug="bench")
p = Product.objects.create(merchant=m, sku="B-1", title="Bench")
print(p.pk, ApiKey.issue(m, "bench")[1])
"""


def start_server(decode_slots: int, uploads_per_minute: int | None) -> GunicornServer:
    """A fresh server with a shop and a key (``uploads_per_minute=None``: the default quota)."""
    return GunicornServer(
        "bench-flood-",
        SEED,
        env={
            "SHOPASSETS_DECODE_SLOTS": str(decode_slots),
            "SHOPASSETS_API_RATE": "100000/m",
            "SHOPASSETS_UPLOADS_PER_MINUTE": None if uploads_per_minute is None else str(uploads_per_minute),
        },
        gunicorn_args=("--timeout", "300"),
    )


def poll_health(
    server: GunicornServer, stop: threading.Event, latencies: list[float], rss: list[float]
) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        try:
            requests.get(f"{server.url}/healthz", timeout=120)
        except requests.RequestException:
            pass
        latencies.append(time.perf_counter() - start)
        rss.append(server.rss_mb())
        time.sleep(0.05)


def flood(
    server: GunicornServer, jpeg: bytes, clients: int, seconds: float
) -> tuple[Counter, list[float], list[float]]:
    answers: Counter = Counter()
    latencies: list[float] = []
    rss: list[float] = []
    stop_polling = threading.Event()
    deadline = time.monotonic() + seconds
    product_id, key = server.seeded[-2:]
    url = f"{server.url}/api/v1/products/{product_id}/images"

    def client(i: int) -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            try:
                response = session.post(
                    url,
                    headers={"Authorization": f"Bearer {key}"},
                    files={"file": (f"flood-{i}.jpg", jpeg, "image/jpeg")},
                    timeout=600,
                )
                answers[response.status_code] += 1
            except requests.ConnectionError:
                # refused before its body was read: gunicorn closes such a connection
                answers["closed"] += 1
                session = requests.Session()

    poller = threading.Thread(target=poll_health, args=(server, stop_polling, latencies, rss))
    poller.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    duration = time.monotonic() - started
    stop_polling.set()
    poller.join()
    return answers, latencies, rss, duration


def idle_baseline(server: GunicornServer, samples: int = 60) -> list[float]:
    latencies = []
    for _ in range(samples):
        start = time.perf_counter()
        requests.get(f"{server.url}/healthz", timeout=10)
        latencies.append(time.perf_counter() - start)
        time.sleep(0.02)
    return latencies


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=48)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    jpeg = large_jpeg(args.megapixels)
    print(f"{args.clients} clients uploading a {args.megapixels:g} MP JPEG ({len(jpeg) / 1e6:.1f} MB) "
          f"for {args.seconds:g} s; gunicorn 2 x 4 threads; /healthz every 50 ms")  # fmt: skip
    header = (
        f"{'server':<34} {'idle p50':>8} {'p50':>6} {'p95':>6} {'max':>7} {'p95/idle':>8} "
        f"{'max/idle':>8} {'>1s':>5} {'RSS MB':>6}  answers"
    )
    print(header)
    configurations = [
        (f"{args.clients} decode slots (unbounded)", args.clients, 100_000),
        ("1 decode slot, no upload quota", 1, 100_000),
        ("defaults (1 slot, 30 uploads/min)", 1, None),
    ]
    for label, slots, uploads_per_minute in configurations:
        server = start_server(slots, uploads_per_minute)
        try:
            idle = idle_baseline(server)
            answers, busy, rss, duration = flood(server, jpeg, args.clients, args.seconds)
        finally:
            server.stop()
        base = statistics.median(idle)
        stalled = sum(t for t in busy if t > 1.0) / duration
        print(
            f"{label:<34} {base * 1e3:>8.1f} {statistics.median(busy) * 1e3:>6.0f} "
            f"{p(busy, 0.95) * 1e3:>6.0f} {max(busy) * 1e3:>7.0f} {p(busy, 0.95) / base:>8.0f} "
            f"{max(busy) / base:>8.0f} {stalled:>5.0%} {max(rss):>6.0f}  "
            + ", ".join(f"{n} x {code}" for code, n in sorted(answers.items(), key=str))
        )
    print(
        "latencies of /healthz in ms; ratios against the idle median of the same server; "
        ">1s: share of the flood (until the last upload was answered) spent in /healthz calls over 1 s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

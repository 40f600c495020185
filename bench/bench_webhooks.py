"""Webhook delivery throughput to a local receiver, against bare HTTP posts in the same run.

    .venv/bin/python bench/bench_webhooks.py [--events 500] [--threads 4] [--no-worker]

Rows, all to one keep-alive HTTP server on loopback answering 200, with the same thread count:

- ``bare requests``: ``requests.Session.post`` of the same signed body, nothing else: the baseline.
- ``attempt_delivery``: our path in-process: lease the row, sign (Standard Webhooks), POST through
  the SSRF-safe client, record the attempt, update the delivery and the endpoint.
- ``celery worker``: the real path: events recorded in one transaction, sent to the broker on
  commit, delivered by a ``webhooks`` worker (threads pool) started as ``make run`` starts it;
  timed from commit to the last request received.

Each row prints events per second and its ratio to the baseline measured here, so the numbers
compare on the same machine and load (other work on the machine shifts all rows alike).
Uses its own temporary data folder (SQLite, filesystem broker).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="bench-webhooks-")
os.environ.update(
    DJANGO_SETTINGS_MODULE="shop_assets.settings",
    SHOPASSETS_DATA_DIR=DATA_DIR,
    SHOPASSETS_ALLOW_PRIVATE_URLS="true",
    SHOPASSETS_WEBHOOK_SWEEP_SECONDS="3600",  # the sweep must not add messages while timing
)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from shop_assets.accounts.models import Merchant  # noqa: E402
from shop_assets.webhooks.delivery import attempt_delivery, body_of, signed_headers  # noqa: E402
from shop_assets.webhooks.endpoints import create_endpoint  # noqa: E402
from shop_assets.webhooks.events import record_event  # noqa: E402
from shop_assets.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint  # noqa: E402


class Receiver:
    """Counts requests; answers 200 with keep-alive."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def record(merchant: Merchant, n: int) -> list[int]:
    with transaction.atomic():
        for i in range(n):
            record_event(
                merchant, "asset.created", {"asset": {"id": i, "sku": f"SKU-{i:05d}", "kind": "packshot"}}
            )
    ids = list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).values_list("pk", flat=True))
    return ids


def in_threads(fn: Callable[[int], object], items: Sequence[int], threads: int) -> float:
    def run(item: int) -> None:
        try:
            fn(item)
        finally:
            connection.close()  # each pool thread has its own database connection

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, items))
    return time.perf_counter() - start


def bare_posts(receiver: Receiver, endpoint: WebhookEndpoint, delivery_ids: list[int], threads: int) -> float:
    sample = WebhookDelivery.objects.select_related("event").get(pk=delivery_ids[0])
    body = body_of(sample)
    headers = signed_headers(
        endpoint, sample.event.public_id, body, sent_at=int(time.time()), now=sample.created_at
    )
    local = threading.local()

    def post(_: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        session.post(receiver.url, data=body.encode(), headers=headers, timeout=10).raise_for_status()

    return in_threads(post, delivery_ids, threads)


def via_worker(receiver: Receiver, merchant: Merchant, n: int, threads: int) -> tuple[float, float]:
    env = dict(os.environ)
    log = open(Path(DATA_DIR) / "worker.log", "wb")
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "shop_assets",
        "worker",
        "-Q",
        "webhooks",
        "--pool",
        "threads",
    ]
    cmd += ["--concurrency", str(threads), "-l", "warning", "-n", "bench-webhooks@%h", "--without-gossip"]
    cmd += ["--without-mingle", "--without-heartbeat"]
    worker = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(6)  # the worker starts; a message sent before then simply waits in the queue
        before = receiver.count
        start = time.perf_counter()
        record(merchant, n)  # commits, then one broker message per delivery
        queued = time.perf_counter() - start
        deadline = time.monotonic() + 600
        while receiver.count - before < n:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((Path(DATA_DIR) / "worker.log").read_text()[-3000:])
            time.sleep(0.02)
        return time.perf_counter() - start, queued
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-worker", action="store_true", help="skip the real-worker row")
    args = parser.parse_args()
    n, threads = args.events, args.threads

    call_command("migrate", verbosity=0)
    receiver = Receiver()
    merchant = Merchant.objects.create(name="Bench", slug="bench")
    endpoint = create_endpoint(merchant, receiver.url, ["asset.created"])

    start = time.perf_counter()
    ids = record(merchant, n)
    recorded = time.perf_counter() - start
    baseline = bare_posts(receiver, endpoint, ids, threads)
    ours = in_threads(attempt_delivery, ids, threads)
    delivered = WebhookDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.SUCCEEDED).count()
    if delivered != n:
        raise RuntimeError(f"only {delivered} of {n} deliveries succeeded")
    rows = [("bare requests (baseline)", baseline), ("attempt_delivery in-process", ours)]
    if not args.no_worker:
        worker_s, queued_s = via_worker(receiver, merchant, n, threads)
        rows.append(("celery worker, commit to last", worker_s))

    print(f"webhook delivery, {n} events, {threads} threads, {os.cpu_count()} cores; receiver on loopback")
    print(f"recording {n} events with their deliveries in one transaction: {recorded:.2f} s")
    if not args.no_worker:
        print(f"  (worker row: recording and queueing took {queued_s:.2f} s of its time)")
    print(f"{'path':34} {'seconds':>8} {'events/s':>9} {'vs bare':>8}")
    for name, seconds in rows:
        print(f"{name:34} {seconds:8.2f} {n / seconds:9.0f} {baseline / seconds:8.2f}")
    print("(ratios come from this one run; other load on the machine moves every row)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Catalogue import of 10,000 rows with fan-out: wall time, peak memory, queries per row.

    .venv/bin/python bench/bench_bulk.py [--rows 10000] [--broker redis://127.0.0.1:6379/15]

Rows printed, each with its ratio to the baseline measured in the same run (other work on
the machine shifts all rows alike, so compare ratios, not seconds):

- ``baseline``: ``csv.DictReader`` over the same file and ``bulk_create`` of the products:
  the least any import has to do.
- ``preview``: ``preview_batch``: the file streamed, every row checked and compared with
  the catalogue, the batch's rows saved.
- ``import + fan-out``: ``confirm_batch`` + ``import_batch``: products created by SKU,
  rows made pending, then ``advance_batch`` admits the first window (SHOPASSETS_BATCH_WINDOW)
  and sends one task per admitted row to the broker. Jobs are queued, not run: no worker.
- ``re-import``: the same file again (every row unchanged), preview and import.
- ``fan-out of every row``: the window opened to all rows, so each of them is sent to the
  broker at once (what a batch would cost without windows): the broker's cost per message.

Peak memory is Python's (tracemalloc) over preview + import, for 1/10, 1/2 and all of the
rows: flat means it does not grow with the file. Queries per row count every SQL statement.
Uses its own temporary data folder (SQLite, filesystem broker unless --broker).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="bench-bulk-")
ARGS = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ARGS.add_argument("--rows", type=int, default=10_000)
ARGS.add_argument("--broker", default="", help="a broker URL instead of the filesystem broker")
OPTIONS = ARGS.parse_args()
os.environ.update(
    DJANGO_SETTINGS_MODULE="shop_assets.settings",
    SHOPASSETS_DATA_DIR=DATA_DIR,
    SHOPASSETS_BATCH_MAX_ROWS=str(max(OPTIONS.rows, 20_000)),
)
if OPTIONS.broker:
    os.environ["CELERY_BROKER_URL"] = OPTIONS.broker

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from shop_assets.accounts.models import Merchant  # noqa: E402
from shop_assets.bulk import fanout, imports  # noqa: E402
from shop_assets.bulk.models import BatchRow, RowState  # noqa: E402
from shop_assets.catalog.models import Product  # noqa: E402


def catalogue(rows: int) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["sku", "title", "price", "compare_at_price", "currency", "image", "headline"])
    for i in range(rows):
        writer.writerow(
            [
                f"SKU-{i:06d}",
                f"Stainless bottle {i}, 500 ml — 保温杯",
                f"{10 + i % 90}.90",
                f"{120 + i % 90}.00",
                "USD",
                f"https://cdn.example.com/products/{i:06d}.jpg",
                "Cold for 24 hours",
            ]
        )
    return buf.getvalue().encode("utf-8")


class Queries:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable, sql: str, params: object, many: bool, context: object) -> object:
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counted() -> Iterator[Queries]:
    queries = Queries()
    with connection.execute_wrapper(queries):
        yield queries


def merchant(name: str) -> Merchant:
    return Merchant.objects.create(name=name, slug=name)


def baseline(data: bytes, shop: Merchant) -> None:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    chunk: list[Product] = []
    for row in reader:
        chunk.append(Product(merchant=shop, sku=row["sku"], title=row["title"], price=row["price"]))
        if len(chunk) == 500:
            Product.objects.bulk_create(chunk)
            chunk.clear()
    Product.objects.bulk_create(chunk)


def preview(data: bytes, shop: Merchant) -> int:
    batch = imports.preview_batch(shop, io.BytesIO(data), "catalogue.csv")
    assert batch.error_rows == 0, batch.rows.filter(state=RowState.INVALID).first()
    return batch.pk


def import_and_fan_out(batch_id: int) -> int:
    batch = imports.Batch.objects.get(pk=batch_id)
    with transaction.atomic():
        fanout.confirm_batch(batch)
    imports.import_batch(batch_id)
    return fanout.advance_batch(batch_id)


def timed(fn: Callable[[], object]) -> tuple[float, object, int]:
    with counted() as queries:
        started = time.perf_counter()
        result = fn()
        return time.perf_counter() - started, result, queries.count


def main() -> None:
    call_command("migrate", verbosity=0)
    rows = OPTIONS.rows
    data = catalogue(rows)
    broker = settings.CELERY_BROKER_URL.split("://")[0]
    print(
        f"bench_bulk: {rows} rows ({len(data) / 1048576:.1f} MB CSV), SQLite, {broker} broker, {os.cpu_count()} cores"
    )
    print("Machine shared with other work: compare the ratios (same run), not the seconds.\n")

    base_t, _, base_q = timed(lambda: baseline(data, merchant("baseline")))
    shop = merchant("bench")
    prev_t, batch_id, prev_q = timed(lambda: preview(data, shop))
    imp_t, admitted, imp_q = timed(lambda: import_and_fan_out(batch_id))  # type: ignore[arg-type]
    assert Product.objects.filter(merchant=shop).count() == rows
    sent = BatchRow.objects.filter(batch_id=batch_id, state=RowState.ADMITTED).count()
    re_prev_t, again_id, re_prev_q = timed(lambda: preview(data, shop))
    re_imp_t, _, re_imp_q = timed(lambda: import_and_fan_out(again_id))  # type: ignore[arg-type]

    total = prev_t + imp_t
    print(f"{'':28}{'seconds':>9}{'queries/row':>13}{'x baseline':>12}")
    for name, secs, queries in [
        ("baseline (DictReader+bulk)", base_t, base_q),
        ("preview", prev_t, prev_q),
        ("import + fan-out", imp_t, imp_q),
        ("preview + import", total, prev_q + imp_q),
        ("re-import (all unchanged)", re_prev_t + re_imp_t, re_prev_q + re_imp_q),
    ]:
        print(f"{name:28}{secs:9.2f}{queries / rows:13.3f}{secs / base_t:12.1f}")
    print(
        f"\nfan-out: {admitted} row tasks sent to the broker (window {settings.BATCH_WINDOW}); "
        f"{rows - sent} rows wait in the batch for their turn"
    )
    print(f"target <= 15 s for preview + import: {'met' if total <= 15 else 'NOT met'} ({total:.1f} s)")

    # the broker's cost of sending every row at once (no window)
    wide = merchant("wide")
    wide_id = preview(data, wide)
    settings.BATCH_WINDOW = rows
    started = time.perf_counter()
    all_sent = import_and_fan_out(wide_id)
    wide_t = time.perf_counter() - started
    settings.BATCH_WINDOW = int(os.environ.get("SHOPASSETS_BATCH_WINDOW", "50"))
    print(
        f"fan-out of every row: {all_sent} tasks in {wide_t:.1f} s "
        f"({1000 * wide_t / max(all_sent, 1):.2f} ms per row including the import) on the {broker} broker"
    )

    # memory: the same path on a tenth, a half and all of the rows
    print("\npeak Python memory over preview + import (tracemalloc):")
    peaks = []
    for n in sorted({max(rows // 10, 1), max(rows // 2, 1), rows}):
        shop_n = merchant(f"mem-{n}")
        part = catalogue(n)
        tracemalloc.start()
        tracemalloc.reset_peak()
        import_and_fan_out(preview(part, shop_n))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peaks.append(peak)
        print(f"  {n:>6} rows: {peak / 1048576:6.1f} MiB  ({peak / peaks[0]:.2f} x the smallest)")
    import resource

    print(
        f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (Django, the CSV bytes and SQLite included)"
    )


if __name__ == "__main__":
    main()

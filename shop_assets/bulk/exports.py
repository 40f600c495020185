"""What a batch hands back: its rows' errors and results as CSV, and every asset in one
ZIP organised by SKU. All three stream: rows are read in chunks and each asset's bytes
go from storage into the ZIP as they are read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import StreamingHttpResponse
from zipstream import ZipStream

from shop_assets.bulk.csvout import csv_response
from shop_assets.bulk.models import Batch, BatchRow, RowState
from shop_assets.jobs.models import Asset, JobStatus

ROW_CHUNK = 1000
RESULT_COLUMNS = [
    "sku",
    "line",
    "asset_kind",
    "asset_name",
    "format",
    "width",
    "height",
    "size_bytes",
    "download_url",
]
ERROR_COLUMNS = ["line", "sku", "state", "error"]


def _rows(batch: Batch) -> Iterator[BatchRow]:
    last = 0
    while True:
        chunk = list(BatchRow.objects.filter(batch=batch, line__gt=last).order_by("line")[:ROW_CHUNK])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].line


def _assets_by_job(job_ids: list[int]) -> dict[int, list[Asset]]:
    found: dict[int, list[Asset]] = {}
    for asset in Asset.objects.filter(job_id__in=job_ids).order_by("job_id", "kind", "name"):
        found.setdefault(asset.job_id, []).append(asset)
    return found


def _row_assets(batch: Batch) -> Iterator[tuple[BatchRow, list[Asset]]]:
    chunk: list[BatchRow] = []

    def flush() -> Iterator[tuple[BatchRow, list[Asset]]]:
        assets = _assets_by_job([r.job_id for r in chunk if r.job_id])
        for row in chunk:
            yield row, assets.get(row.job_id or 0, [])
        chunk.clear()

    for row in _rows(batch):
        if row.job_id:
            chunk.append(row)
            if len(chunk) >= ROW_CHUNK:
                yield from flush()
    yield from flush()


def has_assets(batch: Batch) -> bool:
    """Whether any row's job has made an asset: the results CSV (one line per asset) and the
    ZIP are empty until then. One EXISTS query; the batch page asks it on every poll."""
    jobs = BatchRow.objects.filter(batch=batch, job__isnull=False).values("job_id")
    return Asset.objects.filter(job_id__in=jobs).exists()


def results_csv(batch: Batch, download_url: Callable[[Asset], str]) -> StreamingHttpResponse:
    """SKU -> every asset its job made (kind, size, download URL), one line per asset."""

    def lines() -> Iterator[list[Any]]:
        for row, assets in _row_assets(batch):
            for a in assets:
                yield [
                    row.sku,
                    row.line,
                    a.kind,
                    a.name,
                    a.format,
                    a.width,
                    a.height,
                    a.size_bytes,
                    download_url(a),
                ]

    return csv_response(f"batch-{batch.pk}-results.csv", RESULT_COLUMNS, lines())


# A row's job that ended without its assets: counted as failed on the batch page (and retried
# with the failed rows), so listed with them
_JOB_ENDED_BADLY = (JobStatus.FAILED, JobStatus.CANCELLED)


def _problem_rows(batch: Batch):
    return BatchRow.objects.filter(batch=batch).filter(
        Q(state__in=(RowState.INVALID, RowState.FAILED))
        | Q(state=RowState.JOB, job__status__in=_JOB_ENDED_BADLY)
        | (Q(job__isnull=False) & ~Q(error=""))
    )


def has_problem_rows(batch: Batch) -> bool:
    """Whether the refused and failed rows' CSV has a row: the batch page links it only then."""
    return _problem_rows(batch).exists()


def errors_csv(batch: Batch) -> StreamingHttpResponse:
    """Every row that was refused or failed (its photo, or its job: failed or cancelled), with
    its line number and the reason."""

    def lines() -> Iterator[list[Any]]:
        last = 0
        while True:
            chunk = list(
                _problem_rows(batch).filter(line__gt=last).select_related("job").order_by("line")[:ROW_CHUNK]
            )
            if not chunk:
                return
            for row in chunk:
                job = row.job
                if row.state == RowState.JOB and job is not None and job.status in _JOB_ENDED_BADLY:
                    state = f"Job {job.get_status_display().lower()}"
                    yield [row.line, row.sku, state, row.error or job.error_message]
                else:
                    yield [row.line, row.sku, row.get_state_display(), row.error]
            last = chunk[-1].line

    return csv_response(f"batch-{batch.pk}-errors.csv", ERROR_COLUMNS, lines())


def _file_chunks(key: str) -> Iterator[bytes]:
    with default_storage.open(key, "rb") as fh:
        while chunk := fh.read(256 * 1024):
            yield chunk


def assets_zip(batch: Batch) -> StreamingHttpResponse | None:
    """Every asset of the batch as ``<sku>/<file>``, streamed (None when there is none)."""
    zs = ZipStream(sized=True)
    count = 0
    for row, assets in _row_assets(batch):
        for asset in assets:
            zs.add(_file_chunks(asset.storage_key), f"{row.sku}/{asset.filename}", size=asset.size_bytes)
            count += 1
    if count == 0:
        return None
    response = StreamingHttpResponse(zs, content_type="application/zip")
    response["Content-Length"] = str(len(zs))
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-assets.zip"'
    return response

"""One error shape for every refusal of the API: ``{"code", "detail", "field"?}``.

``code`` is a stable machine-readable word (``not_found``, ``duplicate_sku``, ...), ``detail``
a sentence for a person, ``field`` the request field at fault when there is one (``sku``,
``outputs[0]``, ``limit``). Views raise ``ApiError``; ninja's own refusals (401, 404, request
validation, throttling) and anything unexpected (500) go through the handlers installed
here, and ``ApiErrorMiddleware`` reshapes what Django answers under ``/api/`` before a view
runs (an unknown URL, a method the path does not take).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError

from generation.request import field_path

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

# the code an error gets when nothing more specific is known
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

# documented on every operation (others are declared per operation)
COMMON_ERRORS = (401, 422, 429, 500)


class ErrorOut(Schema):
    code: str
    detail: str
    field: str | None = None  # left out when no single field is at fault


class ApiError(Exception):
    """A refusal a view raises; answered as ``status`` with the error shape."""

    def __init__(self, status: int, code: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field


def error_body(code: str, detail: str, field: str | None = None) -> dict[str, str]:
    body = {"code": code, "detail": detail}
    if field:
        body["field"] = field
    return body


def error_response(status: int, code: str | None = None, detail: str | None = None) -> JsonResponse:
    """The error shape outside ninja (middleware, Django's handlers)."""
    return JsonResponse(
        error_body(code or STATUS_CODES.get(status, "error"), detail or _phrase(status)), status=status
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return "Error."


def api_field_path(loc: tuple[Any, ...] | list[Any], source_params: set[str]) -> str:
    """``("body", "payload", "poster", "sizes", 0)`` -> ``"poster.sizes[0]"``: the path as the
    client sent it, written as job requests write theirs."""
    parts = list(loc[1:])
    if parts and parts[0] in source_params and len(parts) > 1:
        parts = parts[1:]  # the view's parameter name, not something the client wrote
    return field_path(tuple(parts))


def install(api: NinjaAPI, *, body_params: set[str] | None = None) -> None:
    """Answer every refusal of ``api`` with the error shape. ``body_params`` are the names
    views give their body schema (dropped from field paths)."""
    params = body_params or {"payload"}

    def respond(request: HttpRequest, status: int, body: dict[str, str]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, error_body(exc.code, exc.detail, exc.field))

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        status = exc.status_code
        detail = str(exc)
        if status == 401:
            detail = "Send a valid API key as 'Authorization: Bearer <key>'."
        elif not detail.endswith("."):
            detail += "."
        return respond(request, status, error_body(STATUS_CODES.get(status, "error"), detail))

    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, error_body("not_found", "No such object (or not yours)."))

    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        problems = []
        first_field = None
        for error in exc.errors:
            path = api_field_path(error.get("loc", ()), params)
            first_field = first_field or path or None
            problems.append(f"{path}: {error.get('msg', 'invalid')}" if path else error.get("msg", "invalid"))
        detail = "; ".join(problems) or "The request is not valid."
        return respond(request, 422, error_body("invalid_request", detail, first_field))

    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("API request %s %s failed", request.method, request.path)
        return respond(
            request,
            500,
            error_body("internal_error", "Something went wrong on our side. The error was logged."),
        )

    api.exception_handler(ApiError)(api_error)
    api.exception_handler(HttpError)(http_error)
    api.exception_handler(Http404)(not_found)
    api.exception_handler(ValidationError)(invalid)
    api.exception_handler(Exception)(unexpected)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error shape to every operation's responses in an OpenAPI schema."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorOut", ErrorOut.model_json_schema(mode="serialization"))
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            statuses = list(COMMON_ERRORS)
            if "{" in path or "requestBody" in operation:  # an id in the path or the body
                statuses.append(404)
            for status in statuses:
                responses.setdefault(status, {"description": _phrase(status), **ref})
    return schema


class ApiErrorMiddleware:
    """Under ``/api/``, an error Django answered in HTML or plain text (an unknown URL, a
    method the path does not take, a server error outside a view) gets the error shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        detail = None
        if status == 405:
            allowed = response.get("Allow", "")
            detail = f"{request.method} is not allowed here; use {allowed}." if allowed else None
        elif status == 404:
            detail = f"There is no API endpoint at {request.path}."
        shaped = error_response(status, None, detail)
        for header in ("Allow", "Retry-After"):
            if header in response:
                shaped[header] = response[header]
        return shaped

"""A small exception hierarchy and the one place that turns every error into the fleet envelope."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pfms_platform.envelope import Meta, meta


class AppError(Exception):
    """Raised by domain and route code; the handler renders it as the error envelope."""

    status_code = 400
    code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or ([{"field": field, "message": message}] if field else [])
        self.headers = headers
        if code:
            self.code = code


class Invalid(AppError):
    status_code = 422
    code = "VALIDATION_ERROR"


class Unauthorized(AppError):
    status_code = 401
    code = "UNAUTHORIZED"

    def __init__(self, message: str = "Authentication required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(AppError):
    status_code = 403
    code = "FORBIDDEN"


class NotFound(AppError):
    status_code = 404
    code = "NOT_FOUND"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"


class TooManyRequests(AppError):
    status_code = 429
    code = "RATE_LIMITED"


_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "UNAVAILABLE",
}


def error_body(
    status: int, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code or _CODES.get(status, "ERROR"), "message": message, "details": details or []},
        "meta": meta(),
    }


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code=code, details=details), status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in errors]


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.message, code=exc.code, details=exc.details, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(
            400,
            "Malformed JSON body",
            code="MALFORMED_JSON",
            details=[{"field": "body", "message": "body is not valid JSON"}],
        )
    details = validation_details(errors)
    first = details[0]["field"] if details else "body"
    return error_response(422, f"Invalid value for '{first}'", details=details)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    return error_response(status, message, headers=getattr(exc, "headers", None))


REFUSED_TEXT = frozenset({"22021", "22P05"})
"""PostgreSQL's character_not_in_repertoire and untranslatable_character: text it cannot store (a NUL)."""


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """Text PostgreSQL cannot store is the caller's input, wherever it was written or compared: a 422,
    not a 500 (fuzzing found a NUL in names and query strings failing that way across services).
    Any other database error stays unexpected (re-raised: logged, 500)."""
    assert isinstance(exc, DBAPIError)
    if getattr(exc.orig, "sqlstate", None) not in REFUSED_TEXT:
        raise exc
    return error_response(422, "Text may not contain NUL (\\u0000) characters")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorEnvelope(BaseModel):
    success: bool = False
    error: ErrorInfo
    meta: Meta


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": HTTPStatus(status).phrase, "model": ErrorEnvelope} for status in (400, 401, 404, 422, 429)
}

WRITES = frozenset({"post", "put", "patch", "delete"})
WRITE_CONFLICT: dict[str, Any] = {
    "description": "Conflicts with the current state (a name or key taken, an object past that step)"
}


def document_write_conflicts(app: FastAPI) -> None:
    """List 409 on every write operation that does not describe its own. A write may meet the state it
    would break, and the domain raises `Conflict` from deep inside (a unique name, a settled loan); fuzzing
    found such 409s undocumented in several services. Done on the generated document, since FastAPI
    includes routers lazily."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                if method in WRITES:
                    operation.setdefault("responses", {}).setdefault("409", WRITE_CONFLICT)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

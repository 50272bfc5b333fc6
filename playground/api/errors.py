"""Errors of the served API, in OpenAI's error JSON, and which HTTP status each failed run gets.

Shape: `{"error": {"message", "type", "param", "code"}}`, with OpenAI's types `invalid_request_error`
(400, 401, 404), `rate_limit_error` (429) and `server_error` (5xx)
(platform.openai.com/docs/guides/error-codes; openai-python maps 400/401/404/429/≥500 to
BadRequestError, AuthenticationError, NotFoundError, RateLimitError and InternalServerError).
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from playground import errors as pe
from playground.api.schemas import ErrorBody, ErrorResponse
from playground.records import RunRecord

log = logging.getLogger(__name__)
_NAMED = re.compile(r"^([a-z_]+): ")

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


class ApiError(Exception):
    """An answer other than 200, with OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorResponse(error=ErrorBody(message=message, type=type, param=param, code=code))
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body.model_dump(), status_code=self.status, headers=self.headers)


# A failed run's error kind → (status, OpenAI type). The client's own mistakes are 4xx; what went wrong
# behind the served pane is the server's: 5xx, so a client is never told that its own key or model name is
# wrong when the pane's are. 500: the pane's model cannot run (missing, failed to load); 502: the server
# behind the pane failed or answered badly; 504: it did not answer in time. Upstream 429 and 503 pass on.
_RUN_STATUS: dict[str, tuple[int, str]] = {
    pe.InputError.error_type: (400, INVALID_REQUEST),
    pe.InvalidRequest.error_type: (400, INVALID_REQUEST),
    pe.UnsupportedParameter.error_type: (400, INVALID_REQUEST),
    pe.RateLimited.error_type: (429, "rate_limit_error"),
    pe.BackendTimeout.error_type: (504, SERVER_ERROR),
    pe.ModelLoadError.error_type: (500, SERVER_ERROR),
    pe.BackendUnreachable.error_type: (502, SERVER_ERROR),
    pe.ConnectionLost.error_type: (502, SERVER_ERROR),
    pe.StreamTruncated.error_type: (502, SERVER_ERROR),
    pe.MalformedResponse.error_type: (502, SERVER_ERROR),
    pe.GenerationFailed.error_type: (502, SERVER_ERROR),
    pe.AuthenticationFailed.error_type: (502, SERVER_ERROR),
    pe.MissingApiKey.error_type: (502, SERVER_ERROR),
    pe.ModelNotFound.error_type: (500, SERVER_ERROR),
    pe.EndpointNotFound.error_type: (502, SERVER_ERROR),
    pe.ServerError.error_type: (502, SERVER_ERROR),
}
# Kinds the run log counts as errors but that are answers for an API client: an empty answer, or one whose
# whole budget went to reasoning, is a 200 with empty content, as OpenAI answers it (finish_reason tells which).
ANSWERED_KINDS = frozenset({pe.EmptyAnswer.error_type, pe.ReasoningExhausted.error_type})


def run_error(record: RunRecord) -> ApiError:
    """The HTTP answer for a run that failed before any text went to the client."""
    if record.status == "cancelled":
        return ApiError(
            503, "the run was stopped before it answered (the server is shutting down).", SERVER_ERROR, code="cancelled"
        )
    status, kind = _RUN_STATUS.get(record.error_type or "", (500, SERVER_ERROR))
    if status == 502 and record.http_status == 503:
        status = 503  # an upstream that is busy is busy for this client too
    headers = {"retry-after": "1"} if status in (429, 503) else None
    return ApiError(status, record.error_message or "the run failed.", kind, code=record.error_type, headers=headers)


def install_handlers(app: FastAPI) -> None:
    """Every answer other than 200 in OpenAI's error shape, never a stack trace."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else None
        message = f"{request.method} {request.url.path}: {exc.detail}"
        return ApiError(exc.status_code, message, INVALID_REQUEST, code=code).response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error serving %s", request.url.path)
        return ApiError(500, f"unexpected {exc.__class__.__name__} in the server.", SERVER_ERROR).response()


def validation_error(exc: RequestValidationError) -> ApiError:
    """400 naming the first offending field, as OpenAI's `param` does."""
    problems = exc.errors()
    first = problems[0] if problems else {}
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(location) or None
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        message, param = "the request body is not valid JSON.", None
    elif param is None and (named := _NAMED.match(message)):
        param = named.group(1)  # a whole-request check names its field first ("n: only one choice ...")
    elif param and not message.startswith(param.split(".")[0] + ":"):
        message = f"{param}: {message}"
    return ApiError(400, message, INVALID_REQUEST, param=param, code="invalid_value")

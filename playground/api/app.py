"""The served API: one configured pane behind OpenAI's Chat Completions endpoints.

`build_api` takes everything it uses (the pane, the runner that logs to the run store, the key, the
queue bound) and returns a FastAPI app; it keeps no state outside the app it returns.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from playground.api.errors import ANSWERED_KINDS, SERVER_ERROR, ApiError, install_handlers, run_error
from playground.api.runs import SESSION_ID, Admission, ServedRun, has_output, is_done
from playground.api.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    CompletionUsage,
    Delta,
    ModelCard,
    ModelList,
)
from playground.errors import PlaygroundError
from playground.panes import Pane
from playground.records import RunRecord
from playground.runner import FanOutRunner, PaneJob, Snapshot

DEFAULT_MAX_QUEUE = 8
# Server-sent events: each event is `data: <json>` and a blank line; the stream ends with `data: [DONE]`
# (platform.openai.com/docs/api-reference/chat/streaming; html.spec.whatwg.org/multipage/server-sent-events.html).
DONE_EVENT = b"data: [DONE]\n\n"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass(frozen=True)
class ApiSettings:
    # The bearer key clients must send; None: no key asked. Held only in memory, never logged.
    api_key: str | None = None
    # Requests that may wait beyond those the backend runs at once; more get 503.
    max_queue: int = DEFAULT_MAX_QUEUE


def pane_health(pane: Pane) -> tuple[dict[str, str], int]:
    """/health's body and status: 200 when the pane looks ready, else 503 with the reason it cannot run now."""
    problem = pane.backend.check()
    body = {"status": "ok" if problem is None else "unavailable", "pane": pane.name, "model": pane.backend.model}
    return (body, 200) if problem is None else (body | {"reason": problem}, 503)


def build_api(pane: Pane, runner: FanOutRunner, settings: ApiSettings | None = None) -> FastAPI:
    """An OpenAI-compatible app serving `pane`; every request is a run of `runner` with session `api`.

    The request's `model` must name the pane or the pane's model id; answers name the pane.
    """
    settings = settings or ApiSettings()
    admission = Admission(pane, settings.max_queue)
    created = int(time.time())
    app = FastAPI(title=f"playground: {pane.name}", docs_url=None, redoc_url=None, openapi_url=None)
    install_handlers(app)
    app.state.admission = admission
    authorized = Depends(_key_check(settings.api_key))

    @app.get("/health")
    async def health() -> JSONResponse:
        body, status = pane_health(pane)
        return JSONResponse(body, status_code=status)

    @app.get("/v1/models", dependencies=[authorized])
    async def models() -> ModelList:
        return ModelList(data=[ModelCard(id=pane.name, created=created)])

    @app.post("/v1/chat/completions", dependencies=[authorized], response_model=None)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> JSONResponse | StreamingResponse:
        if body.model not in (pane.name, pane.backend.model):
            raise ApiError(
                404,
                f"The model {body.model!r} does not exist here: this server serves {pane.name!r} (GET /v1/models).",
                param="model",
                code="model_not_found",
            )
        job = _job(pane, body)
        if not admission.try_enter():
            raise ApiError(
                503,
                f"{pane.name!r} is busy: {admission.capacity} requests are already running or waiting; try again shortly.",
                SERVER_ERROR,
                code="queue_full",
                headers={"retry-after": "1"},
            )
        run = ServedRun(runner, job, admission.leave)
        answer = Answer(pane.name, body)
        if not body.stream:
            return answer.complete(await _settled(run, request, is_done))
        first = await _settled(run, request, has_output)
        # After the stream, ended or cut by the client: a run still going is stopped (Starlette runs the
        # background task in both cases).
        return StreamingResponse(
            answer.events(run, first),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
            background=BackgroundTask(run.stop_unless_ended),
        )

    return app


def _key_check(api_key: str | None):
    expected = api_key.encode() if api_key else None

    async def check(request: Request) -> None:
        if expected is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            # OpenAI answers a wrong key with 401, type invalid_request_error, code invalid_api_key.
            raise ApiError(
                401,
                "Incorrect or missing API key: send it as 'Authorization: Bearer <key>'.",
                code="invalid_api_key",
                headers={"www-authenticate": "Bearer"},
            )

    return check


def _job(pane: Pane, body: ChatCompletionRequest) -> PaneJob:
    system, history, prompt = body.conversation()
    try:
        request = pane.build_request(
            prompt,
            history=history,
            mode="stream" if body.stream else "non-stream",
            params=body.params_over(pane.config.params),
            system=system,
        )
    except PlaygroundError as exc:
        raise ApiError(400, exc.message, param="messages", code=exc.error_type) from None
    turn = sum(1 for m in request.messages if m.role == "user")
    return PaneJob(pane, request, session_id=SESSION_ID, turn=turn)


async def _until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _settled(run: ServedRun, request: Request, ready) -> Snapshot:
    """Wait for the run to reach `ready`; a run that failed before any output answers with its error."""
    snapshot = await run.until(ready, _until_disconnected(request))
    if snapshot is None:
        # The client has gone: nobody reads this answer (nginx's 499, "client closed request").
        raise ApiError(499, "the client closed the request; the run was stopped.", code="cancelled")
    record = snapshot.record
    failed = record is not None and record.status != "ok" and record.error_type not in ANSWERED_KINDS
    # A stream that has text to give sends it, then the error as its last event.
    if failed and not (run.handle.job.request.stream and record.partial):
        raise run_error(record)
    return snapshot


class Answer:
    """The OpenAI-shaped answer to one request: the whole completion, or its stream of chunks."""

    def __init__(self, model: str, body: ChatCompletionRequest) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.include_usage = body.include_usage

    def complete(self, snapshot: Snapshot) -> JSONResponse:
        record = snapshot.record
        assert record is not None
        message = AssistantMessage(content=record.response_text, reasoning_content=record.reasoning_text or None)
        completion = ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[Choice(message=message, finish_reason=_finish_reason(record))],
            usage=_usage(record),
        )
        return JSONResponse(completion.model_dump())

    async def events(self, run: ServedRun, snapshot: Snapshot) -> AsyncIterator[bytes]:
        """SSE chunks as the text grows; a client that leaves (the task is cancelled) stops the run."""
        finished = False
        sent_text = sent_reasoning = 0
        try:
            first = True
            while True:
                text, reasoning = snapshot.text[sent_text:], snapshot.reasoning[sent_reasoning:]
                if text or reasoning or first:
                    yield self.chunk(
                        Delta(role="assistant" if first else None, content=text, reasoning_content=reasoning or None)
                    )
                    sent_text, sent_reasoning, first = len(snapshot.text), len(snapshot.reasoning), False
                if snapshot.record is not None:
                    break
                snapshot = await run.next()
            yield last_chunk(self, snapshot.record)
            if self.include_usage and snapshot.record.status == "ok":
                yield self.chunk(None, usage=_usage(snapshot.record))
            yield DONE_EVENT
            finished = True
        finally:
            if not finished:
                run.cancel()

    def chunk(self, delta: Delta | None, finish_reason: str | None = None, usage: CompletionUsage | None = None) -> bytes:
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish_reason)]
        chunk = ChatCompletionChunk(id=self.id, created=self.created, model=self.model, choices=choices, usage=usage)
        payload = chunk.model_dump(exclude={"usage"} if not self.include_usage else set())
        return b"data: " + _json(payload) + b"\n\n"


def last_chunk(answer: Answer, record: RunRecord) -> bytes:
    """The stream's last chunk: the finish reason, or the error that ended the run mid-answer.

    A failure after the answer began is sent as an `error` event, which openai-python raises as `APIError`
    (openai/_streaming.py reads `data: {"error": ...}`).
    """
    if record.status == "ok" or record.error_type in ANSWERED_KINDS:
        return answer.chunk(Delta(), finish_reason=_finish_reason(record))
    error = run_error(record)
    return b"data: " + _json(error.body.model_dump()) + b"\n\n"


def _finish_reason(record: RunRecord) -> str:
    return record.finish_reason or "stop"


def _usage(record: RunRecord) -> CompletionUsage:
    prompt, completion = record.input_tokens or 0, record.output_tokens or 0
    details = {"reasoning_tokens": record.reasoning_tokens} if record.reasoning_tokens else None
    return CompletionUsage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion, completion_tokens_details=details
    )


def _json(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

"""A local model run in-process with transformers `generate` (hub id or local folder).

Streaming runs `generate` in a worker thread that pushes token ids into a queue; this
generator decodes them incrementally. Token counts are exact (generated ids).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from playground.backends.base import (
    Backend,
    BackendEvent,
    ChatRequest,
    Finish,
    GenerationParams,
    ReasoningDelta,
    RequestSent,
    TextDelta,
    Usage,
)
from playground.backends.local_models import IncrementalDetokenizer, LoadedModel, LocalModelCache, local_model_problem
from playground.backends.reasoning import OPEN_TAG, ThinkSplitter, split_complete
from playground.errors import BackendError, InvalidRequest, ModelLoadError

_DONE = object()
DEFAULT_MAX_TOKENS = 512


class TransformersOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    device: str = Field(default="auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")
    torch_threads: int | None = Field(default=None, ge=1, le=256)
    # Static KV cache + torch.compile of the forward pass (CUDA graphs on CUDA). The first runs
    # for each new sequence length compile (slow); later ones are much faster on a GPU.
    compile: bool = False


class TransformersBackend(Backend):
    kind: ClassVar[str] = "transformers"
    # One generation at a time on a local device; more would only queue on the model lock.
    max_concurrency: ClassVar[int | None] = 1
    loads_weights: ClassVar[bool] = True
    Options = TransformersOptions

    def __init__(self, model: str, options: TransformersOptions, context: Any) -> None:
        super().__init__(model, options, context)
        self._cache: LocalModelCache = context.shared("transformers.models", LocalModelCache)

    def prepare(self) -> None:
        self._load()

    def check(self) -> str | None:
        return local_model_problem(self._model)

    def loaded_model(self) -> LoadedModel:
        """The model and tokenizer this pane generates with (loaded on first use, shared by panes alike)."""
        return self._load()[0]

    def _load(self) -> tuple[LoadedModel, bool]:
        return self._cache.get(self._model, self.options.device, self.options.dtype, self.options.torch_threads)

    def stream(self, request: ChatRequest) -> Iterator[BackendEvent]:
        loaded, cold = self._load()
        while not loaded.lock.acquire(timeout=0.05):
            if request.stop.is_set():
                return
        try:
            inputs, starts_in_reasoning = _encode(loaded, request)
            kwargs = generation_kwargs(request.params, loaded, compiled=self.options.compile)
            yield RequestSent(params=_shown(kwargs), cold_start=cold)
            if request.stream:
                yield from self._stream(loaded, request, inputs, kwargs, starts_in_reasoning)
            else:
                yield from self._complete(loaded, request, inputs, kwargs, starts_in_reasoning)
        finally:
            loaded.lock.release()

    def _generate(self, loaded: LoadedModel, request: ChatRequest, inputs, kwargs, streamer=None):
        import torch
        from transformers import StoppingCriteriaList

        seed = request.params.seed
        if seed is not None:
            torch.manual_seed(seed)
        criteria = StoppingCriteriaList([_StopOnSignal(request.stop)])
        try:
            with torch.inference_mode():
                return loaded.model.generate(**inputs, **kwargs, streamer=streamer, stopping_criteria=criteria)
        except torch.OutOfMemoryError:
            raise ModelLoadError(
                f"out of memory generating with {self._model!r} — lower max_tokens or use a smaller model."
            ) from None

    def _stream(self, loaded: LoadedModel, request: ChatRequest, inputs, kwargs, starts_in_reasoning) -> Iterator[BackendEvent]:
        tokens: queue.SimpleQueue = queue.SimpleQueue()
        streamer = _TokenQueue(tokens)
        worker = threading.Thread(
            target=self._generate_into, args=(loaded, request, inputs, kwargs, streamer, tokens), daemon=True
        )
        worker.start()
        detokenizer = IncrementalDetokenizer(loaded.tokenizer, _hidden_ids(loaded.tokenizer))
        # The prompt was rendered here, so whether it opened a think block is known.
        splitter = ThinkSplitter(starts_in_reasoning, prompt_known=True)
        generated = 0
        reasoning: list[str] = []
        try:
            for batch in _drained(tokens):
                generated += len(batch)
                yield from _noting_reasoning(splitter.feed(detokenizer.add(batch)) or [TextDelta("")], reasoning)
            yield from _noting_reasoning([*splitter.feed(detokenizer.flush()), *splitter.flush()], reasoning)
            yield _usage(loaded, inputs, generated, "".join(reasoning))
            yield Finish(_finish_reason(generated, kwargs))
        finally:
            if worker.is_alive():
                # The consumer left early (stop or error): end generate at its next step.
                request.stop.set()
            worker.join()

    def _generate_into(self, loaded, request, inputs, kwargs, streamer, tokens: queue.SimpleQueue) -> None:
        try:
            self._generate(loaded, request, inputs, kwargs, streamer)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
            tokens.put(
                exc if isinstance(exc, BackendError) else BackendError(f"generation failed: {exc.__class__.__name__}: {exc}")
            )
        finally:
            tokens.put(_DONE)

    def _complete(self, loaded: LoadedModel, request: ChatRequest, inputs, kwargs, starts_in_reasoning) -> Iterator[BackendEvent]:
        output = self._generate(loaded, request, inputs, kwargs)
        new_ids = output[0, inputs["input_ids"].shape[1] :].tolist()
        hidden = _hidden_ids(loaded.tokenizer)
        text = loaded.tokenizer.decode([i for i in new_ids if i not in hidden], skip_special_tokens=False)
        answer, reasoning = split_complete(text, starts_in_reasoning, prompt_known=True)
        if reasoning:
            yield ReasoningDelta(reasoning)
        yield TextDelta(answer)
        yield _usage(loaded, inputs, len(new_ids), reasoning)
        yield Finish(_finish_reason(len(new_ids), kwargs))


def _noting_reasoning(events: list[TextDelta | ReasoningDelta], reasoning: list[str]) -> list[TextDelta | ReasoningDelta]:
    """Pass `events` on, keeping their reasoning text (it is counted with the model's tokenizer)."""
    reasoning += [event.text for event in events if isinstance(event, ReasoningDelta)]
    return events


def _usage(loaded: LoadedModel, inputs: dict[str, Any], generated: int, reasoning: str) -> Usage:
    reasoning_tokens = len(loaded.tokenizer.encode(reasoning, add_special_tokens=False)) if reasoning else None
    return Usage(
        input_tokens=int(inputs["input_ids"].shape[1]),
        output_tokens=generated,
        reasoning_tokens=reasoning_tokens,
        source="tokenizer",
    )


def _finish_reason(generated: int, kwargs: dict[str, Any]) -> str:
    return "length" if generated >= kwargs["max_new_tokens"] else "stop"


def _encode(loaded: LoadedModel, request: ChatRequest) -> tuple[dict[str, Any], bool]:
    tokenizer = loaded.tokenizer
    messages = [m.as_dict() for m in request.messages]
    # Qwen3-style templates read `enable_thinking`; other templates ignore unknown variables.
    template_vars = {} if request.params.thinking is None else {"enable_thinking": request.params.thinking != "off"}
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **template_vars)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(loaded.device)
    context = getattr(loaded.model.config, "max_position_embeddings", None)
    length = int(inputs["input_ids"].shape[1])
    if context is not None and length >= context:
        raise InvalidRequest(f"the conversation is {length:,} tokens; the model takes at most {context:,}: shorten it or Clear.")
    # Some templates (R1 distills) open the think block in the prompt itself.
    return dict(inputs), prompt.rstrip().endswith(OPEN_TAG)


def generation_kwargs(params: GenerationParams, loaded: LoadedModel, compiled: bool = False) -> dict[str, Any]:
    """Map pane parameters to `generate` arguments; temperature 0 means greedy."""
    kwargs: dict[str, Any] = {"max_new_tokens": params.max_tokens or DEFAULT_MAX_TOKENS}
    if compiled:
        kwargs.update(_compile_kwargs(loaded.device))
    if params.temperature == 0:
        kwargs["do_sample"] = False
    elif params.temperature is not None or params.top_p is not None or params.top_k is not None:
        kwargs["do_sample"] = True
    if params.temperature:
        kwargs["temperature"] = params.temperature
    if params.top_p is not None:
        kwargs["top_p"] = params.top_p
    if params.top_k is not None:
        kwargs["top_k"] = params.top_k
    if params.repetition_penalty is not None:
        kwargs["repetition_penalty"] = params.repetition_penalty
    if params.min_p is not None:
        kwargs["min_p"] = params.min_p
    pad = loaded.tokenizer.pad_token_id
    if pad is not None:
        kwargs["pad_token_id"] = pad
    return kwargs


def _compile_kwargs(device: str) -> dict[str, Any]:
    from transformers import CompileConfig

    on_cuda = device.startswith("cuda")
    config = CompileConfig(fullgraph=True, mode="reduce-overhead" if on_cuda else "default")
    # transformers compiles by itself only on accelerators; the option asks for it everywhere.
    config._compile_all_devices = True
    return {"cache_implementation": "static", "compile_config": config}


def _shown(kwargs: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in kwargs.items() if k not in ("pad_token_id", "compile_config")}
    if "compile_config" in kwargs:
        shown["compile"] = True
    return shown


def _hidden_ids(tokenizer: Any) -> set[int]:
    """Special tokens not shown as text (end, padding); think tags stay visible to the splitter."""
    visible = {tokenizer.convert_tokens_to_ids(tag) for tag in ("<think>", "</think>")}
    return set(tokenizer.all_special_ids) - visible


def _drained(tokens: queue.SimpleQueue) -> Iterator[list[int]]:
    """Token ids as they come, taking everything already queued at each wake.

    Waking once per token costs the generating thread the GIL on every step (~14 % of the
    tiny model's speed here); taking what is queued costs nothing and loses no token.
    """
    while True:
        batch: list[int] = []
        item = tokens.get()
        while True:
            if item is _DONE:
                if batch:
                    yield batch
                return
            if isinstance(item, BaseException):
                raise item
            batch += item
            try:
                item = tokens.get_nowait()
            except queue.Empty:
                break
        yield batch


class _TokenQueue:
    """A `generate` streamer that passes new token ids on; the first call carries the prompt."""

    def __init__(self, tokens: queue.SimpleQueue) -> None:
        self._tokens = tokens
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._tokens.put(value.reshape(-1).tolist())

    def end(self) -> None:
        return None


class _StopOnSignal:
    """Ends `generate` at the next decode step once the run's stop signal is set."""

    def __init__(self, signal) -> None:
        self._signal = signal
        # Answers are reused: allocating a tensor on every decode step cost ~7 % of a tiny model's speed.
        self._answers: dict[bool, Any] = {}

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        stop = self._signal.is_set()
        answer = self._answers.get(stop)
        if answer is None or answer.shape[0] != input_ids.shape[0]:
            answer = torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)
            self._answers[stop] = answer
        return answer

"""Per-pane settings: the controls in each pane's accordion and their validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from pydantic import ValidationError

from playground.backends.base import GenerationParams, Mode
from playground.errors import InputError
from playground.panes import Pane

PARAM_FIELDS = ("temperature", "top_p", "top_k", "max_tokens", "repetition_penalty", "seed")
# The order of a pane's setting values as event inputs.
SETTING_FIELDS = ("model", *PARAM_FIELDS, "system", "stream")
COPYABLE_FIELDS = (*PARAM_FIELDS, "system", "stream")


@dataclass(frozen=True)
class PaneSettings:
    model: str
    params: GenerationParams
    system: str | None
    mode: Mode


@dataclass
class PaneControls:
    components: dict[str, gr.components.Component]
    copy_button: gr.Button

    def inputs(self) -> list[gr.components.Component]:
        return [self.components[name] for name in SETTING_FIELDS]

    def copyable(self) -> list[gr.components.Component]:
        return [self.components[name] for name in COPYABLE_FIELDS]


def _number(label: str, value: Any, index: int, name: str, precision: int | None = None, **limits: Any) -> gr.Number:
    return gr.Number(value=value, label=label, precision=precision, elem_id=f"pane-{index}-{name}", **limits)


def build_controls(pane: Pane, index: int) -> PaneControls:
    """Render the settings accordion of one pane (inside the current Blocks context)."""
    params = pane.config.params
    choices = pane.backend.model_choices()
    if pane.config.model not in choices:
        choices = [pane.config.model, *choices]
    with gr.Accordion("Settings", open=False, elem_id=f"pane-{index}-settings"):
        components: dict[str, gr.components.Component] = {
            "model": gr.Dropdown(
                choices=choices, value=pane.config.model, allow_custom_value=True, label="model", elem_id=f"pane-{index}-model"
            ),
        }
        with gr.Row():
            components["temperature"] = _number(
                "temperature (blank: default)", params.temperature, index, "temperature", minimum=0, maximum=2
            )
            components["top_p"] = _number("top_p", params.top_p, index, "top_p", minimum=0, maximum=1)
            components["top_k"] = _number("top_k", params.top_k, index, "top_k", precision=0, minimum=0)
        with gr.Row():
            components["max_tokens"] = _number("max_tokens", params.max_tokens, index, "max_tokens", precision=0, minimum=1)
            components["repetition_penalty"] = _number(
                "repetition_penalty", params.repetition_penalty, index, "repetition_penalty"
            )
            components["seed"] = _number("seed", params.seed, index, "seed", precision=0)
        components["system"] = gr.Textbox(
            value=pane.config.system or "", label="system prompt", lines=2, elem_id=f"pane-{index}-system"
        )
        components["stream"] = gr.Checkbox(value=pane.config.mode == "stream", label="stream", elem_id=f"pane-{index}-stream")
        copy_button = gr.Button("Copy these settings to all panes", size="sm", elem_id=f"pane-{index}-copy")
    return PaneControls(components, copy_button)


def parse_settings(pane_name: str, values: Any) -> PaneSettings:
    """Turn one pane's control values into validated settings; errors name the pane and the field."""
    named = dict(zip(SETTING_FIELDS, values, strict=True))
    raw = {name: named[name] for name in PARAM_FIELDS if named[name] not in (None, "")}
    for name in ("top_k", "max_tokens", "seed"):
        if name in raw and float(raw[name]).is_integer():
            raw[name] = int(raw[name])
    try:
        params = GenerationParams.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise InputError(f"{pane_name}: {field}: {error['msg']}.") from None
    model = str(named["model"] or "").strip()
    if not model:
        raise InputError(f"{pane_name}: the model is empty.")
    system = str(named["system"] or "").strip() or None
    return PaneSettings(model=model, params=params, system=system, mode="stream" if named["stream"] else "non-stream")

"""Per-pane settings: the controls in each pane's accordion and their validation.

The generation parameters are read from `GenerationParams` itself, so a parameter added there
appears in every pane without touching this module: a number box for numbers, a list for a
fixed set of choices. An unset parameter looks unset: an empty box, or the choice "default".
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import gradio as gr
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from playground.backends.base import GenerationParams, Mode
from playground.errors import InputError
from playground.panes import Pane

PARAM_FIELDS: tuple[str, ...] = tuple(GenerationParams.model_fields)
# The order of a pane's setting values as event inputs (and in the page's API).
SETTING_FIELDS = ("model", *PARAM_FIELDS, "system", "stream")
COPYABLE_FIELDS = (*PARAM_FIELDS, "system", "stream")
# What an unset parameter shows: the placeholder of an empty box, the first entry of a list.
UNSET = "default"
PARAMS_PER_ROW = 2


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

    @property
    def model(self) -> gr.components.Component:
        return self.components["model"]

    def unset_numbers(self) -> list[gr.Number]:
        """Number boxes built without a value. Gradio's box shows, and then sends, 0 for a value it was
        built with as None, but keeps a None set by an event empty: the page sets these on load."""
        return [c for c in self.components.values() if isinstance(c, gr.Number) and c.value is None]


def _value_types(field: FieldInfo) -> tuple[Any, ...]:
    """The types a field accepts, without None (`float | None` → (float,))."""
    annotation = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(arg for arg in get_args(annotation) if arg is not type(None))
    return (annotation,)


def choices_of(name: str) -> tuple[str, ...] | None:
    """The allowed values of a parameter with a fixed set of them; None for a number."""
    (kind, *_) = _value_types(GenerationParams.model_fields[name])
    return get_args(kind) if get_origin(kind) is Literal else None


def _is_integer(name: str) -> bool:
    return _value_types(GenerationParams.model_fields[name]) == (int,)


def _param_control(name: str, value: Any, elem_id: str) -> gr.components.Component:
    choices = choices_of(name)
    if choices is not None:
        return gr.Dropdown(choices=[UNSET, *choices], value=shown_value(name, value), label=name, elem_id=elem_id)
    if _value_types(GenerationParams.model_fields[name]) not in ((int,), (float,)):
        raise TypeError(f"GenerationParams.{name}: no settings control for {GenerationParams.model_fields[name].annotation}")
    integer = _is_integer(name)
    # No minimum/maximum here: GenerationParams checks the range, with a message naming the pane.
    return gr.Number(
        value=value, label=name, placeholder=UNSET, precision=0 if integer else None, step=1 if integer else 0.05, elem_id=elem_id
    )


def shown_value(name: str, value: Any) -> Any:
    """What a control shows for a parameter's value (None: unset)."""
    return UNSET if value is None and choices_of(name) is not None else value


def setting_values(model: str, params: GenerationParams, system: str | None, stream: bool) -> list[Any]:
    """One pane's values in SETTING_FIELDS order, as its controls show them and the page's API takes them."""
    return [model, *(shown_value(name, getattr(params, name)) for name in PARAM_FIELDS), system or "", stream]


def build_controls(pane: Pane, index: int) -> PaneControls:
    """Render the settings accordion of one pane (inside the current Blocks context)."""
    params = pane.config.params
    # The server's own list comes as the page opens (`model_choices`), not while the page starts.
    choices = [pane.config.model]
    with gr.Accordion("Settings", open=False, elem_id=f"pane-{index}-settings"):
        components: dict[str, gr.components.Component] = {
            "model": gr.Dropdown(
                choices=choices, value=pane.config.model, allow_custom_value=True, label="model", elem_id=f"pane-{index}-model"
            ),
        }
        for start in range(0, len(PARAM_FIELDS), PARAMS_PER_ROW):
            with gr.Row():
                for name in PARAM_FIELDS[start : start + PARAMS_PER_ROW]:
                    components[name] = _param_control(name, getattr(params, name), f"pane-{index}-{name}")
        components["system"] = gr.Textbox(
            value=pane.config.system or "", label="system prompt", lines=2, elem_id=f"pane-{index}-system"
        )
        components["stream"] = gr.Checkbox(value=pane.config.mode == "stream", label="stream", elem_id=f"pane-{index}-stream")
        copy_button = gr.Button("Copy these settings to all panes", size="sm", elem_id=f"pane-{index}-copy")
    return PaneControls(components, copy_button)


def model_choices(panes: Sequence[Pane]) -> list[dict[str, Any]]:
    """Each pane's model picker filled with the models its server offers (the configured one first)."""
    updates = []
    for pane in panes:
        offered = pane.backend.model_choices()
        choices = offered if pane.config.model in offered else [pane.config.model, *offered]
        updates.append(gr.update(choices=choices))
    return updates


def parse_settings(pane_name: str, values: Any) -> PaneSettings:
    """Turn one pane's control values into validated settings; errors name the pane and the field."""
    named = dict(zip(SETTING_FIELDS, values, strict=True))
    raw = {name: named[name] for name in PARAM_FIELDS if named[name] not in (None, "", UNSET)}
    for name, value in raw.items():
        # Number boxes send floats; 12.0 is the integer 12, 12.5 is left for validation to refuse.
        if _is_integer(name) and isinstance(value, float) and value.is_integer():
            raw[name] = int(value)
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

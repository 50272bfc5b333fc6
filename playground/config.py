"""YAML configuration, validated with pydantic. Every error names the file, the field and the fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from playground.backends import BACKENDS, backend_class
from playground.backends.base import GenerationParams, Mode
from playground.errors import ConfigError

MAX_PANES = 6
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_LIKE = re.compile(r"^(sk-|sk_|Bearer\s)|^[A-Za-z0-9_\-]{32,}$")


class Price(BaseModel):
    """USD per one million tokens."""

    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0)
    output: float = Field(ge=0)


class PaneConfig(BaseModel):
    """Fields every pane has; backend-specific fields are checked by the backend's Options."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=40)
    backend: str
    model: str = Field(min_length=1)
    mode: Mode = "stream"
    system: str | None = None
    params: GenerationParams = GenerationParams()

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r}; use one of: {', '.join(BACKENDS)}")
        return value

    def backend_options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PlaygroundConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str | None = None
    panes: list[PaneConfig] = Field(min_length=1, max_length=MAX_PANES)
    prices: dict[str, Price] = {}
    source: str = Field(default="<memory>", exclude=True)

    @field_validator("panes")
    @classmethod
    def _unique_names(cls, panes: list[PaneConfig]) -> list[PaneConfig]:
        seen: set[str] = set()
        for pane in panes:
            if pane.name in seen:
                raise ValueError(f"pane name {pane.name!r} is used twice; give each pane its own name")
            seen.add(pane.name)
        return panes

    def price_for(self, model: str) -> Price | None:
        return self.prices.get(model)


def load_config(path: str | Path) -> PlaygroundConfig:
    """Read and validate a YAML config; raise `ConfigError` naming file, field and fix."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found. Fix: pass an existing file with --config.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the file ({exc.__class__.__name__}). Fix: check its permissions and encoding."
        ) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(f"{path}: invalid YAML{line}. Fix: correct the syntax there.") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with a 'panes' list. Fix: see configs/default.yaml.")
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], source: str = "<memory>") -> PlaygroundConfig:
    _refuse_key_literals(raw, source)
    try:
        config = PlaygroundConfig.model_validate({**raw, "source": source})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    for index, pane in enumerate(config.panes):
        _check_backend_options(pane, index, source)
    return config


def _check_backend_options(pane: PaneConfig, index: int, source: str) -> None:
    options_model = backend_class(pane.backend).Options
    try:
        options_model.model_validate(pane.backend_options())
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source, prefix=f"panes[{index}]", options=options_model)) from None


def _refuse_key_literals(raw: Any, source: str, where: str = "") -> None:
    if isinstance(raw, dict):
        for key, value in raw.items():
            field = f"{where}.{key}" if where else str(key)
            if key in {"api_key", "key", "token", "password", "secret"}:
                raise ConfigError(
                    f"{source}: {field}: secrets are not accepted in a config file. "
                    "Fix: export the key in an environment variable and name it with api_key_env."
                )
            if key == "api_key_env" and isinstance(value, str) and not _ENV_NAME.match(value):
                raise ConfigError(
                    f"{source}: {field}: must name an environment variable (like DEEPSEEK_API_KEY), "
                    "not hold the key itself. Fix: export the key and put the variable's name here."
                )
            _refuse_key_literals(value, source, field)
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            _refuse_key_literals(value, source, f"{where}[{index}]")
    elif isinstance(raw, str) and where.rsplit(".", 1)[-1] not in {"model", "name", "system"} and _KEY_LIKE.match(raw):
        raise ConfigError(
            f"{source}: {where}: looks like an API key. Fix: keys come only from environment "
            "variables; name the variable with api_key_env."
        )


def _describe(exc: ValidationError, source: str, prefix: str = "", options: type[BaseModel] | None = None) -> str:
    problems = []
    for error in exc.errors():
        location = _location(error["loc"], prefix)
        problems.append(f"{source}: {location}: {_fix_for(error, options)}")
    return "\n".join(problems)


def _location(loc: tuple[Any, ...], prefix: str) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _fix_for(error: dict[str, Any], options: type[BaseModel] | None) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        allowed = sorted(options.model_fields) if options else None
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"unknown field{hint}. Fix: remove it or correct its spelling."
    if kind == "missing":
        return "required field is missing. Fix: add it."
    got = error.get("input")
    shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
    return f"{message}{shown}. Fix: change the value to one that is allowed."

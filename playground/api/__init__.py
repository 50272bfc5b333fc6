"""A configured pane served as an OpenAI-compatible REST API (`llm-playground serve`)."""

from playground.api.app import ApiSettings, build_api

__all__ = ["ApiSettings", "build_api"]

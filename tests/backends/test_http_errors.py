"""One map from HTTP error answers to playground errors, as servers really word them."""

import datetime as dt

import pytest

from playground.backends.http_errors import HttpFailure, error_for_status, rejected_parameter
from playground.errors import parse_retry_after


def _error(status, detail="", body=None, headers=None, model="m"):
    return error_for_status(HttpFailure(status, "api.example.com", model, detail, body, headers or {}))


def test_a_404_for_the_path_is_told_from_a_404_for_the_model():
    path = _error(404, "Not Found", {"detail": "Not Found"})
    model = _error(404, "The model `m` does not exist.", {"code": "model_not_found"})
    assert (path.error_type, model.error_type) == ("bad_url", "model_not_found")
    assert "/v1" in path.message


def test_deepseek_unknown_model_400_is_model_not_found():
    body = {"message": "Model Not Exist", "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}
    error = _error(400, "Model Not Exist", body, model="deepseek-chat")
    assert error.error_type == "model_not_found" and error.http_status == 400


@pytest.mark.parametrize(
    ("status", "detail", "body", "name"),
    [
        (
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            {"param": "max_tokens", "code": "unsupported_parameter"},
            "max_tokens",
        ),
        (422, "Extra inputs are not permitted", {"detail": [{"loc": ["body", "top_k"], "type": "extra_forbidden"}]}, "top_k"),
        (400, "parameter.enable_thinking must be set to false for non-streaming calls", {"code": "invalid_parameter_error"},
         "enable_thinking"),
    ],
)
def test_a_refused_parameter_is_named_with_the_fix(status, detail, body, name):
    error = _error(status, detail, body)
    assert rejected_parameter(HttpFailure(status, "s", "m", detail, body)) == name
    assert error.error_type == "unsupported_param"
    assert repr(name) in error.message and "Fix: clear" in error.message


def test_status_request_id_and_retry_after_travel_with_the_error():
    error = _error(429, "slow down", headers={"retry-after-ms": "1500", "x-request-id": "req_1"})
    assert (error.error_type, error.http_status, error.request_id, error.retry_after_s) == ("rate_limit", 429, "req_1", 1.5)
    assert "retry after 1.5 s" in error.message


def test_retry_after_in_each_of_its_forms():
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Thu, 01 Jan 2026 12:00:30 GMT"}, now=now) == 30.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_503_says_busy_and_other_codes_keep_the_servers_words():
    assert "busy" in _error(503, "server busy, please try again.").message
    bad = _error(400, "messages must not be empty")
    assert bad.error_type == "bad_request" and "messages must not be empty" in bad.message


def test_a_conversation_over_the_context_is_not_a_refused_parameter():
    detail = "This model's maximum context length is 512 tokens. However, you requested 830 tokens"
    body = {"message": detail, "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}
    error = _error(400, detail, body)
    assert error.error_type == "bad_request" and "longer than model" in error.message


def test_llama_servers_own_context_overflow_is_recognised():
    detail = "request (1200 tokens) exceeds the available context size (1024 tokens), try increasing it"
    error = _error(400, detail, {"code": 400, "type": "exceed_context_size_error", "message": detail})
    assert error.error_type == "bad_request" and "longer than model" in error.message

"""Reading one request's timings out of vLLM's Prometheus histograms."""

from playground.backends.server_metrics import finished_since, one_request, parse_totals

EXPOSITION = """\
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="qwen"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="qwen"} 3.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="qwen"} 3.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="qwen"} 0.75
vllm:time_to_first_token_seconds_count{engine="0",model_name="other"} 9.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="other"} 9.0
vllm:e2e_request_latency_seconds_count{engine="0",model_name="qwen"} 3.0
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="qwen"} 6.0
vllm:num_requests_running{engine="0",model_name="qwen"} 1.0
"""


def test_sums_and_counts_are_read_for_the_model_only():
    totals = parse_totals(EXPOSITION, "qwen")
    assert totals[("vllm:time_to_first_token_seconds", "count")] == 3.0
    assert totals[("vllm:time_to_first_token_seconds", "sum")] == 0.75
    assert ("vllm:num_requests_running", "count") not in totals


def test_one_finished_request_gives_its_own_values_and_two_give_none():
    before = parse_totals(EXPOSITION, "qwen")
    after_one = dict(before)
    after_one[("vllm:time_to_first_token_seconds", "count")] += 1
    after_one[("vllm:time_to_first_token_seconds", "sum")] += 0.2
    after_one[("vllm:e2e_request_latency_seconds", "count")] += 1
    after_one[("vllm:e2e_request_latency_seconds", "sum")] += 1.5
    timings = one_request(before, after_one)
    assert timings is not None and abs(timings.ttft_s - 0.2) < 1e-9 and abs(timings.total_s - 1.5) < 1e-9
    assert finished_since(before, after_one) == 1
    after_two = {k: v + (2 if k[1] == "count" else 1.0) for k, v in before.items()}
    assert one_request(before, after_two) is None and finished_since(before, after_two) == 2

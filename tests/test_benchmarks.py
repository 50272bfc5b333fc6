"""Every benchmark runs in its quick mode and ends with a RESULT line; ratios get generous bounds.

Timings here are noisy shared-machine figures: the bounds only catch a broken path (a fan-out
that runs panes one after another, a wrapper that halves throughput), never a tuning regression.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
BOUNDS = {
    "fanout": ("fanout_ratio_worst", lambda v: v < 1.5),
    "ttft_fidelity": ("ttft_fidelity_p99", lambda v: v < 50),
    "overhead": ("overhead_ratio_worst", lambda v: v > 0.4),
    # A few µs per chunk; a hundred would mean work per chunk that grows with the answer.
    "own_cost": ("own_cost_us_worst", lambda v: v < 100),
    "local": ("local_ratio_worst", lambda v: v > 0.5),
    "ui": ("ui_final_render_p50", lambda v: v < 5000),
    "startup": ("startup_remote_only", lambda v: v < 60),
    # TTFT the served API adds over a direct local pane: a few ms; seconds would mean a stalled path.
    "served": ("served_ttft_added_ms", lambda v: v < 1000),
    # No CUDA: the script says "pending" with nan; on a GPU, a positive share of the roofline.
    "gpu": ("gpu_compiled_roofline_pct", lambda v: math.isnan(v) or v > 0),
}


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_benchmark_runs_and_reports(name):
    output = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=400,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert output.returncode == 0, output.stderr[-3000:]
    last = output.stdout.strip().splitlines()[-1].split()
    metric, check = BOUNDS[name]
    assert last[:2] == ["RESULT", metric], output.stdout[-2000:]
    assert check(float(last[2])), output.stdout
